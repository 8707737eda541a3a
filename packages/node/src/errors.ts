export { AcceptError, HandshakeError, HeartbeatTimeoutError, SendError, WebSocketProtocolError, WriteStallError } from '@switchyard/adapter-kit';
