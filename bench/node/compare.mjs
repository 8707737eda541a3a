// The Node server against ws, side by side in one run, with nothing outside this repository:
//
//   pnpm --filter @switchyard/bench node:compare [-- --runs 3 --duration 5 --idle 10000 --cells latency,small,bulk,idle]
//   … -- --c-loadgen /path/to/shared/bench/loadgen     (use the C load generator instead)
//   … -- --before /tmp/before                          (add the echo server of another checkout)
//
// Servers: ws (JS masking), ws + bufferutil, and switchyard (`examples/echo`). Each is pinned to
// CPU 0 and the load generator (bench/node/loadgen.mjs, on Bun when installed) to CPU 1 with
// taskset when available. Cells run round-robin (run 1 of every server, then run 2, …) so that
// drifts of the machine's load hit all servers alike; the table shows medians.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const opt = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(opt('runs', 3));
const duration = Number(opt('duration', 5));
const idleConns = Number(opt('idle', 10000));
const cells = opt('cells', 'latency,small,bulk,idle').split(',');
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pin = (cpu, command) => (hasTaskset ? ['taskset', ['-c', String(cpu), ...command]] : [command[0], command.slice(1)]);
const bun = join(root, 'node_modules', '.bin', 'bun');
const loadRuntime = existsSync(bun) ? bun : process.execPath;
const cLoadgen = opt('c-loadgen', undefined);

const servers = [
  { name: 'ws', env: { WS_NO_BUFFER_UTIL: '1' }, command: (port) => [process.execPath, join(here, 'servers', 'ws-echo.mjs'), String(port)] },
  { name: 'ws+bufferutil', env: {}, command: (port) => [process.execPath, join(here, 'servers', 'ws-echo.mjs'), String(port)] },
  { name: 'switchyard', env: {}, command: (port) => [process.execPath, join(root, 'examples', 'echo', 'run.mjs'), '--port', String(port)] },
  // `--before DIR`: the echo server of another checkout (e.g. `git worktree add DIR <commit>`,
  // installed and built), side by side in the same run, for before/after tables.
  ...(opt('before', '')
    ? [{ name: 'switchyard (before)', env: {}, command: (port) => [process.execPath, join(opt('before', ''), 'examples', 'echo', 'run.mjs'), '--port', String(port)] }]
    : []),
];

const cellArgs = {
  latency: ['--conns', '1', '--size', '32', '--window', '1', '--type', 'text'],
  small: ['--conns', '64', '--size', '32', '--window', '16'],
  bulk: ['--conns', '8', '--size', '65536', '--window', '4'],
};

function start(server, port) {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = pin(0, server.command(port));
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...server.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (/ready/.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${server.name} exited (${code}) before ready`)));
  });
}

/** The C loadgen of ../shared/bench takes short flags; the JSON it prints has the same fields. */
function toCFlags(argv) {
  const map = { '--port': '-p', '--conns': '-c', '--size': '-s', '--window': '-w', '--duration': '-d', '--type': '-t', '--pid': '--watch-pid' };
  const out = [];
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--idle') out.push('--idle', '-c', argv[i + 1], '-d', '2');
    else out.push(map[argv[i]] ?? argv[i], argv[i + 1]);
  }
  if (!out.includes('-t') && !out.includes('--idle')) out.push('-t', 'binary');
  return out;
}

function loadgen(argv) {
  const [cmd, rest] = cLoadgen ? pin(1, [cLoadgen, ...toCFlags(argv)]) : pin(1, [loadRuntime, join(here, 'loadgen.mjs'), ...argv]);
  const result = spawnSync(cmd, rest, { encoding: 'utf8', timeout: (duration + 60) * 1000 });
  if (result.status !== 0) throw new Error(`loadgen failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

const stop = (child) => new Promise((resolve) => {
  child.once('exit', resolve);
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 3000).unref();
});

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const results = Object.fromEntries(servers.map((s) => [s.name, {}]));
const basePort = Number(process.env.BASE_PORT ?? 19500);

if (cells.includes('idle')) {
  for (const [i, server] of servers.entries()) {
    const values = [];
    for (let r = 0; r < runs; r++) {
      const child = await start(server, basePort + i);
      await new Promise((resolve) => setTimeout(resolve, 500));
      values.push(loadgen(['--port', String(basePort + i), '--idle', String(idleConns), '--pid', String(child.pid)]).kib_per_conn);
      await stop(child);
    }
    results[server.name].idle = median(values);
    console.error(`idle ${server.name}: ${values.join(', ')} KiB/conn`);
  }
}

const children = [];
for (const [i, server] of servers.entries()) children.push(await start(server, basePort + 10 + i));
for (const cell of cells.filter((c) => c in cellArgs)) {
  const samples = Object.fromEntries(servers.map((s) => [s.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const [i, server] of servers.entries()) {
      const result = loadgen(['--port', String(basePort + 10 + i), '--duration', String(duration), ...cellArgs[cell]]);
      samples[server.name].push(result);
      console.error(`${cell} run ${r + 1} ${server.name}: ${result.msgs_per_s} msg/s, ${result.mb_per_s} MB/s, p50 ${result.p50_us} µs, p99 ${result.p99_us} µs`);
    }
  }
  for (const server of servers) {
    const list = samples[server.name];
    results[server.name][cell] = {
      msgs: median(list.map((x) => x.msgs_per_s)),
      mb: median(list.map((x) => x.mb_per_s)),
      p50: median(list.map((x) => x.p50_us)),
      p99: median(list.map((x) => x.p99_us)),
    };
  }
}
for (const child of children) await stop(child);

const base = results['ws+bufferutil'];
const ratio = (value, reference) => (reference ? `${(value / reference).toFixed(2)}×` : '');
const generator = cLoadgen ? cLoadgen : `${loadRuntime.endsWith('bun') ? 'bun' : 'node'} bench/node/loadgen.mjs`;
console.log(`\nload generator: ${generator}; ${runs} runs of ${duration} s, medians; × = ratio to ws+bufferutil\n`);
console.log('| server | latency p50 µs | latency p99 µs | small msg/s | × | bulk MB/s | × | idle KiB/conn |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const server of servers) {
  const r = results[server.name];
  console.log(`| ${server.name} | ${r.latency?.p50 ?? ''} | ${r.latency?.p99 ?? ''} | ${r.small?.msgs ?? ''} | ${ratio(r.small?.msgs, base.small?.msgs)} | ${r.bulk?.mb ?? ''} | ${ratio(r.bulk?.mb, base.bulk?.mb)} | ${r.idle ?? ''} |`);
}
