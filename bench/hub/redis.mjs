// RedisBroker across 3 hub processes sharing one redis-server: subscribers spread over the
// three nodes, publishers on every node. Reports the end-to-end delivery rate at full speed
// and the publish→deliver latency (p50/p99) at a fixed rate.
//
//   node bench/hub/build.mjs && node bench/hub/redis.mjs [--subscribers 300] [--messages 6000] [--rate 3000]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, startProcess, track } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const options = parseArgs({ subscribers: 300, messages: 6000, rate: 3000, window: 16 });

const port = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'hub-bench-redis-'));
const { spawn, execFileSync } = await import('node:child_process');
const redis = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }));
await new Promise((resolve) => setTimeout(resolve, 500));
const url = `redis://127.0.0.1:${port}`;

const nodes = ['alpha', 'beta', 'gamma'].map((id) => startProcess(process.execPath, [`${here}.build/redis-node.mjs`, url, id]));
const ports = await Promise.all(nodes.map(async (node) => (await node.next('ready')).port));

async function subscribedCounts() {
  return Promise.all(
    nodes.map(async (node) => {
      const mark = node.mark();
      node.send('subscribed');
      return (await node.next('subscribed', 60_000, mark)).count;
    }),
  );
}

async function phase(name, perNode, rate, window) {
  const expected = perNode * nodes.length;
  // The previous phase's connections must be gone before new ones are counted.
  while ((await subscribedCounts()).some((count) => count > 0)) await new Promise((resolve) => setTimeout(resolve, 100));
  const client = startProcess(process.execPath, [
    `${here}latency-client.mjs`,
    String(expected),
    ...ports.map((p) => `${p}:${Math.round(options.subscribers / nodes.length)}`),
  ]);
  await client.next('connected', 120_000);
  // Live subscriptions start "from now": wait until every node has confirmed them with Redis.
  const perNodeSubscribers = Math.round(options.subscribers / nodes.length);
  while ((await subscribedCounts()).some((count) => count < perNodeSubscribers)) await new Promise((resolve) => setTimeout(resolve, 100));
  const marks = nodes.map((node) => node.mark());
  for (const node of nodes) node.send(`publish ${perNode} ${rate === undefined ? 'max' : Math.round(rate / nodes.length)} ${window}`);
  const [done, ...published] = await Promise.all([client.next('done', 300_000), ...nodes.map((node, i) => node.next('published', 300_000, marks[i]))]);
  client.send('exit');
  await client.stop();
  const start = Math.min(...published.map((p) => p.start));
  const result = {
    phase: name,
    messages: expected,
    subscribers: options.subscribers,
    publishFailures: published.reduce((sum, p) => sum + p.failures, 0),
    messagesPerSecond: expected / ((Math.max(...published.map((p) => p.end)) - start) / 1000),
    deliveriesPerSecond: (done.received - done.lost) / ((done.last - start) / 1000),
    droppedAsGap: done.lost,
    p50Ms: done.p50,
    p99Ms: done.p99,
    maxMs: done.max,
    outOfOrder: done.outOfOrder,
  };
  console.log(JSON.stringify(result));
  return result;
}

/** Publishes to a topic nobody subscribes to: the cost of ordering and storing alone (the Lua script). */
async function publishOnly(perNode) {
  const marks = nodes.map((node) => node.mark());
  for (const node of nodes) node.send(`publish ${perNode} max ${options.window} solo`);
  const published = await Promise.all(nodes.map((node, i) => node.next('published', 300_000, marks[i])));
  const start = Math.min(...published.map((p) => p.start));
  const result = {
    phase: 'publish-only',
    messages: perNode * nodes.length,
    publishFailures: published.reduce((sum, p) => sum + p.failures, 0),
    messagesPerSecond: (perNode * nodes.length) / ((Math.max(...published.map((p) => p.end)) - start) / 1000),
  };
  console.log(JSON.stringify(result));
  return result;
}

/** Redis's own time per call of each command (INFO commandstats): the hub scripts run as EVALSHA. */
async function redisCommandStats() {
  const { execFileSync } = await import('node:child_process');
  const info = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'commandstats'], { encoding: 'utf8' });
  const stats = {};
  for (const line of info.split('\n')) {
    const match = /^cmdstat_(\w+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(line.trim());
    if (match) stats[match[1]] = { calls: Number(match[2]), usecPerCall: Number(match[4]) };
  }
  return stats;
}

try {
  const perNode = Math.round(options.messages / nodes.length);
  execFileSync('redis-cli', ['-p', String(port), 'CONFIG', 'RESETSTAT']);
  await publishOnly(perNode);
  const publishStats = await redisCommandStats();
  // A resume-sized read: the last 10 messages of the topic just filled.
  execFileSync('redis-cli', ['-p', String(port), 'CONFIG', 'RESETSTAT']);
  const readMarks = nodes.map((node) => node.mark());
  const head = perNode * nodes.length;
  for (const node of nodes) node.send(`read ${Math.round(perNode / 3)} ${options.window} solo ${head - 10}`);
  const reads = await Promise.all(nodes.map((node, i) => node.next('read', 300_000, readMarks[i])));
  const readStats = (await redisCommandStats()).evalsha;
  console.log(
    JSON.stringify({
      phase: 'redis-time',
      publishScriptUsecPerCall: publishStats.evalsha?.usecPerCall,
      readLast10UsecPerCall: readStats?.usecPerCall,
      readsPerSecond: reads.reduce((sum, r) => sum + r.count, 0) / ((Math.max(...reads.map((r) => r.end)) - Math.min(...reads.map((r) => r.start))) / 1000),
      messagesPerRead: reads.reduce((sum, r) => sum + r.messages, 0) / reads.reduce((sum, r) => sum + r.count, 0),
    }),
  );
  await phase('warmup', Math.round(perNode / 4), undefined, options.window);
  await phase('throughput', perNode, undefined, options.window);
  await phase('latency', perNode, options.rate, options.window);
} finally {
  for (const node of nodes) await node.stop();
  redis.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
