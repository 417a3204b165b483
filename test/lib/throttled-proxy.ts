/**
 * A TCP proxy on 127.0.0.1 that passes what the server sends at most `bytesPerSecond` per
 * connection: a registry behind it serves pulls as a slow link would, so that a pull lasts long
 * enough for its progress to be seen.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface ThrottledProxy {
  /** 127.0.0.1:<port>: an image reference's registry part through the proxy. */
  readonly host: string;
  close(): Promise<void>;
}

export async function startThrottledProxy(targetPort: number, bytesPerSecond: number): Promise<ThrottledProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      // Each chunk waits as long as it takes at the rate before the next is read.
      upstream.pause();
      client.write(chunk);
      setTimeout(() => upstream.resume(), (chunk.byteLength / bytesPerSecond) * 1000);
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    host: `127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
