// The baseline: a plain `ws` server broadcasting with a loop over `wss.clients`, the way ws's
// documentation shows it. Same stdin commands and stdout lines as hub-server.ts.
import { createInterface } from 'node:readline';
import { WebSocketServer } from 'ws';
import { cpuSince, memory, PAYLOAD, report } from './common.mjs';

let goCpu = process.cpuUsage();

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('listening', () => console.log(JSON.stringify({ phase: 'ready', port: wss.address().port })));

createInterface({ input: process.stdin }).on('line', async (line) => {
  const [command, arg] = line.split(' ');
  if (command === 'mem') console.log(JSON.stringify({ phase: 'mem', ...memory(), connections: wss.clients.size }));
  if (command === 'go') {
    const count = Number(arg);
    const cpu = process.cpuUsage();
    goCpu = cpu;
    const start = performance.timeOrigin + performance.now();
    for (let seq = 1; seq <= count; seq++) {
      const text = JSON.stringify({ t: 'msg', type: 'm', topic: 'all', seq, data: PAYLOAD });
      for (const client of wss.clients) client.send(text);
    }
    report(start, cpu);
  }
  if (command === 'cpu') console.log(JSON.stringify({ phase: 'cpu', ...cpuSince(goCpu) }));
  if (command === 'exit') process.exit(0);
});
