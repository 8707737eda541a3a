// The server's settings, from command-line flags first and environment variables second.
import { fileURLToPath } from 'node:url';

export interface ChatConfig {
  port: number;
  host: string;
  /** `redis://…`: share rooms, presence and history with every instance using the same Redis. */
  redisUrl: string | undefined;
  /** Where the in-memory broker's history is saved between runs (unused with Redis). */
  dataFile: string;
  /** Origins allowed to open the WebSocket besides the page's own. */
  allowedOrigins: string[];
  checkOrigin: boolean;
}

export type ConfigResult = { ok: true; config: ChatConfig } | { ok: false; error: string };

export const USAGE = `Usage: pnpm start [--port 3000] [--host 127.0.0.1] [--data FILE] [--allow-origin ORIGIN]… [--no-origin-check]
Environment: PORT, HOST, REDIS_URL=redis://host:6379, CHAT_DATA_FILE, ALLOWED_ORIGINS (comma-separated)`;

const defaultDataFile = (): string => fileURLToPath(new URL('../../.data/history.json', import.meta.url));

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ConfigResult {
  const config: ChatConfig = {
    port: 3000,
    host: env['HOST'] || '127.0.0.1',
    redisUrl: env['REDIS_URL'] || undefined,
    dataFile: env['CHAT_DATA_FILE'] || defaultDataFile(),
    allowedOrigins: (env['ALLOWED_ORIGINS'] ?? '').split(',').map((origin) => origin.trim()).filter(Boolean),
    checkOrigin: true,
  };
  const portText = env['PORT'];
  if (portText) {
    const port = parsePort(portText);
    if (port === undefined) return { ok: false, error: `PORT must be a port number, got "${portText}"` };
    config.port = port;
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (name) {
      case '--port': {
        const text = value();
        const port = text === undefined ? undefined : parsePort(text);
        if (port === undefined) return { ok: false, error: `--port needs a port number, got "${text ?? ''}"` };
        config.port = port;
        break;
      }
      case '--host': {
        const host = value();
        if (!host) return { ok: false, error: '--host needs an address' };
        config.host = host;
        break;
      }
      case '--data': {
        const file = value();
        if (!file) return { ok: false, error: '--data needs a file path' };
        config.dataFile = file;
        break;
      }
      case '--redis': {
        const url = value();
        if (!url) return { ok: false, error: '--redis needs a redis:// URL' };
        config.redisUrl = url;
        break;
      }
      case '--allow-origin': {
        const origin = value();
        if (!origin) return { ok: false, error: '--allow-origin needs an origin such as https://chat.example.com' };
        config.allowedOrigins.push(origin);
        break;
      }
      case '--no-origin-check':
        config.checkOrigin = false;
        break;
      case '--':
        break;
      default:
        return { ok: false, error: `unknown option "${flag}"` };
    }
  }
  if (config.redisUrl !== undefined && !/^rediss?:\/\//.test(config.redisUrl)) {
    return { ok: false, error: `REDIS_URL must start with redis:// or rediss://, got "${config.redisUrl}"` };
  }
  return { ok: true, config };
}

function parsePort(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}
