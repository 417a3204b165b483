import { randomUUID } from 'node:crypto';
import { createInbox, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { decode, encode } from '../shared/codec.js';
import { errorMessage } from '../shared/errors.js';
import { LOG_HEARTBEAT_MS, MAX_LOG_CREDIT, RecentLines, isAfterOffset, logChunkSchema, type LogChunk, type LogEntry, type LogOffset, type LogRequest, type LogTime } from '../shared/log-stream.js';
import { logsRpcSubject } from '../shared/subjects.js';

/** What one host's stream asks for (the same on every host). */
export interface LogQuery {
  readonly project: string;
  readonly service: string;
  readonly instance?: number | undefined;
  readonly follow: boolean;
  readonly since?: LogTime | undefined;
  readonly until?: LogTime | undefined;
  readonly tail?: number | undefined;
}

/** What a host's stream tells the one merging them. */
export interface HostLogEvents {
  entries(hostId: string, entries: readonly LogEntry[]): void;
  /** The host's history (up to the request) has all arrived. */
  caughtUp(hostId: string): void;
  /** The stream is over: `error` when the agent refused or failed. */
  ended(hostId: string, error: string | undefined): void;
  /** The host stopped answering (retrying from the last offset), or answers again. */
  answering(hostId: string, answering: boolean): void;
  /** The host's entries received and not yet written: no more credit while there are many. */
  backlog(hostId: string): number;
}

/** Chunks the coordinator lets one host have in flight: it grants half again once half was taken. */
const CREDIT_WINDOW = MAX_LOG_CREDIT;
/** Entries of a host waiting to be written beyond which it is granted nothing more. */
const MAX_BACKLOG_ENTRIES = 20_000;
/** Silence after which a host counts as not answering: three missed heartbeats. */
const SILENCE_MS = 3 * LOG_HEARTBEAT_MS;
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 10_000;

/**
 * One host's side of `hostwright logs`: requests with credit on the host's logs subject, chunks back
 * on one inbox, checked in sequence. Silence or a gap restarts the session from the last offset of
 * each instance, so no line is lost or shown twice; a host that does not answer is asked again
 * with backoff for as long as the stream lasts.
 */
export class HostLogStream {
  readonly #offsets = new Map<number, LogOffset>();
  /** Where a reopened session resumes, per instance: its lines up to there are skipped, once. */
  #resumeFrom = new Map<number, LogOffset>();
  /** Lines shown lately: one that comes again (through a reopened read) is dropped. */
  readonly #recent = new RecentLines();
  #session = '';
  #expectedSeq = 1;
  /** Chunks granted and not yet received. */
  #outstanding = 0;
  #lastHeardAt = 0;
  #answering: boolean | undefined;
  #retryMs = RETRY_FIRST_MS;
  #nextRetryAt = 0;
  #caughtUp = false;
  #ended = false;
  #subscription: Subscription | undefined;
  #inbox = '';
  #watchdog: NodeJS.Timeout | undefined;

  constructor(
    readonly hostId: string,
    private readonly nc: NatsConnection,
    private readonly query: LogQuery,
    private readonly events: HostLogEvents,
    /** How long the first answer may take before the host counts as not answering. */
    private readonly firstAnswerMs: number,
  ) {}

  get ended(): boolean {
    return this.#ended;
  }

  start(): void {
    this.#open(false);
    this.#lastHeardAt = Date.now() + this.firstAnswerMs - SILENCE_MS;
    this.#watchdog = setInterval(() => this.#watch(Date.now()), 250);
  }

  /** The one merging wrote some of this host's entries: more credit may be due. */
  written(): void {
    this.#grantIfDue();
  }

  /** Ends the stream here and tells the agent (it would close the session once idle anyway). */
  stop(): void {
    if (!this.#ended) this.#send({ stop: true, credit: 1, restart: false });
    this.#finish();
  }

  #finish(): void {
    this.#ended = true;
    clearInterval(this.#watchdog);
    this.#subscription?.unsubscribe();
  }

  /** A fresh session (new inbox, new id) resuming from the offsets; chunks of an older one are ignored. */
  #open(restart: boolean): void {
    this.#subscription?.unsubscribe();
    this.#session = randomUUID();
    this.#resumeFrom = new Map(this.#offsets);
    this.#expectedSeq = 1;
    this.#outstanding = CREDIT_WINDOW;
    const session = this.#session;
    const inbox = createInbox();
    this.#subscription = this.nc.subscribe(inbox, { callback: (error, msg) => {
        if (!error) this.#receive(session, msg.data);
      },
    });
    this.#inbox = inbox;
    this.#send({ credit: CREDIT_WINDOW, restart });
  }

  #send(fields: Pick<LogRequest, 'credit' | 'restart'> & { readonly stop?: boolean }): void {
    const request: LogRequest = {
      session: this.#session,
      project: this.query.project,
      service: this.query.service,
      ...(this.query.instance === undefined ? {} : { instance: this.query.instance }),
      follow: this.query.follow,
      ...(this.query.since === undefined ? {} : { since: this.query.since }),
      ...(this.query.until === undefined ? {} : { until: this.query.until }),
      ...(this.query.tail === undefined ? {} : { tail: this.query.tail }),
      offsets: [...this.#offsets.values()],
      ...fields,
    };
    try {
      this.nc.publish(logsRpcSubject(this.hostId), encode(request), { reply: this.#inbox });
    } catch {
      // A closed or reconnecting connection: the watchdog asks again.
    }
  }

  #receive(session: string, data: Uint8Array): void {
    if (session !== this.#session || this.#ended) return;
    let chunk: LogChunk;
    try {
      chunk = decode(logChunkSchema, data, `log chunk of ${this.hostId}`);
    } catch (error) {
      this.#finishWith(`sent a chunk that cannot be read: ${errorMessage(error)}`);
      return;
    }
    if (chunk.session !== session || chunk.hostId !== this.hostId) return;
    if (chunk.seq !== this.#expectedSeq) {
      // A chunk was lost: resume from what arrived.
      this.#open(true);
      return;
    }
    this.#expectedSeq += 1;
    this.#outstanding -= 1;
    this.#heard();
    // Only what a reopened session sends again is skipped: within a stream, a container's stdout and
    // stderr lines may come slightly out of timestamp order, and none of them is a repeat.
    const fresh = chunk.entries.filter((entry) => {
      if (entry.kind === 'marker') return true;
      const resume = this.#resumeFrom.get(entry.instance);
      if (resume) {
        if (!isAfterOffset(entry, resume)) return false;
        this.#resumeFrom.delete(entry.instance);
      }
      return !this.#recent.repeated(entry);
    });
    for (const entry of fresh) {
      if (entry.kind === 'line') this.#offsets.set(entry.instance, { instance: entry.instance, containerId: entry.containerId, time: entry.time, index: entry.index });
      else if (entry.containerId !== undefined) this.#offsets.delete(entry.instance);
    }
    if (fresh.length > 0) this.events.entries(this.hostId, fresh);
    if (chunk.caughtUp && !this.#caughtUp) {
      this.#caughtUp = true;
      this.events.caughtUp(this.hostId);
    }
    if (chunk.end) {
      this.#finish();
      this.events.ended(this.hostId, chunk.error);
      return;
    }
    this.#grantIfDue();
  }

  #finishWith(error: string): void {
    this.#finish();
    this.events.ended(this.hostId, error);
  }

  #grantIfDue(): void {
    const half = CREDIT_WINDOW / 2;
    if (this.#ended || this.#outstanding > half || this.events.backlog(this.hostId) > MAX_BACKLOG_ENTRIES) return;
    this.#outstanding += half;
    this.#send({ credit: half, restart: false });
  }

  #heard(): void {
    this.#lastHeardAt = Date.now();
    this.#retryMs = RETRY_FIRST_MS;
    if (this.#answering !== true) {
      this.#answering = true;
      this.events.answering(this.hostId, true);
    }
  }

  #watch(now: number): void {
    if (this.#ended || now - this.#lastHeardAt < SILENCE_MS || now < this.#nextRetryAt) return;
    if (this.#answering !== false) {
      this.#answering = false;
      this.events.answering(this.hostId, false);
    }
    this.#nextRetryAt = now + this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    this.#open(true);
  }
}
