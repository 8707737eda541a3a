// @switchyard/node alone, broadcasting with its own loop (prepareMessage once, sendPrepared to
// each connection): isolates what the hub adds on top of the adapter, in CPU and memory.
import { createInterface } from 'node:readline';
import { prepareMessage, WebSocketServer, type WebSocketConnection } from '@switchyard/node';
// @ts-expect-error plain JS helper shared with the ws baseline
import { cpuSince, memory, PAYLOAD, report } from '../common.mjs';

let goCpu = process.cpuUsage();
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
const connections = new Set<WebSocketConnection>();
server.on('connection', (connection) => {
  connections.add(connection);
  connection.once('close', () => connections.delete(connection));
});
server.on('listening', () => {
  const address = server.httpServer?.address();
  console.log(JSON.stringify({ phase: 'ready', port: typeof address === 'object' ? address?.port : undefined }));
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, arg] = line.split(' ');
  if (command === 'mem') console.log(JSON.stringify({ phase: 'mem', ...memory(), connections: connections.size }));
  if (command === 'go') {
    const count = Number(arg);
    const cpu = process.cpuUsage();
    goCpu = cpu;
    const start = performance.timeOrigin + performance.now();
    for (let seq = 1; seq <= count; seq++) {
      const message = prepareMessage(JSON.stringify({ t: 'msg', type: 'm', topic: 'all', seq, data: PAYLOAD }));
      for (const connection of connections) connection.sendPrepared(message);
    }
    report(start, cpu);
  }
  if (command === 'cpu') console.log(JSON.stringify({ phase: 'cpu', ...cpuSince(goCpu) }));
  if (command === 'exit') process.exit(0);
});
