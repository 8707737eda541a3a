// Serves the page: a fixed list of files, nothing else. Paths from the request are looked
// up in that list and never joined onto the filesystem, so there is no traversal to defend.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface StaticFile {
  path: string;
  contentType: string;
}

// The page loads its script and style from its own origin only; inline scripts and event
// handler attributes never run, which backs up the rule that chat text is never HTML.
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function createStaticHandler(files: ReadonlyMap<string, StaticFile>) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('Method not allowed\n');
      return;
    }
    const file = files.get(pathname);
    if (file === undefined) {
      response.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      response.end('Not found\n');
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(file.path);
    } catch {
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('The page is not built; run `pnpm start` again.\n');
      return;
    }
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': file.contentType,
      'content-length': body.byteLength,
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
}
