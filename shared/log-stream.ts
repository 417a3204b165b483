import { z } from 'zod';
import { nameSchema } from './fleet-spec.js';

/**
 * The wire of `hostwright logs` (hw.rpc.<hostId>.logs). Every request opens or feeds one session
 * on one host: it grants the agent `credit` more chunks, answered to the request's own reply
 * subject, so the agent reads from Docker only as fast as the coordinator writes. An offset (the
 * container, the engine's timestamp and the line's index among lines of that same timestamp) is
 * where a session resumes after a reconnect or an agent restart, with no line lost or repeated.
 */

/** Chunks a request may grant: a host answers one request with at most this many messages (nats-auth.ts). */
export const MAX_LOG_CREDIT = 32;
/** The agent sends a heartbeat when it had nothing to send for this long, so a dead side is noticed. */
export const LOG_HEARTBEAT_MS = 1_000;
/** A session nobody granted credit for this long is closed by the agent (the coordinator went away). */
export const LOG_SESSION_IDLE_MS = 60_000;
/** A line longer than this is cut (the engine already splits lines at 16 KiB). */
export const MAX_LOG_LINE_BYTES = 64 * 1024;
/** Room left in a chunk for its envelope and each line's fields besides the text. */
const CHUNK_ENVELOPE_BYTES = 4 * 1024;
export const LINE_OVERHEAD_BYTES = 160;
/** Larger chunks add latency without adding throughput. */
const MAX_CHUNK_BYTES = 512 * 1024;

/** How many bytes of lines one chunk may carry within the server's max payload. */
export function chunkBudget(maxPayload: number): number {
  return Math.max(8 * 1024, Math.min(MAX_CHUNK_BYTES, maxPayload - CHUNK_ENVELOPE_BYTES));
}

/** An engine timestamp normalized to nine fraction digits (RFC3339Nano trims trailing zeros), so strings sort by time. */
const normalizedTimeSchema = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/, 'expected a UTC timestamp with nine fraction digits');
export type LogTime = z.infer<typeof normalizedTimeSchema>;

const containerIdSchema = z.string().regex(/^[0-9a-f]{12,64}$/, 'expected a container id');

/** Where a container's output was read up to: its last line's time and index among lines of that time. */
export const logOffsetSchema = z.strictObject({
  instance: z.number().int().min(1).max(10_000),
  containerId: containerIdSchema,
  time: normalizedTimeSchema,
  index: z.number().int().min(0),
});
export type LogOffset = z.infer<typeof logOffsetSchema>;

export const logRequestSchema = z.strictObject({
  /** Chosen by the coordinator; every request of one stream carries it. */
  session: z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'expected a session id'),
  project: nameSchema,
  service: nameSchema,
  /** Only this instance; absent: every instance of the service on the host. */
  instance: z.number().int().min(1).max(10_000).optional(),
  follow: z.boolean(),
  /** Normalized engine times (inclusive), as `docker logs --since/--until`. */
  since: normalizedTimeSchema.optional(),
  until: normalizedTimeSchema.optional(),
  /** Lines per container from the end of what is there, as `docker logs --tail`. */
  tail: z.number().int().min(0).max(10_000_000).optional(),
  /** Open the session afresh (from `offsets`), dropping one the agent may still hold under this id. */
  restart: z.boolean(),
  /** Per instance, the last line the coordinator has: the stream resumes after it. */
  offsets: z.array(logOffsetSchema).max(10_000),
  credit: z.number().int().min(1).max(MAX_LOG_CREDIT),
  /** The coordinator is done (interrupted): the agent closes the session and answers nothing. */
  stop: z.boolean().optional(),
});
export type LogRequest = z.infer<typeof logRequestSchema>;

export const logLineSchema = z.strictObject({
  kind: z.literal('line'),
  instance: z.number().int().min(1),
  containerId: containerIdSchema,
  time: normalizedTimeSchema,
  index: z.number().int().min(0),
  stream: z.enum(['stdout', 'stderr']),
  text: z.string(),
});
export type LogLine = z.infer<typeof logLineSchema>;

/** Something the agent says about an instance's stream (its container was replaced, it went away). */
export const logMarkerSchema = z.strictObject({
  kind: z.literal('marker'),
  instance: z.number().int().min(1),
  containerId: containerIdSchema.optional(),
  time: normalizedTimeSchema,
  text: z.string().max(1000),
});
export type LogMarker = z.infer<typeof logMarkerSchema>;

export const logEntrySchema = z.discriminatedUnion('kind', [logLineSchema, logMarkerSchema]);
export type LogEntry = z.infer<typeof logEntrySchema>;

export const logChunkSchema = z.strictObject({
  session: z.string(),
  hostId: z.string(),
  /** 1, 2, …: a gap means a chunk was lost, and the coordinator resumes from its offsets. */
  seq: z.number().int().min(1),
  entries: z.array(logEntrySchema),
  /** The history (everything up to the request, in time order) has been sent; what follows is live. */
  caughtUp: z.boolean().optional(),
  /** The stream is over (not following, or the session failed: `error` says why). */
  end: z.boolean().optional(),
  error: z.string().optional(),
});
export type LogChunk = z.infer<typeof logChunkSchema>;

const ENGINE_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/** The engine's RFC3339Nano time normalized to nine fraction digits; undefined when it is not one. */
export function normalizeEngineTime(text: string): LogTime | undefined {
  const match = ENGINE_TIME.exec(text);
  if (!match) return undefined;
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}Z`;
}

/** A Date as a normalized time (millisecond precision). */
export function logTimeOf(date: Date): LogTime {
  return `${date.toISOString().slice(0, 23)}000000Z`;
}

/** The engine's `since`/`until` query value for a normalized time: Unix seconds with nanoseconds. */
export function engineTimeParameter(time: LogTime): string {
  const seconds = Math.floor(Date.parse(`${time.slice(0, 19)}Z`) / 1000);
  return `${seconds}.${time.slice(20, 29)}`;
}

/** A `--since`/`--until` value: a duration back from now ("10m") or a timestamp (RFC 3339). */
export function parseLogTime(text: string, now: Date): LogTime | undefined {
  const duration = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (duration) {
    const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return logTimeOf(new Date(now.getTime() - Number(duration[1]) * unitMs));
  }
  const exact = normalizeEngineTime(text);
  if (exact) return exact;
  const parsed = Date.parse(text);
  return /^\d{4}-\d\d-\d\d/.test(text) && Number.isFinite(parsed) ? logTimeOf(new Date(parsed)) : undefined;
}

/** Whether a line lies after an offset of its instance (same container, later time or later index). */
export function isAfterOffset(line: Pick<LogLine, 'containerId' | 'time' | 'index'>, offset: LogOffset | undefined): boolean {
  if (!offset || offset.containerId !== line.containerId) return true;
  return line.time > offset.time || (line.time === offset.time && line.index > offset.index);
}

/** Time order; equal times by instance then index, so the order is the same on every run. */
export function compareEntries(a: LogEntry, b: LogEntry): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.instance !== b.instance) return a.instance - b.instance;
  return (a.kind === 'line' ? a.index : -1) - (b.kind === 'line' ? b.index : -1);
}

/**
 * Splits one container's raw log output (the engine's lines, each "<RFC3339Nano> <text>") into
 * lines with their per-timestamp index. Holds a partial line until its end arrives. A line equal to
 * the one before it in time, stream and text is the engine repeating itself and is dropped.
 */
export class LogLineSplitter {
  readonly #partial = { stdout: '', stderr: '' };
  #lastTime = '';
  #lastText = '';
  #lastStream: 'stdout' | 'stderr' | undefined;
  #sameTimeCount = 0;

  constructor(
    private readonly instance: number,
    private readonly containerId: string,
  ) {}

  push(text: string, stream: 'stdout' | 'stderr'): LogLine[] {
    const pieces = (this.#partial[stream] + text).split('\n');
    this.#partial[stream] = pieces.pop() ?? '';
    if (this.#partial[stream].length > MAX_LOG_LINE_BYTES) {
      pieces.push(this.#partial[stream]);
      this.#partial[stream] = '';
    }
    const lines: LogLine[] = [];
    for (const piece of pieces) {
      const line = this.#line(piece, stream);
      if (line) lines.push(line);
    }
    return lines;
  }

  /** The last line, when the output ended without a newline. */
  flush(stream: 'stdout' | 'stderr'): LogLine[] {
    const rest = this.#partial[stream];
    this.#partial[stream] = '';
    const line = rest === '' ? undefined : this.#line(rest, stream);
    return line ? [line] : [];
  }

  #line(raw: string, stream: 'stdout' | 'stderr'): LogLine | undefined {
    const space = raw.indexOf(' ');
    const time = normalizeEngineTime(space < 0 ? raw : raw.slice(0, space));
    if (!time) return undefined;
    const text = space < 0 ? '' : raw.slice(space + 1, space + 1 + MAX_LOG_LINE_BYTES).replace(/\r$/, '');
    // The engine's follow sends the last line again when it reopens a rotated file: the same time, stream and text.
    if (time === this.#lastTime && text === this.#lastText && stream === this.#lastStream) return undefined;
    this.#sameTimeCount = time === this.#lastTime ? this.#sameTimeCount + 1 : 0;
    this.#lastTime = time;
    this.#lastText = text;
    this.#lastStream = stream;
    return { kind: 'line', instance: this.instance, containerId: this.containerId, time, index: this.#sameTimeCount, stream, text };
  }
}

/**
 * The last lines shown, to drop one that arrives again: the same container, engine timestamp (to
 * the nanosecond), stream and text is the same line, whatever index a reopened read gave it (an
 * engine re-sends a line when it reopens a rotated file; a read reopened after an agent restart
 * starts its per-timestamp count afresh). Bounded: the oldest keys go first.
 */
export class RecentLines {
  readonly #keys = new Set<string>();

  constructor(private readonly capacity = 4096) {}

  /** True when this line was shown already; otherwise remembers it. */
  repeated(line: Pick<LogLine, 'containerId' | 'time' | 'stream' | 'text'>): boolean {
    const key = `${line.containerId}\u0000${line.time}\u0000${line.stream}\u0000${line.text}`;
    if (this.#keys.has(key)) return true;
    this.#keys.add(key);
    if (this.#keys.size > this.capacity) this.#keys.delete(this.#keys.values().next().value as string);
    return false;
  }
}
