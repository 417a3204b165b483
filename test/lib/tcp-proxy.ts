/**
 * A TCP proxy on 127.0.0.1 the test controls, to cut a client (an agent) off from NATS and
 * let it back in. While cut, every open connection is destroyed and every new connection is
 * rejected at once (the listener stays bound, so the port cannot be taken by anyone else and
 * heal() is guaranteed to come back on the same port).
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's loopback port. */
  readonly port: number;
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  /** True between cut() and heal(). */
  readonly isCut: boolean;
  /** Number of currently piped client connections. */
  readonly connections: number;
  /** Destroys all open connections and rejects new ones until heal(). */
  cut(): Promise<void>;
  /** Accepts (and pipes) connections again, on the same port. */
  heal(): Promise<void>;
  /** Keeps the server's bytes from reaching the clients (connections stay open) until releaseReplies(). */
  holdReplies(): void;
  /** Delivers what the server sent meanwhile, and everything after it. */
  releaseReplies(): void;
  /** Destroys all connections and closes the listener. */
  close(): Promise<void>;
}

class Proxy implements TcpProxy {
  readonly url: string;
  private cutOff = false;
  private closed = false;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<readonly [Socket, Socket]>();

  constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {
    this.url = `nats://127.0.0.1:${port}`;
    server.on('connection', (client) => this.accept(client));
  }

  get isCut(): boolean {
    return this.cutOff;
  }

  get connections(): number {
    return this.pairs.size;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: Socket): void {
    this.track(client);
    // Errors (ECONNRESET etc.) are expected when we cut; never let them crash the test process.
    client.on('error', () => client.destroy());
    if (this.cutOff || this.closed) {
      client.destroy();
      return;
    }
    client.pause();
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    this.track(upstream);
    const pair = [client, upstream] as const;
    this.pairs.add(pair);
    const teardown = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', teardown);
    client.on('close', teardown);
    upstream.on('close', teardown);
    upstream.once('connect', () => {
      if (this.cutOff || this.closed) {
        teardown();
        return;
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  private destroyAll(): Promise<void> {
    const closing = [...this.sockets].map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed && socket.closed) {
            resolve();
            return;
          }
          socket.once('close', () => resolve());
          socket.destroy();
        }),
    );
    return Promise.all(closing).then(() => undefined);
  }

  holdReplies(): void {
    for (const [client, upstream] of this.pairs) upstream.unpipe(client);
  }

  releaseReplies(): void {
    for (const [client, upstream] of this.pairs) upstream.pipe(client);
  }

  async cut(): Promise<void> {
    this.cutOff = true;
    await this.destroyAll();
  }

  async heal(): Promise<void> {
    if (this.closed) throw new Error('tcp proxy is closed');
    this.cutOff = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.destroyAll();
    await listenerClosed;
  }
}

/** Starts a proxy on a free 127.0.0.1 port forwarding to 127.0.0.1:<targetPort>. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const server = createServer({ pauseOnConnect: false });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('tcp proxy: no port'));
      else resolve(address.port);
    });
  });
  return new Proxy(server, port, targetPort);
}
