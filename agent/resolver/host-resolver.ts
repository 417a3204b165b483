import type { Logger } from 'pino';
import { errorMessage } from '../../shared/errors.js';
import { resourceIdentityOf } from '../observer.js';
import type { RuntimeAdapter } from '../runtime/runtime-adapter.js';
import type { NameSource } from './fleet-names.js';
import { FleetResolver } from './fleet-resolver.js';
import { callerNetworks, callerOf, type CallerNetwork } from './resolver-callers.js';

// The edge that runs the fleet resolver on a mesh host: listening on the host's mesh address
// while the host takes part in the mesh, knowing the project networks of the engine.

/** Docker forwards to port 53 only (`dns:` takes addresses, not ports). */
export const RESOLVER_PORT = 53;
/** An unknown source refreshes the networks at most this often (a new network, or a stranger). */
const REFRESH_ON_MISS_MS = 1_000;

export interface HostResolverOptions {
  readonly hostId: string;
  readonly runtime: RuntimeAdapter;
  readonly source: NameSource;
  readonly logger: Logger;
  readonly port?: number;
}

export class HostResolver {
  readonly #options: HostResolverOptions;
  #server: FleetResolver | undefined;
  #address: string | undefined;
  #networks: readonly CallerNetwork[] = [];
  #refreshedAt = 0;
  /** Starts and stops one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: HostResolverOptions) {
    this.#options = options;
  }

  get address(): string | undefined {
    return this.#server === undefined ? undefined : this.#address;
  }

  /** Listens on `address` (the host's mesh address), or stops when undefined. A failure to bind is logged and tried at the next sync. */
  sync(address: string | undefined): Promise<void> {
    const next = this.#queue.then(async () => {
      if (address === this.#address && (address === undefined || this.#server !== undefined)) return;
      await this.#server?.close();
      this.#server = undefined;
      this.#address = address;
      if (address === undefined) return;
      await this.refresh();
      try {
        this.#server = await FleetResolver.start({ address, port: this.#options.port ?? RESOLVER_PORT, source: this.#options.source, callerOf: (source) => this.#callerOf(source) });
        this.#options.logger.info({ address, port: this.#server.port }, 'fleet resolver listening');
      } catch (error) {
        this.#options.logger.error({ address, error: errorMessage(error) }, 'the fleet resolver could not listen; names on other hosts do not resolve until it can');
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Reads the engine's project networks again (after a cycle: one may have been made). */
  async refresh(): Promise<void> {
    this.#refreshedAt = Date.now();
    try {
      const networks = await this.#options.runtime.listNetworks();
      this.#networks = callerNetworks(networks.map((network) => ({ identity: resourceIdentityOf('network', network), subnets: network.subnets })), this.#options.hostId);
    } catch (error) {
      this.#options.logger.debug({ error: errorMessage(error) }, 'project networks not read; the resolver keeps the last ones');
    }
  }

  #callerOf(source: string) {
    const caller = callerOf(this.#networks, source);
    if (caller === undefined && Date.now() - this.#refreshedAt > REFRESH_ON_MISS_MS) void this.refresh();
    return caller;
  }

  close(): Promise<void> {
    return this.sync(undefined);
  }
}
