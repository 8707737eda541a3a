// Helpers shared by the Deno and Bun test runs: raw TCP peers (node:net, which both runtimes
// implement), event waits with deadlines, and frame building for misbehaving peers.
import * as net from 'node:net';

const encoder = new TextEncoder();

/** Rejects when `promise` does not settle within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The next event of `type` on an EventTarget. */
export function nextEvent<E extends Event = Event>(target: EventTarget, type: string, ms = 5000): Promise<E> {
  return within(
    new Promise<E>((resolve) => target.addEventListener(type, (event) => resolve(event as E), { once: true })),
    ms,
    `${type} event`,
  );
}

/** A raw TCP peer that speaks whatever bytes a test gives it. */
export class RawPeer {
  readonly socket: net.Socket;
  #buffer = new Uint8Array(0);
  #waiters: Array<() => void> = [];
  ended = false;
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Uint8Array) => {
      const merged = new Uint8Array(this.#buffer.byteLength + chunk.byteLength);
      merged.set(this.#buffer, 0);
      merged.set(chunk, this.#buffer.byteLength);
      this.#buffer = merged;
      this.#wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  write(data: Uint8Array | string): void {
    this.socket.write(typeof data === 'string' ? encoder.encode(data) : data);
  }

  get received(): Uint8Array {
    return this.#buffer;
  }

  get text(): string {
    return new TextDecoder().decode(this.#buffer);
  }

  /** Waits until `predicate` holds on what was received (or the socket closed). */
  async until(predicate: (peer: RawPeer) => boolean, ms: number, what: string): Promise<void> {
    await within(
      (async () => {
        while (!predicate(this)) {
          if (this.closed) throw new Error(`socket closed before: ${what}`);
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
      ms,
      what,
    );
  }

  /** Waits for the socket to close. */
  async whenClosed(ms: number): Promise<void> {
    await within(
      (async () => {
        while (!this.closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
      })(),
      ms,
      'socket close',
    );
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** An upgrade request head for raw peers. */
export function upgradeRequest(path = '/', extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/** A masked client frame. */
export function clientFrame(opcode: number, payload: Uint8Array | string, fin = true): Uint8Array {
  const data = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const key = Uint8Array.of(0x12, 0x34, 0x56, 0x78);
  const lengthBytes = data.byteLength < 126 ? 0 : data.byteLength < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + lengthBytes + 4 + data.byteLength);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (lengthBytes === 0) frame[1] = 0x80 | data.byteLength;
  else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame[2] = data.byteLength >> 8;
    frame[3] = data.byteLength & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(data.byteLength));
  }
  frame.set(key, 2 + lengthBytes);
  for (let i = 0; i < data.byteLength; i++) frame[2 + lengthBytes + 4 + i] = (data[i] as number) ^ (key[i % 4] as number);
  return frame;
}

/** Where the head ends in received bytes, or -1. */
export function headEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.byteLength; i++) {
    if (bytes[i - 3] === 13 && bytes[i - 2] === 10 && bytes[i - 1] === 13 && bytes[i] === 10) return i + 1;
  }
  return -1;
}

/** Parses unmasked server frames after the head: [opcode, payload] pairs. */
export function serverFrames(bytes: Uint8Array): Array<{ opcode: number; payload: Uint8Array }> {
  const frames: Array<{ opcode: number; payload: Uint8Array }> = [];
  let offset = 0;
  while (offset + 2 <= bytes.byteLength) {
    const opcode = (bytes[offset] as number) & 0x0f;
    let length = (bytes[offset + 1] as number) & 0x7f;
    let header = 2;
    if (length === 126) {
      if (offset + 4 > bytes.byteLength) break;
      length = ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number);
      header = 4;
    } else if (length === 127) {
      if (offset + 10 > bytes.byteLength) break;
      length = Number(new DataView(bytes.buffer, bytes.byteOffset + offset + 2, 8).getBigUint64(0));
      header = 10;
    }
    if (offset + header + length > bytes.byteLength) break;
    frames.push({ opcode, payload: bytes.subarray(offset + header, offset + header + length) });
    offset += header + length;
  }
  return frames;
}

/**
 * A test CA and a certificate it signed for localhost/127.0.0.1, made now with openssl (rustls,
 * under Deno, refuses a self-signed CA certificate used as the server's own).
 */
export async function makeCertificate(): Promise<{ cert: string; key: string; ca: string }> {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cert-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=switchyard test CA', '-keyout', file('ca.key'), '-out', file('ca.pem'));
    openssl('req', '-new', ...ec, '-subj', '/CN=localhost', '-keyout', file('key.pem'), '-out', file('leaf.csr'));
    writeFileSync(file('ext.cnf'), 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    openssl(
      'x509', '-req', '-in', file('leaf.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-days', '1', '-extfile', file('ext.cnf'), '-out', file('cert.pem'),
    );
    return { cert: readFileSync(file('cert.pem'), 'utf8'), key: readFileSync(file('key.pem'), 'utf8'), ca: readFileSync(file('ca.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pieces joined in one buffer. */
export function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, piece) => n + piece.byteLength, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.byteLength;
  }
  return out;
}
