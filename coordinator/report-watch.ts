import type { KvWatchEntry } from '@nats-io/kv';
import type { HostReport } from '../shared/host-report.js';
import type { HostRegistration, StatusReport } from '../shared/wire.js';
import type { FleetClient } from './fleet-client.js';
import type { Heartbeat } from './heartbeat-age.js';

/**
 * How often a watch is backed by a full re-read. A watch rides an ordered consumer: when the NATS
 * node serving it fails, the consumer can end without telling its reader, and every change after
 * that would be missed; a slow re-read bounds how long a wait can go blind.
 */
export const FALLBACK_READ_MS = 5_000;

/**
 * The hosts' status reports and heartbeats as KV watches on the status and hosts buckets deliver
 * them: a wait reads the fleet once, then wakes on each change instead of re-reading on a timer.
 */
export class FleetReportWatch {
  readonly #client: FleetClient;
  readonly #status = new Map<string, HostReport<StatusReport>>();
  readonly #heartbeats = new Map<string, Heartbeat>();
  readonly #stops: (() => void)[] = [];
  #wake: (() => void) | undefined;
  #changed = false;
  #readAt = 0;
  /** Entries that came during a read, applied after it: each later entry of a key is newer than what the read saw. */
  #during: (() => void)[] | undefined;

  private constructor(client: FleetClient) {
    this.#client = client;
  }

  /** Opens both watches, then reads the fleet once (an update between the two is applied after the read, in order). */
  static async open(client: FleetClient): Promise<FleetReportWatch> {
    const watch = new FleetReportWatch(client);
    try {
      const [status, hosts] = await Promise.all([client.connection.status.watch({ include: 'updates' }), client.connection.hosts.watch({ include: 'updates' })]);
      watch.#stops.push(() => status.stop(), () => hosts.stop());
      await watch.#read();
      void watch.#follow(status, (entry) => watch.#onStatus(entry));
      void watch.#follow(hosts, (entry) => watch.#onHost(entry));
    } catch (error) {
      watch.stop();
      throw error;
    }
    return watch;
  }

  /** The host's latest status report (refused ones included: they say why). */
  statusOf(hostId: string): HostReport<StatusReport> | undefined {
    return this.#status.get(hostId);
  }

  /** Every host's latest status report. */
  statusReports(): HostReport<StatusReport>[] {
    return [...this.#status.values()];
  }

  /** The heartbeat (time and period) of the host's accepted registration. */
  heartbeatOf(hostId: string): Heartbeat | undefined {
    return this.#heartbeats.get(hostId);
  }

  /**
   * Resolves at the next change of a status or heartbeat, or after `maxMs` (time alone moves a
   * wait on: a settle time, a stale heartbeat, a deadline), or when `signal` aborts.
   */
  async next(maxMs: number, signal?: AbortSignal): Promise<void> {
    // A fallback read NATS does not answer leaves the watches' state as it is; the next one tries again.
    if (Date.now() - this.#readAt >= FALLBACK_READ_MS) await this.#read().catch(() => undefined);
    if (this.#changed || signal?.aborted) {
      this.#changed = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      signal?.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
    this.#changed = false;
  }

  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
    this.#wake?.();
  }

  async #read(): Promise<void> {
    this.#readAt = Date.now();
    this.#during = [];
    try {
      const [statuses, hosts] = await Promise.all([this.#client.statusReports(), this.#client.hosts()]);
      this.#status.clear();
      for (const report of statuses) this.#status.set(report.hostId, report);
      this.#heartbeats.clear();
      for (const host of hosts) this.#heartbeats.set(host.hostId, heartbeatOf(host));
    } finally {
      const during = this.#during;
      this.#during = undefined;
      for (const apply of during) apply();
    }
  }

  async #follow(entries: AsyncIterable<KvWatchEntry>, apply: (entry: KvWatchEntry) => void): Promise<void> {
    try {
      for await (const entry of entries) {
        if (this.#during) this.#during.push(() => apply(entry));
        else apply(entry);
        this.#changed = true;
        this.#wake?.();
      }
    } catch {
      // A watch that fails is left to the fallback re-read (FALLBACK_READ_MS).
    }
  }

  #onStatus(entry: KvWatchEntry): void {
    if (entry.operation !== 'PUT') this.#status.delete(entry.key);
    else this.#status.set(entry.key, this.#client.openStatus(entry.value, entry.key));
  }

  #onHost(entry: KvWatchEntry): void {
    const registration = entry.operation === 'PUT' ? this.#client.openRegistration(entry.value, entry.key).value : undefined;
    if (registration) this.#heartbeats.set(entry.key, heartbeatOf(registration));
    else this.#heartbeats.delete(entry.key);
  }
}

/** Pure: what a wait needs of a registration to tell a stale host. */
function heartbeatOf(registration: HostRegistration): Heartbeat {
  return { heartbeatAt: registration.heartbeatAt, ...(registration.heartbeatMs === undefined ? {} : { heartbeatMs: registration.heartbeatMs }) };
}
