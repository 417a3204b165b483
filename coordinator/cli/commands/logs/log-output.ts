import { InvalidInputError } from '../../../../shared/errors.js';
import { nameSchema } from '../../../../shared/fleet-spec.js';
import { parseLogTime, type LogEntry, type LogTime } from '../../../../shared/log-stream.js';
import { printable, printableJson } from '../../render/printable.js';

/** One `SERVICE[/N]` argument. */
export interface ServiceSelector {
  readonly service: string;
  readonly instance?: number;
}

export function parseServiceSelector(text: string): ServiceSelector {
  const match = /^([^/]+)(?:\/(\d{1,5}))?$/.exec(text);
  const service = match?.[1];
  if (!match || service === undefined || !nameSchema.safeParse(service).success || (match[2] !== undefined && Number(match[2]) < 1)) {
    throw new InvalidInputError(`logs ${text}: expected SERVICE or SERVICE/N (a service name, then an instance number from 1)`);
  }
  return match[2] === undefined ? { service } : { service, instance: Number(match[2]) };
}

export function parseTimeFlag(flag: '--since' | '--until', text: string | undefined, now: Date): LogTime | undefined {
  if (text === undefined) return undefined;
  const time = parseLogTime(text, now);
  if (!time) throw new InvalidInputError(`${flag} ${text}: expected a duration back from now (10m, 2h, 1d) or a timestamp (2026-01-02T15:04:05Z)`);
  return time;
}

export function parseTail(text: string | undefined): number | undefined {
  if (text === undefined || text === 'all') return undefined;
  if (!/^\d{1,8}$/.test(text)) throw new InvalidInputError(`--tail ${text}: expected a number of lines (or "all")`);
  return Number(text);
}

/** Where an entry came from: its host and service (the service is shown when several were asked for). */
export interface EntrySource {
  readonly hostId: string;
  readonly service: string;
}

/** `h1/2` (one service asked for) or `h1/web/2`. */
export function entryPrefix(source: EntrySource, instance: number, withService: boolean): string {
  return withService ? `${source.hostId}/${source.service}/${instance}` : `${source.hostId}/${instance}`;
}

/** One line of human output, as `docker compose logs` shows it: the padded prefix, " | ", the text. */
export function renderEntry(source: EntrySource, entry: LogEntry, options: { readonly withService: boolean; readonly timestamps: boolean; readonly width: number }): string {
  const prefix = entryPrefix(source, entry.instance, options.withService).padEnd(options.width);
  const time = options.timestamps ? `${entry.time} ` : '';
  if (entry.kind === 'marker') return `${prefix} | ${time}-- ${printable(entry.text)} --`;
  return `${prefix} | ${time}${printable(entry.text)}`;
}

/** One line of --json output. */
export function entryJson(source: EntrySource, entry: LogEntry): string {
  if (entry.kind === 'marker') {
    return printableJson({ schema: 'hostwright.logmarker/v1', host: source.hostId, service: source.service, instance: entry.instance, container: entry.containerId ?? null, time: entry.time, text: entry.text });
  }
  return printableJson({ schema: 'hostwright.logline/v1', host: source.hostId, service: source.service, instance: entry.instance, container: entry.containerId, time: entry.time, stream: entry.stream, text: entry.text });
}

/** What is said about a host: it does not answer, answers again, failed, or its lines are missing. */
export type HostNotice = { readonly state: 'not-answering' | 'answering' | 'missing' } | { readonly state: 'failed'; readonly error: string };

export function renderHostNotice(hostId: string, notice: HostNotice): string {
  switch (notice.state) {
    case 'not-answering':
      return `${printable(hostId)}: not answering, retrying`;
    case 'answering':
      return `${printable(hostId)}: answering again`;
    case 'missing':
      return `${printable(hostId)}: not answering; its lines are missing`;
    case 'failed':
      return `${printable(hostId)}: ${printable(notice.error)}`;
  }
}

export function hostNoticeJson(hostId: string, notice: HostNotice): string {
  return printableJson({ schema: 'hostwright.loghost/v1', host: hostId, ...notice });
}
