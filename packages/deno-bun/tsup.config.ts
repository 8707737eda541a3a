import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/deno.ts', 'src/bun.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  treeshake: true,
  // The runtimes' own modules are never bundled.
  external: ['bun', 'node:zlib'],
});
