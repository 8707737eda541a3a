import { describe, expect, it } from 'vitest';
import { Connection } from '@switchyard/codec';

/**
 * The codec's tests run under Node 20, Node 24, Deno and Bun (scripts/test.d/10-codec-runtimes.sh).
 * This test proves which runtime actually executed them: the stage sets SWITCHYARD_TEST_RUNTIME
 * and the test fails if the tests ran somewhere else (for example, under a Node fallback).
 */
function currentRuntime(): { name: 'node' | 'deno' | 'bun'; version: string } {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno !== undefined) return { name: 'deno', version: g.Deno.version.deno };
  if (g.Bun !== undefined) return { name: 'bun', version: g.Bun.version };
  return { name: 'node', version: process.versions.node };
}

describe('the runtime under test', () => {
  it('is the one the test stage asked for', () => {
    const runtime = currentRuntime();
    console.log(`codec tests running on ${runtime.name} ${runtime.version}`);
    const wanted = process.env['SWITCHYARD_TEST_RUNTIME'] ?? 'node';
    const [name, major] = wanted.split(' ');
    expect(runtime.name).toBe(name);
    if (major !== undefined) expect(runtime.version.split('.')[0]).toBe(major);
  });

  it('runs a connection end to end here', () => {
    const client = new Connection({ role: 'client' });
    const server = new Connection({ role: 'server' });
    client.sendText('héllo', { fragmentSize: 2 });
    for (const chunk of client.takeOutput()) server.receive(chunk);
    expect(server.takeEvents()).toEqual([{ type: 'text', data: 'héllo' }]);
  });
});
