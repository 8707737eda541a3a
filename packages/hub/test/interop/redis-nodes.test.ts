/**
 * Three hub processes on three ports sharing one real Redis, with @switchyard/client clients
 * on each: one order everywhere, presence that expires with a killed node, a client moving
 * from a killed node to another and resuming exactly, and a Redis restart that is reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from '@switchyard/client';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { chatProtocol, type ChatProtocol } from '../support/chat-protocol.js';
import { RedisServer } from '../support/redis-server.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, '..', '..');
// Inside the package's node_modules so the bundle finds ioredis as the package does.
const bundle = join(packageRoot, 'node_modules', '.cache', `hub-node-${process.pid}.mjs`);
const PRESENCE_TTL_MS = 1200;

interface HubProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly brokerEvents: string[];
}

let redis: RedisServer;
const processes: HubProcess[] = [];
const clients: Array<Client<ChatProtocol>> = [];

async function startNode(nodeId: string): Promise<HubProcess> {
  const child = spawn(process.execPath, [bundle, redis.url, nodeId, 'nodes:', String(PRESENCE_TTL_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const brokerEvents: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${nodeId} did not start`)), 15_000);
    child.once('exit', (code) => reject(new Error(`${nodeId} exited with ${code}`)));
    lines.on('line', (line) => {
      const message = JSON.parse(line) as { port?: number; broker?: string };
      if (message.port !== undefined) {
        clearTimeout(timer);
        resolve(message.port);
      }
      if (message.broker !== undefined) brokerEvents.push(message.broker);
    });
  });
  const started = { child, port, url: `ws://127.0.0.1:${port}/`, brokerEvents };
  processes.push(started);
  return started;
}

async function kill(node: HubProcess): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    node.child.once('exit', () => resolve());
    node.child.kill('SIGKILL');
  });
}

interface Member {
  readonly name: string;
  readonly client: Client<ChatProtocol>;
  readonly lines: string[];
  readonly events: string[];
  readonly notices: string[];
}

function member(name: string, urls: () => string | Promise<string>): Member {
  const client = createClient(chatProtocol, {
    url: urls,
    WebSocket: WebSocket as never,
    window: null,
    initialDelay: 20,
    maxDelay: 100,
    heartbeatInterval: 0,
    requestTimeout: 3000,
  });
  clients.push(client);
  const m: Member = { name, client, lines: [], events: [], notices: [] };
  client.on('line', (line, meta) => m.lines.push(`${meta.seq}:${line.text}`));
  client.on('notice', (notice) => m.notices.push(notice.text));
  client.onEvent('gap', (gap) => m.events.push(`gap ${gap.from}-${gap.to}`));
  client.onEvent('resync', () => m.events.push('resync'));
  return m;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  mkdirSync(dirname(bundle), { recursive: true });
  await build({
    entryPoints: [join(here, 'fixtures', 'hub-node.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@switchyard/source'],
    external: ['ioredis'],
    logLevel: 'error',
  });
  redis = await RedisServer.start();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(processes.map(kill));
  await redis?.dispose();
  rmSync(bundle, { force: true });
});

describe('three hub processes sharing one Redis', () => {
  it('orders, expires presence of a dead node, moves a client to a live node without loss, reports a Redis restart', async () => {
    const nodes = await Promise.all(['alpha', 'beta', 'gamma'].map(startNode));
    const [alpha, beta, gamma] = nodes as [HubProcess, HubProcess, HubProcess];

    // Two members per node; the second on gamma moves to alpha when gamma dies, but only once
    // the lines published meanwhile have reached everyone else, so it must resume them.
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let movingAttempt = 0;
    const members = [
      member('a1', () => alpha.url),
      member('a2', () => alpha.url),
      member('b1', () => beta.url),
      member('b2', () => beta.url),
      member('g1', () => gamma.url),
      member('mover', async () => (movingAttempt++ === 0 ? gamma.url : (await gate, alpha.url))),
    ];
    for (const m of members) await m.client.request('join', { room: 'room', name: m.name });

    // ── one order on every node ──
    await Promise.all(
      members.map(async (m) => {
        for (let i = 0; i < 10; i++) m.client.send('say', { room: 'room', text: `${m.name}-${i}` });
      }),
    );
    await until(() => members.every((m) => m.lines.length === 60), 'sixty lines everywhere');
    for (const m of members) expect(m.lines).toEqual(members[0]!.lines);
    expect(members[0]!.lines.map((l) => Number(l.split(':')[0]))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    for (const m of members) {
      const own = members[0]!.lines.filter((l) => l.split(':')[1]!.startsWith(`${m.name}-`)).map((l) => l.split(':')[1]);
      expect(own).toEqual(Array.from({ length: 10 }, (_, i) => `${m.name}-${i}`));
    }
    expect(await members[0]!.client.request('who', { room: 'room' })).toEqual(['a1', 'a2', 'b1', 'b2', 'g1', 'mover']);

    // ── kill gamma: its presence expires; its mover resumes on alpha with nothing lost ──
    await kill(gamma);
    const survivors = members.filter((m) => m.name !== 'g1');
    for (let i = 0; i < 10; i++) members[2]!.client.send('say', { room: 'room', text: `after-kill-${i}` });
    await until(
      async () => JSON.stringify(await members[0]!.client.request('who', { room: 'room' })) === JSON.stringify(['a1', 'a2', 'b1', 'b2']),
      'gamma’s members to expire',
      PRESENCE_TTL_MS * 5,
    );
    const mover = members[5]!;
    await until(() => survivors.every((m) => m === mover || m.lines.length === 70), 'seventy lines for those who stayed');
    expect(mover.lines.length).toBe(60);
    openGate();
    await until(() => mover.lines.length === 70, 'the mover’s backlog');
    expect(mover.lines).toEqual(members[0]!.lines);
    expect(mover.events).toEqual([]);
    // The mover's connection is on alpha now and still subscribed (resumed): live lines reach it.
    members[3]!.client.send('say', { room: 'room', text: 'live after the move' });
    await until(() => survivors.every((m) => m.lines.length === 71), 'a live line for the survivors');
    expect(mover.lines.at(-1)).toBe('71:live after the move');

    // ── restart Redis: publishing fails meanwhile and says so, then resumes; the loss is reported ──
    await redis.stop();
    await until(() => [alpha, beta].every((n) => n.brokerEvents.includes('down')), 'both nodes to see Redis down');
    members[0]!.client.send('say', { room: 'room', text: 'into the void' });
    await until(() => members[0]!.notices.length === 1, 'the failure notice');
    expect(members[0]!.notices).toEqual(['not sent: broker unavailable']);
    await redis.startAgain();
    await until(() => [alpha, beta].every((n) => n.brokerEvents.at(-1) === 'up'), 'both nodes to reconnect');
    // Redis lost its data (no persistence): every subscriber is told to resync, none is left guessing.
    await until(() => survivors.every((m) => m.events.includes('resync')), 'resync for every subscriber');
    members[2]!.client.send('say', { room: 'room', text: 'back' });
    await until(() => survivors.every((m) => m.lines.length === 72), 'the line after the restart');
    for (const m of survivors) {
      expect(m.lines.at(-1)).toBe('72:back');
      expect(m.lines.some((l) => l.includes('into the void'))).toBe(false);
    }
  }, 60_000);
});
