// The hub's fan-out: @switchyard/node connections subscribed to one topic of a hub with the
// default MemoryBroker; each publish is encoded once and written to every subscriber.
import { createInterface } from 'node:readline';
import { createHub } from '@switchyard/hub';
import { WebSocketServer } from '@switchyard/node';
// @ts-expect-error plain JS helper shared with the ws baseline
import { cpuSince, memory, PAYLOAD, report } from '../common.mjs';

let goCpu = process.cpuUsage();

const hub = createHub({ history: { maxCount: 100, maxAgeMs: 60_000 }, slowConsumer: { maxBufferedBytes: 64 * 1024 * 1024 } });
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
let connections = 0;
server.on('connection', (connection) => {
  connections++;
  connection.once('close', () => connections--);
  void hub.subscribe(connection, 'all');
});
server.on('listening', () => {
  const address = server.httpServer?.address();
  console.log(JSON.stringify({ phase: 'ready', port: typeof address === 'object' ? address?.port : undefined }));
});

createInterface({ input: process.stdin }).on('line', async (line) => {
  const [command, arg] = line.split(' ');
  if (command === 'mem') console.log(JSON.stringify({ phase: 'mem', ...memory(), connections }));
  if (command === 'go') {
    const count = Number(arg);
    const cpu = process.cpuUsage();
    goCpu = cpu;
    const start = performance.timeOrigin + performance.now();
    for (let i = 0; i < count; i++) await hub.publish('all', 'm', PAYLOAD);
    report(start, cpu);
    // Runs after the hub's end-of-turn flush (scheduled by the first delivery): every batch was written.
    setImmediate(() => console.log(JSON.stringify({ phase: 'flushed', at: performance.timeOrigin + performance.now() })));
  }
  if (command === 'cpu') console.log(JSON.stringify({ phase: 'cpu', ...cpuSince(goCpu) }));
  if (command === 'exit') process.exit(0);
});
