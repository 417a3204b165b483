import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { decodeQuery, DnsFormatError, encodeAnswer, RCODE, type DnsQuery } from './dns-wire.js';
import { answerQuery, type Caller, type NameSource } from './fleet-names.js';

// The edge: a UDP DNS server in the agent, at an address containers on the host's project
// networks reach (the host's mesh address), set as their `dns:`; Docker's embedded DNS forwards
// the names it does not know here.

export interface FleetResolverOptions {
  readonly address: string;
  /** 53 in production; 0 picks a free port (tests). */
  readonly port: number;
  readonly source: NameSource;
  /** The project network a source address is on; undefined: not one of this host's, refused. */
  readonly callerOf: (sourceAddress: string) => Caller | undefined;
}

export class FleetResolver {
  readonly #socket: Socket;
  readonly #options: FleetResolverOptions;
  #rotation = 0;
  #answered = 0;

  private constructor(socket: Socket, options: FleetResolverOptions) {
    this.#socket = socket;
    this.#options = options;
    socket.on('message', (message, remote) => this.#answer(message, remote));
  }

  static async start(options: FleetResolverOptions): Promise<FleetResolver> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port, options.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new FleetResolver(socket, options);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Queries answered since start. */
  get answered(): number {
    return this.#answered;
  }

  #answer(message: Buffer, remote: RemoteInfo): void {
    let reply: Uint8Array | undefined;
    let query: DnsQuery | undefined;
    try {
      query = decodeQuery(message);
      reply = encodeAnswer(answerQuery(query, this.#options.callerOf(remote.address), this.#options.source, this.#rotation++));
    } catch (error) {
      // A message we cannot read gets FORMERR when it carried an id, and nothing when not even that;
      // a source that failed, SERVFAIL (the client tries again), never a crash of the agent.
      const id = query?.id ?? (error instanceof DnsFormatError ? error.id : undefined);
      if (id !== undefined) reply = encodeAnswer({ id, recursionDesired: query?.recursionDesired ?? false, rcode: query ? RCODE.servFail : RCODE.formErr, ...(query ? { question: query.question } : {}) });
    }
    if (reply === undefined) return;
    this.#answered++;
    this.#socket.send(reply, remote.port, remote.address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
