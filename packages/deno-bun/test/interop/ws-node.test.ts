// Interop with `ws` on Node: ws's client against our servers running inside Deno and Bun, and our
// Deno and Bun clients against a ws server. The runtimes run as child processes (the real `deno`
// and `bun` binaries from node_modules), on loopback, ephemeral ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const bin = (name: 'deno' | 'bun'): string => `${root}node_modules/.bin/${name}`;
const denoConfig = `${root}packages/deno-bun/test/deno/deno.json`;
const children: ChildProcess[] = [];
const wsServers: WebSocketServer[] = [];

/** The command that runs a TypeScript file from this repository's sources in the given runtime. */
function runtimeCommand(runtime: 'deno' | 'bun', file: string, args: string[]): [string, string[]] {
  return runtime === 'deno'
    ? [bin('deno'), ['run', '-A', '--config', denoConfig, file, ...args]]
    : [bin('bun'), ['--conditions=@switchyard/source', file, ...args]];
}

/** Starts examples/echo on the runtime and resolves with its port once it prints `ready`. */
async function startEcho(runtime: 'deno' | 'bun', flags: string[] = []): Promise<number> {
  const [command, args] = runtimeCommand(runtime, `${root}examples/echo/src/${runtime}.ts`, ['--port', '0', ...flags]);
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let output = '';
  return await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`echo on ${runtime} did not start: ${output}`)), 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /ready on ws:\/\/[^:]+:(\d+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`echo on ${runtime} exited with ${code}: ${output}`)));
  });
}

/** Runs the client fixture in the runtime and returns the JSON line it prints. */
async function runClient(runtime: 'deno' | 'bun', url: string, flags: string[] = []): Promise<Record<string, unknown>> {
  const [command, args] = runtimeCommand(runtime, `${root}packages/deno-bun/test/interop/fixtures/client.ts`, [url, ...flags]);
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`client on ${runtime} failed (${code}): ${stdout}${stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

function wsClient(port: number, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));
}

afterEach(() => {
  // node_modules/.bin/deno is a launcher: the runtime is its child, so the whole process group goes.
  for (const child of children.splice(0)) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

afterAll(async () => {
  await Promise.all(wsServers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

for (const runtime of ['deno', 'bun'] as const) {
  describe(`ws (Node) against our server on ${runtime}`, { timeout: 30_000 }, () => {
    it('echoes text, binary, 1 MiB and fragmented messages, then closes cleanly', async () => {
      const port = await startEcho(runtime, ['--max-payload', String(4 * 1024 * 1024)]);
      const ws = await wsClient(port);
      ws.send('héllo');
      expect(await nextMessage(ws)).toEqual({ data: Buffer.from('héllo'), isBinary: false });
      ws.send(Buffer.from([1, 2, 3]));
      expect(await nextMessage(ws)).toEqual({ data: Buffer.from([1, 2, 3]), isBinary: true });
      const big = Buffer.alloc(1024 * 1024, 7);
      ws.send(big);
      const echoed = await nextMessage(ws);
      expect(echoed.isBinary).toBe(true);
      expect(echoed.data.equals(big)).toBe(true);
      ws.send('part one ', { fin: false });
      ws.send('part two', { fin: true });
      expect((await nextMessage(ws)).data.toString()).toBe('part one part two');
      ws.close(4000, 'done');
      const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
      expect(code).toBe(4000);
      // The codec answers a close with the peer's code (RFC 6455 §5.5.1); the reason is not echoed.
      expect(reason.toString()).toBe('');
    });

    it('negotiates permessage-deflate with ws and echoes compressed messages', async () => {
      const port = await startEcho(runtime, ['--deflate']);
      const ws = await wsClient(port, { perMessageDeflate: { threshold: 0 } });
      expect(ws.extensions).toContain('permessage-deflate');
      const text = 'compress me '.repeat(10_000);
      for (let i = 0; i < 3; i++) {
        ws.send(text);
        expect((await nextMessage(ws)).data.toString()).toBe(text);
      }
      ws.close();
      await once(ws, 'close');
    });
  });

  describe(`our ${runtime} client against a ws server`, { timeout: 30_000 }, () => {
    for (const deflate of [false, true]) {
      it(`exchanges messages${deflate ? ' with permessage-deflate' : ''} and receives the server's close code`, async () => {
        const server = new WebSocketServer({
          host: '127.0.0.1',
          port: 0,
          perMessageDeflate: deflate ? { threshold: 0 } : false,
          handleProtocols: (protocols) => (protocols.has('chat.v1') ? 'chat.v1' : false),
        });
        wsServers.push(server);
        await once(server, 'listening');
        server.on('connection', (socket) => {
          socket.on('message', (data, isBinary) => {
            if (!isBinary && data.toString() === 'please close') socket.close(4321, 'ws says bye');
            else socket.send(data, { binary: isBinary });
          });
        });
        const { port } = server.address() as { port: number };
        const result = await runClient(runtime, `ws://127.0.0.1:${port}/`, deflate ? ['--deflate'] : []);
        expect(result).toMatchObject({
          runtime,
          protocol: 'chat.v1',
          bigOk: true,
          code: 4321,
          reason: 'ws says bye',
          wasClean: true,
        });
        expect(result['extensions']).toBe(deflate ? 'permessage-deflate' : '');
        expect(result['received']).toEqual([
          { type: 'text', length: `hello from ${runtime}`.length, sample: `hello from ${runtime}` },
          { type: 'binary', length: 6, sample: '0,1,2,253,254,255' },
          { type: 'text', length: 1_000_000, sample: 'abcdefghijabcdefghijabcd' },
        ]);
      });
    }
  });
}
