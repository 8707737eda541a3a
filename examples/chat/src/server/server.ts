// Puts the chat together: an HTTP server for the page, a @switchyard/node WebSocket server
// on the same port at /ws, and a @switchyard/hub hub over the in-memory broker (history
// saved to a file) or Redis.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { answerHeartbeat } from '@switchyard/wire';
import { createHub, MemoryBroker, type Broker } from '@switchyard/hub';
import { WebSocketServer, watchAcceptErrors, type AuthResult } from '@switchyard/node';
import { SOCKET_PATH, chatProtocol, type ChatProtocolShape } from '../protocol.js';
import { LIMITS, checkUsername } from '../rules.js';
import { ChatBroker } from './chat-broker.js';
import { ChatService, type ChatUser, type PresenceMeta } from './chat.js';
import type { ChatConfig } from './config.js';
import { isOriginAllowed } from './origin.js';
import type { RateLimitOptions } from './rate-limit.js';
import { createRedisBroker } from './redis.js';
import { createStaticHandler, type StaticFile } from './static-files.js';

export interface RunningChat {
  readonly port: number;
  readonly url: string;
  readonly broker: 'memory' | 'redis';
  /** Graceful stop: every client gets 1001 (and reconnects elsewhere), history is saved, the port is freed. */
  close(): Promise<void>;
}

export interface ChatServerOptions extends ChatConfig {
  rateLimit?: RateLimitOptions;
  log?: (line: string) => void;
  /** The listening socket failed for good (not a passing lack of file descriptors). */
  onFatal?: (error: Error) => void;
}


/** How long a chat message may be kept for replay and for the history shown on join. */
const HISTORY = { maxCount: 200, maxAgeMs: 30 * 24 * 60 * 60 * 1000 };

function pageFiles(): Map<string, StaticFile> {
  const publicDir = (name: string): string => fileURLToPath(new URL(`../../public/${name}`, import.meta.url));
  const pageDir = (name: string): string => fileURLToPath(new URL(`../page/${name}`, import.meta.url));
  return new Map<string, StaticFile>([
    ['/', { path: publicDir('index.html'), contentType: 'text/html; charset=utf-8' }],
    ['/index.html', { path: publicDir('index.html'), contentType: 'text/html; charset=utf-8' }],
    ['/style.css', { path: publicDir('style.css'), contentType: 'text/css; charset=utf-8' }],
    ['/favicon.svg', { path: publicDir('favicon.svg'), contentType: 'image/svg+xml' }],
    ['/app.js', { path: pageDir('app.js'), contentType: 'text/javascript; charset=utf-8' }],
    ['/app.js.map', { path: pageDir('app.js.map'), contentType: 'application/json' }],
  ]);
}

export async function startChatServer(options: ChatServerOptions): Promise<RunningChat> {
  const log = options.log ?? ((line: string) => console.error(line));
  const inner: Broker = options.redisUrl !== undefined ? await createRedisBroker(options.redisUrl) : new MemoryBroker();
  const broker = new ChatBroker(inner, {
    // With Redis the history lives in Redis; with the memory broker, in this file.
    file: options.redisUrl === undefined ? options.dataFile : undefined,
    onError: (error) => log(`history file: ${error instanceof Error ? error.message : String(error)}`),
  });
  const hub = createHub<ChatProtocolShape, PresenceMeta, string>({
    protocol: chatProtocol,
    broker,
    history: HISTORY,
    // A reconnecting client names every room it saw; it is put back only in the room it
    // joins again (the resume point is kept, so that join replays what it missed).
    canResume: () => false,
  });
  await hub.ready;
  const chat = new ChatService(hub, broker, { rateLimit: options.rateLimit, log });
  await chat.start();

  const http = createServer(createStaticHandler(pageFiles()));
  const wss = new WebSocketServer<ChatUser>({
    server: http,
    path: SOCKET_PATH,
    maxPayload: LIMITS.maxMessageBytes,
    heartbeatInterval: 30_000,
    // The page's heartbeat pings are answered here, before the app sees them.
    appHeartbeat: answerHeartbeat,
    authenticate: (request) => admit(request, options),
  });
  wss.on('connection', (socket) => chat.accept(socket));
  wss.on('error', (error) => log(`websocket server: ${error.message}`));

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  // Out of descriptors: logged once per burst, the chat goes on; any other listener error is fatal.
  watchAcceptErrors(
    http,
    (error) => log(error.message),
    (error) => {
      log(`http server: ${error.message}`);
      options.onFatal?.(error);
    },
  );
  const port = (http.address() as AddressInfo).port;
  const shownHost = ['127.0.0.1', '::1', '::', '0.0.0.0', 'localhost'].includes(options.host) ? 'localhost' : options.host;

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    broker: options.redisUrl !== undefined ? 'redis' : 'memory',
    close() {
      closing ??= (async () => {
        chat.stop();
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        await wss.close(1001, 'server restarting');
        await hub.close();
        http.closeAllConnections();
        await httpClosed;
      })();
      return closing;
    },
  };
}

/**
 * The handshake's admission check: the Origin must be the page's own (or configured), and the
 * username is checked here so a bad one is refused with a reason the page can show.
 */
function admit(request: IncomingMessage, options: ChatConfig): AuthResult<ChatUser> {
  const origin = request.headers.origin;
  if (!isOriginAllowed(origin, request.headers.host, { allowed: options.allowedOrigins, enabled: options.checkOrigin })) {
    return { ok: false, status: 403, body: 'This origin may not open the chat.\n' };
  }
  const name = new URL(request.url ?? '/', 'http://localhost').searchParams.get('name');
  const verdict = checkUsername(name ?? '');
  // A refused name still gets a connection, closed at once with code 4400 and the reason:
  // browsers hide the body of a refused handshake from the page.
  return { ok: true, user: verdict.ok ? { ok: true, name: verdict.value } : { ok: false, reason: verdict.error } };
}
