// A burst: N messages of 1 KiB, each to every one of 10,000 subscribers, published back to back
// in one turn. The hub on @switchyard/node (MemoryBroker; it coalesces a connection's frames of
// one event-loop turn into one write) against a plain `ws` server looping over `wss.clients`
// for each message, in the same run, alternating. Reported per server: its CPU time for the
// burst (`process.cpuUsage()`, user + system, from the first publish until every frame was
// received) and the time from the first publish to the last delivery; and ws / hub for both.
//
//   node bench/hub/build.mjs && node bench/hub/burst.mjs [--connections 10000] [--messages 10] [--runs 5] [--addresses 4]
//
// Server pinned to CPU 0, the load generator (raw-TCP frame counter, connections spread over
// 127.0.0.1 … 127.0.0.<addresses>) to CPU 1; both run with their open-file limit raised to
// the hard limit. `--servers ws,hub,node` adds @switchyard/node alone (prepareMessage +
// sendPrepared per connection and message, no batching): what the batching itself buys.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median, parseArgs, startProcess, rotateRuns } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const options = parseArgs({ connections: 10_000, messages: 10, runs: 5, addresses: 4, servers: 'ws,hub', server: '0', client: '1' });

const known = {
  ws: `${here}ws-server.mjs`,
  hub: `${here}.build/hub-server.mjs`,
  node: `${here}.build/node-server.mjs`,
};
const kinds = options.servers.split(',');
for (const kind of kinds) {
  if (!(kind in known)) throw new Error(`unknown server ${kind}`);
  if (!existsSync(known[kind])) throw new Error(`${known[kind]} is missing: run node bench/hub/build.mjs first`);
}

async function run(kind) {
  const server = startProcess(process.execPath, [known[kind]], { cpus: options.server, raiseFileLimit: true });
  try {
    const { port } = await server.next('ready');
    const client = startProcess(
      process.execPath,
      [`${here}fanout-client.mjs`, String(port), String(options.connections), String(options.messages), String(options.addresses)],
      { cpus: options.client, raiseFileLimit: true },
    );
    try {
      await client.next('connected', 300_000);
      // Let the last subscriptions settle (the hub's `pos` frames) before the burst.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const sentMark = server.mark();
      server.send(`go ${options.messages}`);
      const [sent, done] = await Promise.all([server.next('sent', 300_000, sentMark), client.next('done', 300_000)]);
      const cpuMark = server.mark();
      server.send('cpu');
      const cpu = await server.next('cpu', 60_000, cpuMark);
      return {
        kind,
        cpuMs: cpu.userMs + cpu.systemMs,
        userMs: cpu.userMs,
        systemMs: cpu.systemMs,
        lastDeliveryMs: done.last - sent.start,
        firstDeliveryMs: done.first - sent.start,
        publishLoopMs: sent.end - sent.start,
        // The hub only: when its end-of-turn flush had handed every batch to the kernel.
        ...(kind === 'hub' ? { writtenMs: (await server.next('flushed', 60_000, sentMark)).at - sent.start } : {}),
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

const range = (values) => [Math.min(...values), Math.max(...values)].map((v) => Math.round(v * 10) / 10);
const summary = {};
for (const kind of kinds) {
  const list = results[kind];
  summary[kind] = {
    cpuMs: median(list.map((r) => r.cpuMs)),
    cpuMsRange: range(list.map((r) => r.cpuMs)),
    userMs: median(list.map((r) => r.userMs)),
    systemMs: median(list.map((r) => r.systemMs)),
    lastDeliveryMs: median(list.map((r) => r.lastDeliveryMs)),
    lastDeliveryMsRange: range(list.map((r) => r.lastDeliveryMs)),
  };
}
const wsOver = {};
for (const kind of results.ws ? kinds : []) {
  if (kind === 'ws') continue;
  // Ratios of the run-by-run pairs (same round of the rotation), then their median.
  const pairs = results.ws.map((ws, i) => [ws, results[kind][i]]);
  wsOver[kind] = {
    cpu: median(pairs.map(([ws, other]) => ws.cpuMs / other.cpuMs)),
    cpuRange: range(pairs.map(([ws, other]) => ws.cpuMs / other.cpuMs)),
    lastDelivery: median(pairs.map(([ws, other]) => ws.lastDeliveryMs / other.lastDeliveryMs)),
    lastDeliveryRange: range(pairs.map(([ws, other]) => ws.lastDeliveryMs / other.lastDeliveryMs)),
  };
}
console.log(JSON.stringify({ options, deliveries: options.connections * options.messages, summary, wsOver }, null, 2));
