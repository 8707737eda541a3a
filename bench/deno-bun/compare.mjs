// Our Deno and Bun adapters against the runtimes' native WebSocket servers, side by side in one
// run (node bench/deno-bun/compare.mjs [--runs 3] [--duration 5] [--cells small,bulk]):
//   switchyard on Bun   vs  Bun.serve({ websocket })        (uWebSockets)
//   switchyard on Deno  vs  Deno.serve + upgradeWebSocket   (fastwebsockets)
// Load: the C load generator of the shared bench (../shared/bench/loadgen.c, compiled into a
// temporary directory) when it is there, else bench/node/loadgen.mjs on Bun. Servers pinned to
// CPU 0, load to CPU 1 (taskset). Cells run round-robin so drifts hit every server alike; the
// table shows medians, and each adapter's ratio to its runtime's native server.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const cells = opt('cells', 'small,bulk').split(',');
const only = opt('servers', '');
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pin = (cpu, command) => (hasTaskset ? ['taskset', ['-c', String(cpu), ...command]] : [command[0], command.slice(1)]);
const bun = join(root, 'node_modules', '.bin', 'bun');
const deno = join(root, 'node_modules', '.bin', 'deno');
const denoConfig = join(root, 'packages', 'deno-bun', 'test', 'deno', 'deno.json');
const before = opt('before', '');

const shared = process.env.SWITCHYARD_SHARED ?? join(root, '..', 'shared');
let cLoadgen;
if (existsSync(join(shared, 'bench', 'loadgen.c'))) {
  const out = join(mkdtempSync(join(tmpdir(), 'switchyard-loadgen-')), 'loadgen');
  const built = spawnSync('cc', ['-O2', '-std=gnu11', '-o', out, join(shared, 'bench', 'loadgen.c')], { stdio: 'inherit' });
  if (built.status === 0) cLoadgen = out;
}

const servers = [
  { name: 'bun-native', runtime: 'bun', command: (port) => [bun, join(here, 'servers', 'bun-native.ts'), String(port)] },
  { name: 'switchyard-bun', runtime: 'bun', command: (port) => [bun, '--conditions=@switchyard/source', join(here, 'servers', 'switchyard.ts'), String(port)] },
  { name: 'deno-native', runtime: 'deno', command: (port) => [deno, 'run', '--allow-net', join(here, 'servers', 'deno-native.ts'), String(port)] },
  { name: 'switchyard-deno', runtime: 'deno', command: (port) => [deno, 'run', '-A', '--config', denoConfig, join(here, 'servers', 'switchyard.ts'), String(port)] },
  // `--before DIR`: the same servers from another checkout (e.g. `git worktree add DIR <commit>`
  // then `pnpm install`), side by side in the same run, for before/after tables.
  ...(before
    ? [
        { name: 'switchyard-bun (before)', runtime: 'bun', command: (port) => [bun, '--conditions=source', '--conditions=@switchyard/source', join(before, 'bench', 'deno-bun', 'servers', 'switchyard.ts'), String(port)] },
        {
          name: 'switchyard-deno (before)',
          runtime: 'deno',
          command: (port) => [deno, 'run', '-A', '--config', join(before, 'packages', 'deno-bun', 'test', 'deno', 'deno.json'), join(before, 'bench', 'deno-bun', 'servers', 'switchyard.ts'), String(port)],
        },
      ]
    : []),
].filter((s) => !only || only.split(',').includes(s.name));

const cellArgs = {
  small: { conns: 64, size: 32, window: 16, type: 'binary' },
  bulk: { conns: 8, size: 65536, window: 4, type: 'binary' },
  latency: { conns: 1, size: 32, window: 1, type: 'text' },
};

function start(server, port) {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = pin(0, server.command(port));
    const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (/ready/.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${server.name} exited (${code}) before ready`)));
  });
}

/** The pid of the process listening on the port (the runtime, not its launcher). */
function listenerPid(port) {
  const ss = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const match = /pid=(\d+)/.exec(ss.stdout ?? '');
  return match ? Number(match[1]) : undefined;
}

function load(port, cell, pid) {
  const c = cellArgs[cell];
  let cmd;
  let argv;
  if (cLoadgen) {
    const args = ['-p', String(port), '-c', String(c.conns), '-s', String(c.size), '-t', c.type, '-w', String(c.window), '-d', String(duration), '--warmup', '1'];
    if (pid) args.push('--watch-pid', String(pid));
    [cmd, argv] = pin(1, [cLoadgen, ...args]);
  } else {
    [cmd, argv] = pin(1, [bun, join(here, '..', 'node', 'loadgen.mjs'), '--port', String(port), '--conns', String(c.conns), '--size', String(c.size), '--window', String(c.window), '--type', c.type, '--duration', String(duration)]);
  }
  const result = spawnSync(cmd, argv, { encoding: 'utf8', timeout: (duration + 60) * 1000 });
  const line = (result.stdout ?? '').trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('{')) throw new Error(`loadgen failed: ${result.stderr}`);
  return JSON.parse(line);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const running = [];
const stopAll = () => {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
};
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

const results = {};
let port = 19500 + Math.floor(Math.random() * 200);
const ports = {};
for (const server of servers) {
  ports[server.name] = port;
  running.push(await start(server, port));
  port += 1;
}
for (const cell of cells) {
  for (let run = 0; run < runs; run++) {
    for (const server of servers) {
      const r = load(ports[server.name], cell, listenerPid(ports[server.name]));
      ((results[server.name] ??= {})[cell] ??= []).push(r);
      process.stderr.write(`${cell} run ${run + 1} ${server.name}: ${Math.round(r.msgs_per_s)} msg/s, ${r.mb_per_s?.toFixed?.(0)} MB/s, server cpu ${r.server_cpu_pct ?? '?'} %, errors ${r.errors ?? 0}\n`);
    }
  }
}
stopAll();

const native = { bun: 'bun-native', deno: 'deno-native' };
console.log(`\nloadgen: ${cLoadgen ? 'shared C loadgen' : 'bench/node/loadgen.mjs on Bun'}; ${runs} runs × ${duration} s; medians (server CPU % in the measured window)\n`);
console.log('| server | ' + cells.map((c) => `${c} msg/s | ${c} MB/s | ${c} CPU % | ${c} × native (runs)`).join(' | ') + ' |');
console.log('| --- |' + cells.map(() => ' ---: | ---: | ---: | ---: |').join(''));
for (const server of servers) {
  const row = [server.name];
  for (const cell of cells) {
    const rs = results[server.name][cell];
    const msgs = median(rs.map((r) => r.msgs_per_s));
    const ref = results[native[server.runtime]]?.[cell];
    // Ratios run by run (run i of both servers were measured back to back), then their median.
    const ratios = ref ? rs.map((r, i) => r.msgs_per_s / (ref[i]?.msgs_per_s ?? Number.NaN)) : [];
    const ratio = ratios.length ? `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : '–';
    const cpu = median(rs.map((r) => r.server_cpu_pct ?? Number.NaN));
    row.push(Math.round(msgs).toLocaleString('en'), median(rs.map((r) => r.mb_per_s)).toFixed(0), Number.isNaN(cpu) ? '–' : cpu.toFixed(0), ratio);
  }
  console.log(`| ${row.join(' | ')} |`);
}
