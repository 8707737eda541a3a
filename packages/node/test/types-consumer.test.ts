// The published types as a Node-only TypeScript project sees them: `"lib": ["es2023"]`,
// `"types": ["node"]`, no DOM lib, `skipLibCheck: false`, no `source` condition — the built
// `dist/` declarations of @switchyard/node and @switchyard/deno-bun must compile there, in ESM
// and in CommonJS resolution alike, with the README's own client snippets — also for a consumer
// that sets its own `source` condition.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const packages = fileURLToPath(new URL('../../', import.meta.url));
const tsc = require.resolve('typescript/bin/tsc');
const typesNode = dirname(require.resolve('@types/node/package.json'));
const projects: string[] = [];
afterAll(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

const CONSUMER = `
import { WebSocket, WebSocketServer, AcceptError, type WebSocketConnection } from '@switchyard/node';
import { WebSocket as RuntimeWebSocket, type CloseEvent as RuntimeCloseEvent } from '@switchyard/deno-bun';
const server = new WebSocketServer({ port: 0, appHeartbeat: true });
server.on('connection', (socket: WebSocketConnection) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
server.on('error', (error) => (error instanceof AcceptError ? error.fatal : false));
const ws = new WebSocket('ws://127.0.0.1:1/');
ws.onerror = (event) => event.message;
ws.addEventListener('message', (event) => event.data);
ws.addEventListener('close', (event) => event.code, { once: true });
const other = new RuntimeWebSocket('ws://127.0.0.1:1/');
other.addEventListener('close', (event: RuntimeCloseEvent) => event.wasClean);
`;

function project(type: 'module' | 'commonjs', extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `switchyard-types-${type}-`));
  projects.push(dir);
  mkdirSync(join(dir, 'node_modules', '@switchyard'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  for (const name of ['node', 'deno-bun', 'adapter-kit', 'codec', 'wire']) {
    symlinkSync(join(packages, name), join(dir, 'node_modules', '@switchyard', name), 'dir');
  }
  symlinkSync(typesNode, join(dir, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib: ['es2023'],
        types: ['node'],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        ...extra,
      },
      files: ['consumer.ts'],
    }),
  );
  writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
  return dir;
}

function typecheck(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', dir], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

describe('types in a Node-only project (built declarations)', () => {
  for (const type of ['module', 'commonjs'] as const) {
    it(`compile without the DOM lib (${type})`, async () => {
      const result = await typecheck(project(type));
      expect(result.output).toBe('');
      expect(result.code).toBe(0);
    }, 90_000);
  }

  it("compile for a consumer with its own `source` condition and stricter settings: our sources stay out", async () => {
    // Our sources are exported under `@switchyard/source` only, so this consumer gets dist/ too.
    const result = await typecheck(project('module', { customConditions: ['source'], exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true }));
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 90_000);
});
