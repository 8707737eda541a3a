// Shared by the fan-out servers: the 1 KiB payload and how a run is reported.
export const PAYLOAD = 'x'.repeat(1024);

export function report(start, cpu) {
  const end = performance.timeOrigin + performance.now();
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ phase: 'sent', start, end, cpuMs: (used.user + used.system) / 1000 }));
}

export function memory() {
  globalThis.gc?.();
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers };
}

/** Server CPU (user + system) since a `process.cpuUsage()` mark: every write the run caused, flushed or not during the loop. */
export function cpuSince(mark) {
  const used = process.cpuUsage(mark);
  return { userMs: used.user / 1000, systemMs: used.system / 1000 };
}
