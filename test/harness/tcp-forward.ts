import { connect, createServer, type Socket } from 'node:net';

/**
 * Forwards `port` on 127.0.0.1 to `to` on 127.0.0.1 until closed: a Redis that appears at an
 * address nothing served, or (closed, then opened again) one that goes away and comes back with
 * its data, as a restarted queue Redis with persistence does. Closing drops every connection.
 */
export async function forwardPort(port: number, to: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(to, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
