// A protocol-level test client on @switchyard/node's WHATWG WebSocket: sends raw envelope
// frames (well-formed or not) and records everything the server sends.
import { WebSocket, type WebSocketClientOptions } from '@switchyard/node';

export interface Frame {
  readonly t: string;
  readonly [field: string]: unknown;
}

export interface Peer {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  send(value: unknown): void;
  /** Sends a request and resolves with the `res` frame that answers it. */
  request(type: string, data: unknown): Promise<Frame>;
  /** Resolves with the first frame (already received or arriving) that matches. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

let nextRequestId = 1;

export async function connectPeer(url: string, options: WebSocketClientOptions = {}): Promise<Peer> {
  const ws = new WebSocket(url, undefined, options);
  const frames: Frame[] = [];
  const waiters = new Set<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }>();
  ws.addEventListener('message', (event) => {
    const frame = JSON.parse(String((event as MessageEvent).data)) as Frame;
    frames.push(frame);
    for (const waiter of waiters) {
      if (waiter.match(frame)) {
        waiters.delete(waiter);
        waiter.resolve(frame);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener('close', (event) => {
      const { code, reason } = event as CloseEvent;
      resolve({ code, reason });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    void closed.then(({ code }) => reject(new Error(`closed with ${code} before opening`)));
  });

  const waitFor = (match: (frame: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> => {
    const seen = frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<Frame>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (frame: Frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  return {
    ws,
    frames,
    send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
    request(type, data) {
      const id = nextRequestId++;
      ws.send(JSON.stringify({ t: 'req', id, type, data }));
      return waitFor((frame) => frame.t === 'res' && frame['id'] === id);
    },
    waitFor,
    closed,
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}

/** The `msg` frames of a type. */
export const events = (peer: Peer, type: string): Frame[] => peer.frames.filter((frame) => frame.t === 'msg' && frame['type'] === type);

export const isEvent =
  (type: string, test: (data: Record<string, unknown>) => boolean = () => true) =>
  (frame: Frame): boolean =>
    frame.t === 'msg' && frame['type'] === type && test((frame['data'] ?? {}) as Record<string, unknown>);
