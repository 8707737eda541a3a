import type { WebSocketLike } from '../src/types.js';

/**
 * A scripted stand-in for the WHATWG WebSocket: the test plays the network and the server
 * by calling `open`, `receive` and `drop`, and reads what the client sent from `sent`.
 * Each call of `fakeWebSocket()` gives a class with its own list of instances.
 */
export function fakeWebSocket() {
  const sockets: FakeSocket[] = [];

  class FakeSocket implements WebSocketLike {
    static readonly CONNECTING = 0;
    readyState = 0;
    binaryType = 'blob';
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;
    readonly sent: (string | Uint8Array)[] = [];
    closedByClient: { code: number | undefined; reason: string | undefined } | undefined;

    constructor(
      readonly url: string,
      readonly protocols?: string | string[],
    ) {
      sockets.push(this);
    }

    send(data: string | Uint8Array): void {
      if (this.readyState !== 1) throw new Error('InvalidStateError: not open');
      this.sent.push(data);
    }

    close(code?: number, reason?: string): void {
      this.closedByClient = { code, reason };
      if (this.readyState < 2) this.readyState = 2;
    }

    /** The handshake completed. */
    open(): void {
      this.readyState = 1;
      this.onopen?.({});
    }

    /** A message from the server. */
    receive(data: unknown): void {
      this.onmessage?.({ data: typeof data === 'string' || data instanceof ArrayBuffer ? data : JSON.stringify(data) });
    }

    /** The connection ended, as the browser reports it. */
    drop(code = 1006, reason = ''): void {
      this.readyState = 3;
      this.onerror?.({});
      this.onclose?.({ code, reason });
    }

    /** Sent text messages, parsed. */
    frames(): unknown[] {
      return this.sent.map((data) => JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as unknown);
    }
  }

  return {
    WebSocket: FakeSocket,
    sockets,
    get last(): FakeSocket {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no socket was created');
      return socket;
    },
  };
}

export type FakeSocket = InstanceType<ReturnType<typeof fakeWebSocket>['WebSocket']>;

/** Lets pending promise callbacks run (the URL provider is awaited before a socket is created). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
