import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

// 4 KiB until stream positions (epoch, entry id, `pos`, resumeFrom) added ≈ 360 bytes gzipped.
const LIMIT = 4_352;

it(`the browser bundle (ESM, minified, gzipped) stays within ${LIMIT} bytes`, async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    // Workspace packages (@switchyard/wire) are read from src/, as everywhere in the repo's tests.
    conditions: ['@switchyard/source'],
  });
  const code = result.outputFiles[0]!.contents;
  const gzipped = gzipSync(code, { level: 9 }).byteLength;
  console.log(`@switchyard/client: ${code.byteLength} bytes minified, ${gzipped} bytes gzipped (limit ${LIMIT})`);
  expect(gzipped).toBeLessThanOrEqual(LIMIT);
});
