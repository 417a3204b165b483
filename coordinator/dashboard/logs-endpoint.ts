import type { ServerResponse } from 'node:http';
import type { DashboardLogLine } from '../../shared/dashboard-api.js';
import { InvalidInputError } from '../../shared/errors.js';
import type { LogEntry } from '../../shared/log-stream.js';
import type { FleetClient } from '../fleet-client.js';
import { HostLogStream } from '../host-log-stream.js';
import { EVENT_STREAM_HEADERS, sseMessage } from './live-hub.js';
import { isHostId, isProjectName } from './project-view.js';

/** GET /api/logs's query. */
export interface LogsQuery {
  readonly host: string;
  readonly project: string;
  readonly service: string;
  readonly instance: number | undefined;
  readonly tail: number;
  readonly follow: boolean;
  readonly grep: string | undefined;
  readonly download: boolean;
}

const DEFAULT_TAIL = 200;
const MAX_TAIL = 10_000;
/** How long a host may take to answer first before it counts as not answering. */
const FIRST_ANSWER_MS = 5_000;
/** Bytes waiting for a slow browser beyond which the host is granted no more lines. */
const MAX_WAITING_BYTES = 4 * 1024 * 1024;

/** Pure: the query of GET /api/logs; what is missing or wrong is an InvalidInputError saying what to pass. */
export function parseLogsQuery(query: URLSearchParams): LogsQuery {
  const host = query.get('host') ?? '';
  const project = query.get('project') ?? '';
  const service = query.get('service') ?? '';
  if (!isHostId(host)) throw new InvalidInputError('host=: expected the host id whose logs to read');
  if (!isProjectName(project)) throw new InvalidInputError('project=: expected the project name');
  if (!isProjectName(service)) throw new InvalidInputError('service=: expected the service name');
  const instanceText = query.get('instance');
  const instance = instanceText === null || instanceText === '' ? undefined : Number(instanceText);
  if (instance !== undefined && (!Number.isInteger(instance) || instance < 1)) throw new InvalidInputError(`instance=${instanceText}: expected an instance number (1, 2, …)`);
  const tailText = query.get('tail');
  const tail = tailText === null || tailText === '' ? DEFAULT_TAIL : Number(tailText);
  if (!Number.isInteger(tail) || tail < 0 || tail > MAX_TAIL) throw new InvalidInputError(`tail=${tailText}: expected a whole number from 0 to ${MAX_TAIL}`);
  const download = query.get('download') === '1';
  return { host, project, service, instance, tail, follow: !download && query.get('follow') === '1', grep: query.get('grep') || undefined, download };
}

/** Pure: an agent's log entry as the page shows it. */
export function logLine(entry: LogEntry): DashboardLogLine {
  return { at: entry.time, stream: entry.kind === 'line' ? entry.stream : 'marker', text: entry.text, instance: entry.instance };
}

/**
 * Streams one service's logs on one host (the agent's logs subject, as `hostwright logs` reads
 * them) as server-sent events, or as a text file with download=1. The lines are the agent's; the
 * filter is applied here. Ends when the host's stream ends or the browser goes away.
 */
export function serveLogs(client: FleetClient, query: LogsQuery, response: ServerResponse): void {
  if (query.download) {
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Disposition': `attachment; filename="${query.host}-${query.project}-${query.service}${query.instance === undefined ? '' : `-${query.instance}`}.log"` });
  } else {
    response.writeHead(200, EVENT_STREAM_HEADERS);
    response.write('retry: 1000\n\n');
  }
  const write = (line: DashboardLogLine) => response.write(query.download ? `${line.at} ${line.instance} ${line.stream} ${line.text}\n` : sseMessage('line', line));
  let ended = false;
  const end = (error: string | undefined) => {
    if (ended) return;
    ended = true;
    if (!query.download) response.write(sseMessage('end', error === undefined ? {} : { error }));
    else if (error !== undefined) response.write(`# ${error}\n`);
    response.end();
  };
  const stream = new HostLogStream(query.host, client.connection.nc, { project: query.project, service: query.service, instance: query.instance, follow: query.follow, tail: query.tail }, {
    entries: (_hostId, entries) => {
      for (const entry of entries) if (query.grep === undefined || entry.text.includes(query.grep)) write(logLine(entry));
      stream.written();
    },
    caughtUp: () => undefined,
    ended: (_hostId, error) => end(error),
    answering: (_hostId, answering) => {
      if (!query.download) response.write(sseMessage('answering', { answering }));
      // Without follow a host that does not answer ends the read, as `logs` gives up on it.
      if (!answering && !query.follow) {
        stream.stop();
        end(`host ${query.host} does not answer`);
      }
    },
    backlog: () => (response.writableLength > MAX_WAITING_BYTES ? Number.MAX_SAFE_INTEGER : 0),
  }, FIRST_ANSWER_MS);
  response.on('close', () => stream.stop());
  response.on('drain', () => stream.written());
  stream.start();
}
