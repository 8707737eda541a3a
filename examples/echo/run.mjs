#!/usr/bin/env node
// `pnpm run echo --port 9001 [--deflate] [--max-payload BYTES] [--runtime node|deno|bun]`
// (and `--client --url … --agent …`). Works on a fresh clone after `pnpm install`: the
// packages the chosen runtime needs are built first when their dist is missing or stale.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEchoArgs } from './src/args.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const argv = process.argv.slice(2).filter((arg) => arg !== '--');

let args;
try {
  args = parseEchoArgs(argv);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}

const packagesFor = {
  node: ['codec', 'wire', 'adapter-kit', 'client', 'node'],
  deno: ['codec', 'wire', 'adapter-kit', 'deno-bun'],
  bun: ['codec', 'wire', 'adapter-kit', 'deno-bun'],
};
ensureBuilt(packagesFor[args.runtime]);

if (args.runtime === 'node') {
  const { main } = await import('./src/node.mjs');
  await main(argv);
} else {
  // The runtime's own binary, not node_modules/.bin's shim: the shims run it as a child that a
  // signal to the shim would orphan (deno's is a node script using spawnSync, bun's a sh script).
  const real = args.runtime === 'deno' ? join(root, 'node_modules', 'deno', 'deno') : join(root, 'node_modules', 'bun', 'bin', 'bun.exe');
  const bin = existsSync(real) ? real : join(root, 'node_modules', '.bin', args.runtime);
  const rest = argv.filter((arg, i) => arg !== '--runtime' && argv[i - 1] !== '--runtime' && !arg.startsWith('--runtime='));
  const command = args.runtime === 'deno'
    ? [bin, ['run', '-A', join(here, 'src', 'deno.ts'), ...rest]]
    : [bin, [join(here, 'src', 'bun.ts'), ...rest]];
  const child = spawn(command[0], command[1], { stdio: 'inherit', cwd: root });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** Builds the named workspace packages when a dist file is missing or older than any source file. */
function ensureBuilt(names) {
  const stale = names.filter((name) => {
    const pkg = join(root, 'packages', name);
    const dist = join(pkg, 'dist', 'index.js');
    if (!existsSync(dist)) return true;
    return newestMtime(join(pkg, 'src')) > statSync(dist).mtimeMs;
  });
  if (stale.length === 0) return;
  console.error(`building ${stale.map((n) => `@switchyard/${n}`).join(', ')} …`);
  // A package's build needs its workspace dependencies built too.
  const filters = names.flatMap((name) => ['--filter', `@switchyard/${name}`]);
  const result = spawnSync('pnpm', [...filters, 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) {
    console.error('build failed');
    process.exit(1);
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
