// `pnpm start` runs this: parse the settings, start the chat, stop gracefully on a signal.
import { parseConfig, USAGE } from './config.js';
import { startChatServer } from './server.js';

const parsed = parseConfig(process.argv.slice(2), process.env);
if (!parsed.ok) {
  console.error(`${parsed.error}\n${USAGE}`);
  process.exit(2);
}
const config = parsed.config;

try {
  const chat = await startChatServer({
    ...config,
    onFatal: () => {
      console.error('the listening socket failed; exiting');
      process.exit(1);
    },
  });
  const where = chat.broker === 'redis' ? `Redis at ${redact(config.redisUrl ?? '')}` : `memory, history saved in ${config.dataFile}`;
  console.log(`Switchyard chat listening on ${chat.url} (broker: ${where})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: closing connections (1001) and saving history…`);
    const force = setTimeout(() => {
      console.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    chat.close().then(
      () => {
        console.log('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') console.error(`port ${config.port} is in use: try --port ${config.port + 1}`);
  else console.error('the chat could not start:', error);
  process.exit(1);
}

/** The Redis URL as printed: without a password. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return 'redis';
  }
}
