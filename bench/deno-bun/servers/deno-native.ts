// The reference on Deno: Deno.serve + Deno.upgradeWebSocket (fastwebsockets inside), echoing.
// deno run --allow-net bench/deno-bun/servers/deno-native.ts PORT
const port = Number(Deno.args[0] ?? 9001);
Deno.serve({ hostname: '127.0.0.1', port, onListen: () => console.log(`ready deno-native ${Deno.version.deno} port ${port}`) }, (request) => {
  if (request.headers.get('upgrade') !== 'websocket') return new Response('upgrade required', { status: 426 });
  const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (event) => socket.send(event.data);
  socket.onerror = () => {};
  return response;
});
