import type { ServerResponse } from 'node:http';
import type { DashboardEvent } from '../../shared/dashboard-api.js';
import type { FleetModel } from './fleet-model.js';

/** Host changes are sent at most this often: a fleet heartbeating every second sends one message, not thousands. */
export const COALESCE_MS = 250;
/** A tick tells the page the stream is alive, and is when hosts that turned stale are found. */
export const TICK_MS = 1_000;
/** A client this far behind is dropped: it reconnects (retry: 1000) and starts again from a snapshot. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Headers of every server-sent event stream (the security headers are set before). */
export const EVENT_STREAM_HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' } as const;

/** One server-sent event: a JSON value on one data line (JSON has no raw newline). */
export function sseMessage(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * GET /api/live: every page's stream. A new client gets a snapshot first; then changed hosts at
 * most every COALESCE_MS, each rollout as it changes, each fleet event, and a tick every TICK_MS.
 */
export class LiveHub {
  readonly #clients = new Set<ServerResponse>();
  #flushTimer: NodeJS.Timeout | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  #lastFlush = 0;

  constructor(
    private readonly model: FleetModel,
    private readonly now: () => number = Date.now,
  ) {}

  get clients(): number {
    return this.#clients.size;
  }

  start(): void {
    this.#tickTimer = setInterval(() => {
      this.#flush();
      this.#send(sseMessage('tick', { at: new Date(this.now()).toISOString() }));
    }, TICK_MS);
  }

  stop(): void {
    clearInterval(this.#tickTimer);
    clearTimeout(this.#flushTimer);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  /** Starts a client's stream with the fleet as it is now. */
  attach(response: ServerResponse): void {
    response.writeHead(200, EVENT_STREAM_HEADERS);
    // The snapshot is JSON already (fleet-model.ts snapshotJson): one data line, as sseMessage writes one.
    response.write(`retry: 1000\n\nevent: snapshot\ndata: ${this.model.snapshotJson(this.now())}\n\n`);
    this.#clients.add(response);
    response.on('close', () => this.#clients.delete(response));
  }

  /** Some host changed: sent with the others changed within COALESCE_MS. */
  hostsChanged(): void {
    if (this.#flushTimer !== undefined) return;
    const wait = Math.max(0, this.#lastFlush + COALESCE_MS - this.now());
    this.#flushTimer = setTimeout(() => this.#flush(), wait);
  }

  rolloutChanged(id: string): void {
    const view = this.model.rollout(id, this.now());
    if (view) this.#send(sseMessage('rollout', view));
  }

  event(event: DashboardEvent): void {
    this.#send(sseMessage('event', event));
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#lastFlush = this.now();
    const changes = this.model.takeChanges(this.#lastFlush);
    if (changes.hosts.length > 0 || changes.removed.length > 0) this.#send(sseMessage('hosts', changes));
  }

  #send(message: string): void {
    for (const client of this.#clients) {
      if (client.writableLength > MAX_BUFFERED_BYTES) {
        client.destroy();
        this.#clients.delete(client);
        continue;
      }
      client.write(message);
    }
  }
}
