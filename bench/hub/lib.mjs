// Process plumbing shared by the hub benchmarks.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const children = new Set();
/** Every process a benchmark started is killed when it ends, however it ends. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGPIPE', 'SIGHUP']) process.once(signal, () => process.exit(1));

/**
 * Spawns a process (pinned with taskset when `cpus` is given) whose stdout is JSON lines. With
 * `raiseFileLimit`, its open-file limit is raised to the hard limit first (10,000 sockets and more).
 */
export function startProcess(command, args, { cpus, env, raiseFileLimit = false } = {}) {
  let argv = cpus ? ['taskset', '-c', cpus, command, ...args] : [command, ...args];
  if (raiseFileLimit) argv = ['sh', '-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', ...argv];
  const child = track(spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } }));
  const waiting = [];
  const seen = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    seen.push(message);
    for (const waiter of [...waiting]) {
      if (waiter.match(message)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  return {
    child,
    send: (line) => child.stdin.write(`${line}\n`),
    /** The next line (or one already seen since `since`) whose phase matches. */
    next(phase, timeoutMs = 120_000, since = seen.length) {
      const already = seen.slice(since).find((m) => m.phase === phase);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${phase}`)), timeoutMs);
        waiting.push({ match: (m) => m.phase === phase, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    mark: () => seen.length,
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export function parseArgs(defaults) {
  const options = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in defaults)) throw new Error(`unknown option --${key}`);
    options[key] = typeof defaults[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return options;
}

/**
 * Runs every server `runs` times, rotating the order each round so that drifts in the
 * machine's load hit every server alike; logs each result and returns them by server.
 */
export async function rotateRuns(kinds, runs, run) {
  const results = Object.fromEntries(kinds.map((kind) => [kind, []]));
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + i) % kinds.length];
      const result = await run(kind);
      results[kind].push(result);
      console.error(JSON.stringify(result));
    }
  }
  return results;
}
