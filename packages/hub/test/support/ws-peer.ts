/**
 * A thin PeerConnection over a `ws` server socket, so the hub can be driven over real TCP
 * by any WebSocket client. `ws` frames each message itself, so `sendPrepared` hands it the
 * prepared payload (the hub's encode-once path is covered with the unit tests' peers).
 */
import type { PeerConnection, PreparedMessage, SendResult } from '@switchyard/codec';
import type { WebSocket } from 'ws';

export class WsPeer implements PeerConnection {
  constructor(readonly socket: WebSocket) {}

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  send(data: string | Uint8Array, options?: { readonly binary?: boolean }): SendResult {
    if (this.socket.readyState !== this.socket.OPEN) return { status: 'dropped', reason: 'closed', bufferedAmount: this.bufferedAmount };
    this.socket.send(data, { binary: options?.binary ?? typeof data !== 'string' });
    return { status: this.bufferedAmount > 0 ? 'queued' : 'written', bufferedAmount: this.bufferedAmount };
  }

  sendPrepared(message: PreparedMessage): SendResult {
    return this.send(message.binary ? message.payload : Buffer.from(message.payload).toString('utf8'), { binary: message.binary });
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  once(_event: 'close', listener: (code: number, reason: string) => void): this {
    this.socket.once('close', (code: number, reason: Buffer) => listener(code, reason.toString('utf8')));
    return this;
  }
}
