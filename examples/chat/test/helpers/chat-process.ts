// Runs the chat server the way `pnpm start` does — the built bundle in its own Node
// process — so tests can restart it, signal it and read what it prints.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const chatRoot = fileURLToPath(new URL('../..', import.meta.url));
const serverBundle = fileURLToPath(new URL('../../dist/server/main.mjs', import.meta.url));

let built: Promise<void> | undefined;

/** Builds the page and server bundles once per test file (esbuild; well under a second). */
export function buildChat(): Promise<void> {
  built ??= promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: chatRoot }).then(() => undefined);
  return built;
}

export interface ChatProcess {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly child: ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Sends the signal and waits for the exit. SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  port?: number;
  dataFile?: string;
  redisUrl?: string;
  args?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

export async function startChat(options: StartOptions = {}): Promise<ChatProcess> {
  await buildChat();
  const args = [serverBundle, '--host', '127.0.0.1', '--port', String(options.port ?? 0)];
  if (options.dataFile !== undefined) args.push('--data', options.dataFile);
  if (options.redisUrl !== undefined) args.push('--redis', options.redisUrl);
  args.push(...(options.args ?? []));
  const child = spawn(process.execPath, args, {
    cwd: chatRoot,
    env: { ...process.env, PORT: '', REDIS_URL: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the chat server did not start:\n${output}`)), options.timeoutMs ?? 15_000);
    const check = (): void => {
      const match = /listening on http:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the chat server exited before listening:\n${output}`));
    });
  });

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}
