// Fan-out of one 1 KiB message to many local subscribers: the hub (over @switchyard/node,
// MemoryBroker) against a plain `ws` loop over `wss.clients`, in the same run, alternating.
// Also reports server memory per subscribed idle connection.
//
//   node bench/hub/build.mjs && node bench/hub/fanout.mjs [--connections 10000] [--messages 20] [--runs 3] [--addresses 4]
//
// Connections come from 127.0.0.1 … 127.0.0.<addresses>: back-to-back runs from one address
// run out of ephemeral ports (sockets of the previous run still in TIME_WAIT).
//
// Server pinned to CPU 0, the load generator (raw TCP frame counter) to CPU 1.
import { fileURLToPath } from 'node:url';
import { median, parseArgs, startProcess, rotateRuns } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const options = parseArgs({ connections: 10_000, messages: 20, runs: 3, addresses: 4, server: '0', client: '1' });

const servers = {
  ws: [`${here}ws-server.mjs`],
  hub: [`${here}.build/hub-server.mjs`],
  // The adapter alone with its own prepareMessage loop: what the hub adds on top of it.
  node: [`${here}.build/node-server.mjs`],
};
const kinds = Object.keys(servers);

async function run(kind) {
  const server = startProcess(process.execPath, ['--expose-gc', ...servers[kind]], { cpus: options.server });
  try {
    const { port } = await server.next('ready');
    const before = (server.send('mem'), await server.next('mem'));
    const client = startProcess(process.execPath, [`${here}fanout-client.mjs`, String(port), String(options.connections), String(options.messages), String(options.addresses)], {
      cpus: options.client,
    });
    try {
      await client.next('connected', 300_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      server.send('mem');
      const after = await server.next('mem', 120_000, server.mark());
      const sentMark = server.mark();
      server.send(`go ${options.messages}`);
      const [sent, done] = await Promise.all([server.next('sent', 300_000, sentMark), client.next('done', 300_000)]);
      const deliveries = options.connections * options.messages;
      const cpuMark = server.mark();
      server.send('cpu');
      const cpu = await server.next('cpu', 60_000, cpuMark);
      return {
        kind,
        deliveriesPerSecond: deliveries / ((done.last - sent.start) / 1000),
        sendLoopMs: sent.end - sent.start,
        serverCpuMs: cpu.userMs + cpu.systemMs,
        // User time is the JavaScript (and libuv) side; system time is mostly write(2) on loopback.
        userMicrosPerDelivery: (cpu.userMs * 1000) / deliveries,
        systemMicrosPerDelivery: (cpu.systemMs * 1000) / deliveries,
        deliveriesPerCpuSecond: deliveries / ((cpu.userMs + cpu.systemMs) / 1000),
        rssPerConnection: (after.rss - before.rss) / options.connections,
        heapPerConnection: (after.heapUsed - before.heapUsed) / options.connections,
        connections: after.connections,
      };
    } finally {
      client.send('exit');
      await client.stop();
    }
  } finally {
    await server.stop();
  }
}

const results = await rotateRuns(kinds, options.runs, run);

const summary = {};
for (const kind of kinds) {
  const list = results[kind];
  summary[kind] = {
    deliveriesPerSecond: median(list.map((r) => r.deliveriesPerSecond)),
    sendLoopMs: median(list.map((r) => r.sendLoopMs)),
    serverCpuMs: median(list.map((r) => r.serverCpuMs)),
    deliveriesPerCpuSecond: median(list.map((r) => r.deliveriesPerCpuSecond)),
    userMicrosPerDelivery: median(list.map((r) => r.userMicrosPerDelivery)),
    systemMicrosPerDelivery: median(list.map((r) => r.systemMicrosPerDelivery)),
    rssKiBPerConnection: median(list.map((r) => r.rssPerConnection)) / 1024,
    heapKiBPerConnection: median(list.map((r) => r.heapPerConnection)) / 1024,
  };
}
const ratios = {
  deliveriesPerSecond: summary.hub.deliveriesPerSecond / summary.ws.deliveriesPerSecond,
  deliveriesPerCpuSecond: summary.hub.deliveriesPerCpuSecond / summary.ws.deliveriesPerCpuSecond,
  userCpuPerDelivery: summary.ws.userMicrosPerDelivery / summary.hub.userMicrosPerDelivery,
};
console.log(JSON.stringify({ options, summary, hubOverWs: ratios }, null, 2));
