// The fuzzing-server client convention (Autobahn's "fuzzingserver" and compatible servers):
// GET /getCaseCount, then /runCase?case=N&agent=A for each case (echo everything back with its
// type until the server closes), then /updateReports?agent=A. Works with any WHATWG WebSocket
// constructor, so every runtime's echo uses it with its own client.

/**
 * @param {{ WebSocket: typeof globalThis.WebSocket, url: string, agent: string, log?: (line: string) => void, options?: unknown }} config
 * @returns {Promise<{ cases: number }>}
 */
export async function runFuzzingClient({ WebSocket, url, agent, log = () => {}, options }) {
  const base = url.replace(/\/+$/, '');
  const agentParam = encodeURIComponent(agent);
  const open = (path) => (options === undefined ? new WebSocket(`${base}${path}`) : new WebSocket(`${base}${path}`, [], options));

  const countText = await new Promise((resolve, reject) => {
    const ws = open('/getCaseCount');
    let value;
    ws.onmessage = (event) => {
      value = String(event.data);
    };
    ws.onerror = () => reject(new Error(`cannot read the case count from ${base}/getCaseCount`));
    ws.onclose = () => (value === undefined ? reject(new Error('the server closed without sending the case count')) : resolve(value));
  });
  const cases = Number.parseInt(countText, 10);
  if (!Number.isInteger(cases) || cases < 0) throw new Error(`invalid case count ${JSON.stringify(countText)}`);
  log(`${cases} cases`);

  for (let n = 1; n <= cases; n++) {
    await new Promise((resolve) => {
      const ws = open(`/runCase?case=${n}&agent=${agentParam}`);
      ws.binaryType = 'arraybuffer';
      ws.onmessage = (event) => {
        try {
          ws.send(event.data);
        } catch {
          // The connection is closing: nothing to echo into.
        }
      };
      ws.onclose = () => resolve(undefined);
    });
    log(`case ${n}/${cases} done`);
  }

  await new Promise((resolve) => {
    const ws = open(`/updateReports?agent=${agentParam}`);
    ws.onclose = () => resolve(undefined);
  });
  log('reports updated');
  return { cases };
}
