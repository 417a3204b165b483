import type Docker from 'dockerode';
import { encode } from '../../shared/codec.js';
import { errorMessage } from '../../shared/errors.js';
import { TimeMerge } from '../../shared/log-merge.js';
import { LINE_OVERHEAD_BYTES, LOG_HEARTBEAT_MS, LogLineSplitter, chunkBudget, compareEntries, isAfterOffset, logTimeOf, type LogChunk, type LogEntry, type LogLine, type LogOffset, type LogRequest, type LogTime } from '../../shared/log-stream.js';
import { sleep } from '../../shared/sleep.js';
import { readContainerLogs } from '../runtime/docker-logs.js';

/** One instance of the service as the agent owns it now. */
export interface OwnedInstance {
  readonly instance: number;
  readonly containerId: string;
  readonly running: boolean;
}

/** What a session needs from the agent: its engine, the containers it owns, and NATS. */
export interface LogSessionPorts {
  readonly hostId: string;
  readonly docker: Docker;
  /** The service's instances whose containers this agent proves it owns (agent/core/ownership.ts). */
  ownedInstances(project: string, service: string, instance: number | undefined): Promise<OwnedInstance[]>;
  publish(subject: string, data: Uint8Array): void;
  maxPayload(): number;
  now(): Date;
}

/** How often an instance whose container stopped is looked for again (restarted, or replaced). */
const REPLACEMENT_POLL_MS = 1_000;

/**
 * One `hostwright logs` stream on this host: the history of the service's instances merged in time
 * order up to the request, then (following) each instance live, across a restart or a replacement of
 * its container. Lines go out in chunks, each spending one credit granted by a request; without
 * credit the session stops reading from the engine.
 */
export class LogSession {
  readonly #abort = new AbortController();
  /** Reply subjects of the requests that granted credit, oldest first, with the chunks each may still take. */
  readonly #credits: { subject: string; remaining: number }[] = [];
  #creditArrived: (() => void) | undefined;
  readonly #offsets = new Map<number, LogOffset>();
  #pending: LogEntry[] = [];
  #pendingBytes = 0;
  #sending: Promise<void> = Promise.resolve();
  #seq = 0;
  #lastSentAt = 0;
  #lastGrantAt = 0;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly request: LogRequest,
    private readonly ports: LogSessionPorts,
  ) {
    for (const offset of request.offsets) this.#offsets.set(offset.instance, offset);
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  get lastGrantAt(): number {
    return this.#lastGrantAt;
  }

  grant(subject: string, credit: number, now: number): void {
    this.#lastGrantAt = now;
    this.#credits.push({ subject, remaining: credit });
    this.#creditArrived?.();
  }

  close(): void {
    clearTimeout(this.#flushTimer);
    this.#abort.abort();
    this.#creditArrived?.();
  }

  /** Runs the session to its end (history sent and not following, failure, or close). */
  async run(): Promise<void> {
    const heartbeat = setInterval(() => this.#heartbeat(), LOG_HEARTBEAT_MS / 2);
    try {
      const started = this.ports.now();
      const instances = await this.ports.ownedInstances(this.request.project, this.request.service, this.request.instance);
      const historyUntil = this.request.until ?? (this.request.follow ? logTimeOf(started) : undefined);
      await this.#history(instances, historyUntil);
      await this.#flush({ caughtUp: true, ...(this.request.follow ? {} : { end: true }) });
      if (this.request.follow && this.request.until === undefined) await Promise.all(instances.map((owned) => this.#follow(owned, historyUntil)));
      else if (this.request.follow) await this.#flush({ end: true });
    } catch (error) {
      if (!this.closed) await this.#flush({ end: true, error: errorMessage(error) }).catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
      this.close();
    }
  }

  /** Every instance's output up to `until`, merged in time order: the engine's streams are read only as far as the merge needs. */
  async #history(instances: readonly OwnedInstance[], until: LogTime | undefined): Promise<void> {
    const merge = new TimeMerge<number, LogEntry>(compareEntries);
    const readers = new Map<number, AsyncIterator<LogLine[]>>();
    for (const owned of instances) {
      const offset = this.#offsets.get(owned.instance);
      if (offset && offset.containerId !== owned.containerId) {
        this.#offsets.delete(owned.instance);
        merge.add(-owned.instance);
        merge.push(-owned.instance, [this.#marker(owned.instance, owned.containerId, `container ${offset.containerId.slice(0, 12)} was replaced by ${owned.containerId.slice(0, 12)}`)]);
        merge.finish(-owned.instance);
      }
      const resumed = this.#offsets.get(owned.instance);
      const since = resumed?.time ?? this.request.since;
      readers.set(owned.instance, this.#lines(owned, { follow: false, since, until, tail: resumed ? undefined : this.request.tail })[Symbol.asyncIterator]());
      merge.add(owned.instance);
    }
    while (!merge.done()) {
      for (const [instance, reader] of readers) {
        if (merge.waiting(instance) > 0) continue;
        const next = await reader.next();
        if (next.done) {
          merge.finish(instance);
          readers.delete(instance);
        } else merge.push(instance, next.value);
      }
      for (const entry of merge.take()) await this.#offer(entry);
      if (this.closed) return;
    }
  }

  /** One instance live: its container followed from the end of the history, then any container that replaces it. */
  async #follow(owned: OwnedInstance, from: LogTime | undefined): Promise<void> {
    let current: OwnedInstance | undefined = owned;
    let since = this.#offsets.get(owned.instance)?.time ?? from;
    while (!this.closed) {
      if (current?.running) {
        for await (const lines of this.#lines(current, { follow: true, since, until: undefined, tail: undefined })) {
          for (const line of lines) await this.#offer(line);
        }
      }
      if (this.closed) return;
      // The stream ended: the container stopped. Wait for it to run again, or for its replacement.
      const before = current?.containerId;
      for (;;) {
        await sleep(REPLACEMENT_POLL_MS, this.#abort.signal);
        if (this.closed) return;
        const found: OwnedInstance | undefined = (await this.ports.ownedInstances(this.request.project, this.request.service, owned.instance)).find((candidate) => candidate.instance === owned.instance);
        if (found && found.containerId !== before) {
          await this.#offer(this.#marker(owned.instance, found.containerId, before ? `container ${before.slice(0, 12)} was replaced by ${found.containerId.slice(0, 12)}; following the new one` : `container ${found.containerId.slice(0, 12)} appeared; following it`));
          this.#offsets.delete(owned.instance);
          since = undefined;
          current = found;
          break;
        }
        if (found?.running) {
          since = this.#offsets.get(owned.instance)?.time ?? since;
          current = found;
          break;
        }
      }
    }
  }

  /** A container's lines after the instance's offset, in batches as the engine sends them. */
  async *#lines(owned: OwnedInstance, query: { follow: boolean; since: LogTime | undefined; until: LogTime | undefined; tail: number | undefined }): AsyncIterable<LogLine[]> {
    const pieces = await readContainerLogs(this.ports.docker, owned.containerId, { ...query, signal: this.#abort.signal });
    if (!pieces) return;
    const splitter = new LogLineSplitter(owned.instance, owned.containerId);
    // Lines up to the offset the read starts from were sent already; after it, every line is new
    // (stdout and stderr lines may come slightly out of timestamp order: none is skipped then).
    let resumeAt = this.#offsets.get(owned.instance);
    const fresh = (lines: LogLine[]): LogLine[] => {
      const after = lines.filter((line) => {
        if (!resumeAt) return true;
        if (!isAfterOffset(line, resumeAt)) return false;
        resumeAt = undefined;
        return true;
      });
      const last = after.at(-1);
      if (last) this.#offsets.set(owned.instance, { instance: owned.instance, containerId: owned.containerId, time: last.time, index: last.index });
      return after;
    };
    for await (const piece of pieces) {
      const lines = fresh(splitter.push(piece.text, piece.stream));
      if (lines.length > 0) yield lines;
    }
    const rest = fresh([...splitter.flush('stdout'), ...splitter.flush('stderr')]);
    if (rest.length > 0) yield rest;
  }

  #marker(instance: number, containerId: string, text: string): LogEntry {
    return { kind: 'marker', instance, containerId, time: logTimeOf(this.ports.now()), text };
  }

  /** Queues an entry; a full chunk goes out at once (waiting for credit), a partial one on the next turn. */
  async #offer(entry: LogEntry): Promise<void> {
    await this.#sending;
    this.#pending.push(entry);
    this.#pendingBytes += LINE_OVERHEAD_BYTES + (entry.kind === 'line' ? Buffer.byteLength(entry.text) : entry.text.length);
    if (this.#pendingBytes >= chunkBudget(this.ports.maxPayload())) {
      await this.#flush({});
      return;
    }
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush({}).catch(() => undefined);
    }, 0);
  }

  /** Sends what is queued (with the flags) as one chunk once there is credit for it; chunks leave in order. */
  #flush(flags: Pick<LogChunk, 'caughtUp' | 'end' | 'error'>): Promise<void> {
    const last = flags.caughtUp === true || flags.end === true;
    if (this.#pending.length === 0 && !last) return this.#sending;
    const entries = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#sending = this.#sending.then(async () => {
      const subject = await this.#takeCredit();
      if (subject === undefined) return;
      this.#seq += 1;
      const chunk: LogChunk = { session: this.request.session, hostId: this.ports.hostId, seq: this.#seq, entries, ...flags };
      this.ports.publish(subject, encode(chunk));
      this.#lastSentAt = Date.now();
    });
    return this.#sending;
  }

  /** The reply subject the next chunk goes to, waiting for a grant when there is none; undefined once closed. */
  async #takeCredit(): Promise<string | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const credit = this.#credits[0];
      if (credit) {
        credit.remaining -= 1;
        if (credit.remaining === 0) this.#credits.shift();
        return credit.subject;
      }
      await new Promise<void>((resolve) => {
        this.#creditArrived = resolve;
      });
      this.#creditArrived = undefined;
    }
  }

  /** An empty chunk after a quiet spell, so the coordinator knows this side is alive; only with credit to spare. */
  #heartbeat(): void {
    if (Date.now() - this.#lastSentAt < LOG_HEARTBEAT_MS || this.#credits.length === 0 || this.#pending.length > 0) return;
    void this.#flushHeartbeat();
  }

  #flushHeartbeat(): Promise<void> {
    this.#sending = this.#sending.then(async () => {
      if (this.#credits.length === 0 || Date.now() - this.#lastSentAt < LOG_HEARTBEAT_MS) return;
      const subject = await this.#takeCredit();
      if (subject === undefined) return;
      this.#seq += 1;
      this.ports.publish(subject, encode({ session: this.request.session, hostId: this.ports.hostId, seq: this.#seq, entries: [] } satisfies LogChunk));
      this.#lastSentAt = Date.now();
    });
    return this.#sending;
  }
}
