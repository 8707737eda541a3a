export { HandshakeError, HeartbeatTimeoutError, SendError, WebSocketProtocolError } from '@switchyard/adapter-kit';
