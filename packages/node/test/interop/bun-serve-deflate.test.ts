// The client's second, plain permessage-deflate offer against a real server that declines an
// offer constraining its window (Bun.serve): the connection still gets compression.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/index.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
let bun: ChildProcess;
let port = 0;

beforeAll(async () => {
  bun = spawn(`${root}node_modules/bun/bin/bun.exe`, [fileURLToPath(new URL('./fixtures/bun-serve-deflate.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Bun.serve did not start: ${out}`)), 15_000);
    bun.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    bun.once('exit', (code) => reject(new Error(`Bun.serve exited with ${code}`)));
  });
});

afterAll(() => {
  bun?.kill('SIGKILL');
});

function open(options: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [], options);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = (event) => reject(new Error(`connection failed: ${String((event as { message?: string }).message)}`));
  });
}

describe('the plain fallback deflate offer, against Bun.serve', () => {
  it('gets compression from a server that declines server_max_window_bits, and echoes through it', async () => {
    const ws = await open({ perMessageDeflate: { serverMaxWindowBits: 10 } });
    expect(ws.extensions).toMatch(/^permessage-deflate/);
    const text = 'compress me '.repeat(500);
    const echoed = new Promise<string>((resolve) => {
      ws.onmessage = (event) => resolve(String(event.data));
    });
    ws.send(text);
    expect(await echoed).toBe(text);
    ws.close();
  });
});
