// The codec runs unchanged in Node, Deno, Bun and browsers, so neither its sources nor
// its bundles may name a runtime: this check fails the build if they do.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const forbidden = [
  [/\bfrom\s+['"]node:|\brequire\(\s*['"]node:|\bimport\(\s*['"]node:/, 'imports a node: module'],
  [/\bBuffer\b/, 'mentions Buffer'],
  [/\bprocess\b/, 'mentions process'],
  [/\bDeno\b/, 'mentions Deno'],
  [/\bBun\b/, 'mentions Bun'],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/, 'uses a timer'],
];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(ts|js|cjs|mjs)$/.test(name) && !name.endsWith('.map')) yield path;
  }
}

const stripComments = (text) =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

const roots = ['packages/codec/src', 'packages/codec/dist'].filter((d) => existsSync(d));
if (!existsSync('packages/codec/dist')) {
  console.error('codec purity: packages/codec/dist is missing — build first');
  process.exit(1);
}
let problems = 0;
let checked = 0;
for (const root of roots) {
  for (const file of files(root)) {
    checked++;
    const lines = stripComments(readFileSync(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      for (const [pattern, what] of forbidden) {
        if (pattern.test(line)) {
          problems++;
          console.error(`${file}:${i + 1}: ${what}: ${line.trim().slice(0, 120)}`);
        }
      }
    });
  }
}
if (problems > 0) {
  console.error(`codec purity: ${problems} problem(s)`);
  process.exit(1);
}
console.log(`codec purity: ${checked} files checked, no runtime names`);
