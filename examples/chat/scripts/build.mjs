// Builds the chat from sources: the page bundle for the browser and the server bundle for
// Node. Both resolve @switchyard/* packages through their `source` export condition, so
// they run straight from a fresh `pnpm install`, with no package build first, and are never
// stale (esbuild takes a fraction of a second, so every start rebuilds).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

const shared = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  conditions: ['@switchyard/source'],
  sourcemap: true,
  write: false,
  logLevel: 'warning',
};

export async function build({ quiet = false } = {}) {
  const started = performance.now();
  const results = await Promise.all([
    esbuild.build({
      ...shared,
      entryPoints: ['src/page/main.ts'],
      outfile: 'dist/page/app.js',
      platform: 'browser',
      target: ['es2022'],
      minify: true,
    }),
    esbuild.build({
      ...shared,
      entryPoints: ['src/server/main.ts'],
      outfile: 'dist/server/main.mjs',
      platform: 'node',
      target: ['node20'],
      // Dependencies published as CommonJS (the Redis client) call require() for Node's
      // built-ins; an ES module bundle has to provide one.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    }),
  ]);
  // Each file is written beside its final name and renamed over it, so a server starting
  // while another build runs (parallel test files) never loads half a bundle.
  for (const file of results.flatMap((result) => result.outputFiles)) {
    await mkdir(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
  }
  if (!quiet) console.log(`built the chat page and server in ${Math.round(performance.now() - started)} ms`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build();
}
