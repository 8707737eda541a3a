// `pnpm start`: build the page and the server from sources, then run the server in this
// process (so Ctrl-C reaches it directly and it shuts down gracefully).
import { pathToFileURL, fileURLToPath } from 'node:url';
import { build } from './build.mjs';

await build({ quiet: true });
const server = fileURLToPath(new URL('../dist/server/main.mjs', import.meta.url));
await import(pathToFileURL(server).href);
