// Bundles the TypeScript bench servers from the packages' sources (the `source` export
// condition) into runnable .mjs files under .build/.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const entries = readdirSync(`${here}src`).filter((f) => f.endsWith('.ts'));
await build({
  entryPoints: entries.map((f) => `${here}src/${f}`),
  outdir: `${here}.build`,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['@switchyard/source'],
  // bench/ does not depend on the packages: point at their sources directly.
  alias: {
    '@switchyard/hub/redis': `${here}../../packages/hub/src/redis.ts`,
    '@switchyard/hub': `${here}../../packages/hub/src/index.ts`,
    '@switchyard/node': `${here}../../packages/node/src/index.ts`,
  },
  external: ['ws', '../common.mjs'],
  // ioredis is CommonJS: give it a `require` inside the ES module bundle.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'error',
});
console.log(`built ${entries.length} bench entries into bench/hub/.build`);
