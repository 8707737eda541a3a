// One hub node for the Redis benchmark: @switchyard/node + a hub on RedisBroker. Every
// connection is subscribed to topic `bench`. stdin commands:
//   publish <count> <ratePerSecond|max> <window> [topic]  — publish, each payload carrying its send time
//   exit
import { createInterface } from 'node:readline';
import { createHub } from '@switchyard/hub';
import { RedisBroker } from '@switchyard/hub/redis';
import { WebSocketServer } from '@switchyard/node';

const [url, nodeId] = process.argv.slice(2);
const hub = createHub({
  broker: new RedisBroker({ url: url!, prefix: 'bench:' }),
  nodeId: nodeId!,
  history: { maxCount: 10_000, maxAgeMs: 600_000 },
  // Generous, so the run measures delivery, not the slow-consumer policy (drops are reported).
  slowConsumer: { maxBufferedBytes: 64 * 1024 * 1024 },
});
await hub.ready;
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
let subscribed = 0;
server.on('connection', (connection) => {
  let counted = false;
  connection.once('close', () => {
    if (counted) subscribed--;
    counted = false;
  });
  void hub.subscribe(connection, 'bench').then(() => {
    if (hub.topicsOf(connection).length === 0) return; // closed meanwhile
    counted = true;
    subscribed++;
  });
});
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
const address = server.httpServer?.address();
console.log(JSON.stringify({ phase: 'ready', port: typeof address === 'object' ? address?.port : undefined }));

const clock = (): number => performance.timeOrigin + performance.now();
const filler = 'x'.repeat(64);

async function publish(count: number, rate: number | undefined, window: number, topic: string): Promise<void> {
  const start = clock();
  let failures = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      if (rate !== undefined) {
        const due = start + (index * 1000) / rate;
        const wait = due - clock();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      try {
        await hub.publish(topic, 'tick', { t: clock(), f: filler });
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  console.log(JSON.stringify({ phase: 'published', count, failures, start, end: clock() }));
}

/** Resume-sized history reads (what follows `after` in `topic`), `window` at a time. */
async function read(count: number, window: number, topic: string, after: number): Promise<void> {
  const start = clock();
  let next = 0;
  let messages = 0;
  const worker = async (): Promise<void> => {
    while (next++ < count) {
      const result = await hub.history(topic, after);
      if (result.kind === 'messages') messages += result.messages.length;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  console.log(JSON.stringify({ phase: 'read', count, messages, start, end: clock() }));
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, count, rate, window, topic] = line.split(' ');
  if (command === 'publish') void publish(Number(count), rate === 'max' ? undefined : Number(rate), Number(window ?? 1), topic ?? 'bench');
  if (command === 'read') void read(Number(count), Number(rate), window ?? 'solo', Number(topic ?? 0));
  if (command === 'subscribed') console.log(JSON.stringify({ phase: 'subscribed', count: subscribed }));
  if (command === 'exit') void Promise.all([server.close(), hub.close()]).finally(() => process.exit(0));
});
