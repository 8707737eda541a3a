// Imports the built @switchyard/node, building it first when its dist is missing or stale, so
// every script here runs on a fresh clone after `pnpm install`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

const stale = ['codec', 'client', 'node'].some((name) => {
  const dist = join(root, 'packages', name, 'dist', 'index.js');
  return !existsSync(dist) || newest(join(root, 'packages', name, 'src')) > statSync(dist).mtimeMs;
});
if (stale) {
  const built = spawnSync('pnpm', ['--filter', '@switchyard/codec', '--filter', '@switchyard/client', '--filter', '@switchyard/node', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) throw new Error('building @switchyard/node failed');
}

export const switchyard = await import(join(root, 'packages', 'node', 'dist', 'index.js'));
