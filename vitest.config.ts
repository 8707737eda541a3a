import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

// Tests run against package sources: `@switchyard/x` → packages/x/src/index.ts and
// `@switchyard/x/sub` → packages/x/src/sub.ts, so no build is needed before `vitest`.
const alias = [
  { find: /^@switchyard\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
  { find: /^@switchyard\/([a-z-]+)\/([a-z-/]+)$/, replacement: `${root}packages/$1/src/$2.ts` },
];

const project = (name: string, dir: string, extra: Record<string, unknown> = {}) => ({
  resolve: { alias },
  test: {
    name,
    include: [`${dir}/test/**/*.test.ts`],
    // Projects defined inline do not inherit the root's timeouts.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    ...extra,
  },
});

export default defineConfig({
  test: {
    projects: [
      project('codec', 'packages/codec'),
      project('adapter-kit', 'packages/adapter-kit'),
      project('node', 'packages/node'),
      project('deno-bun', 'packages/deno-bun'),
      project('wire', 'packages/wire'),
      project('client', 'packages/client'),
      project('hub', 'packages/hub'),
      project('echo', 'examples/echo'),
      project('chat', 'examples/chat'),
      project('bench', 'bench'),
    ],
  },
});
