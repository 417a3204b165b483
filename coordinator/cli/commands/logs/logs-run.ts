import { HostwrightError, InvalidInputError } from '../../../../shared/errors.js';
import { nameSchema } from '../../../../shared/fleet-spec.js';
import { TimeMerge } from '../../../../shared/log-merge.js';
import { compareEntries, type LogEntry } from '../../../../shared/log-stream.js';
import type { FleetClient } from '../../../fleet-client.js';
import { HostLogStream, type LogQuery } from '../../../host-log-stream.js';
import { EXIT } from '../../exit-codes.js';
import { withFleet } from '../../../fleet-session.js';
import type { FleetTarget } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import type { LogsOptions } from './options.js';
import { entryJson, entryPrefix, hostNoticeJson, parseServiceSelector, parseTail, parseTimeFlag, renderEntry, renderHostNotice, type EntrySource, type HostNotice, type ServiceSelector } from './log-output.js';

/** One stream: a host and one of the selectors asked for. */
interface StreamSource extends EntrySource {
  readonly key: string;
  readonly stream: HostLogStream;
}

interface Merged {
  readonly source: StreamSource;
  readonly entry: LogEntry;
}

/**
 * `logs SERVICE[/N]…`: one stream per host the service runs on (by its desired state), each read
 * by that host's agent over NATS; their histories merged in time order, then live lines as they
 * come. A host that does not answer is named and asked again while the others stream.
 */
export async function logsOnFleet(target: FleetTarget, selectorsText: readonly string[], options: LogsOptions): Promise<void> {
  const selectors = selectorsText.map(parseServiceSelector);
  const now = new Date();
  const since = parseTimeFlag('--since', options.since, now);
  const until = parseTimeFlag('--until', options.until, now);
  const tail = parseTail(options.tail);
  const firstAnswerMs = parseTimeout(options.timeout, '--timeout');
  if (options.project !== undefined && !nameSchema.safeParse(options.project).success) throw new InvalidInputError(`logs --project ${options.project}: not a project name`);
  const follow = options.follow === true && until === undefined;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const failed = await withFleet(target, async (client) => {
    const placements = await placementsOf(client, options.project, selectors, options.host);
    const streams: StreamSource[] = [];
    const merge = new TimeMerge<string, Merged>((a, b) => compareEntries(a.entry, b.entry) || (a.source.key < b.source.key ? -1 : a.source.key > b.source.key ? 1 : 0));
    const bySourceKey = new Map<string, StreamSource>();
    const missing = new Set<string>();
    const problems: string[] = [];
    const withService = new Set(selectors.map((selector) => selector.service)).size > 1;
    let width = 0;
    for (const placement of placements) for (const hostId of placement.hostIds) width = Math.max(width, entryPrefix({ hostId, service: placement.selector.service }, 1, withService).length + 1);
    const notice = (hostId: string, said: HostNotice): void => {
      if (options.json) process.stdout.write(`${hostNoticeJson(hostId, said)}\n`);
      else process.stderr.write(`${renderHostNotice(hostId, said)}\n`);
    };
    let wake: (() => void) | undefined;
    const poke = (): void => wake?.();
    const events = {
      entries: (key: string, entries: readonly LogEntry[]) => {
        const source = bySourceKey.get(key) as StreamSource;
        merge.push(key, entries.map((entry) => ({ source, entry })));
        poke();
      },
      caughtUp: (key: string) => {
        merge.finish(key);
        poke();
      },
      ended: (key: string, error: string | undefined) => {
        merge.finish(key);
        if (error !== undefined) {
          const source = bySourceKey.get(key) as StreamSource;
          problems.push(key);
          notice(source.hostId, { state: 'failed', error: `${source.service}: ${error}` });
        }
        poke();
      },
      answering: (key: string, answering: boolean) => {
        const source = bySourceKey.get(key) as StreamSource;
        // Said once per host, not per service asked for.
        if (!answering) {
          merge.setCounted(key, false);
          if (!missing.has(source.hostId)) notice(source.hostId, { state: 'not-answering' });
          missing.add(source.hostId);
        } else if (missing.has(source.hostId)) {
          missing.delete(source.hostId);
          notice(source.hostId, { state: 'answering' });
        }
        poke();
      },
      backlog: (key: string) => merge.waiting(key),
    };
    const query = (selector: ServiceSelector, project: string): LogQuery => ({ project, service: selector.service, instance: selector.instance, follow, since, until, tail });
    for (const placement of placements) {
      for (const hostId of placement.hostIds) {
        const key = `${hostId}\u0000${placement.selector.service}\u0000${placement.selector.instance ?? ''}`;
        const stream = new HostLogStream(hostId, client.connection.nc, query(placement.selector, placement.project), {
          entries: (_hostId, entries) => events.entries(key, entries),
          caughtUp: () => events.caughtUp(key),
          ended: (_hostId, error) => events.ended(key, error),
          answering: (_hostId, answering) => events.answering(key, answering),
          backlog: () => events.backlog(key),
        }, firstAnswerMs);
        const source: StreamSource = { key, hostId, service: placement.selector.service, stream };
        streams.push(source);
        bySourceKey.set(key, source);
        merge.add(key);
      }
    }
    abort.signal.addEventListener('abort', poke, { once: true });
    for (const source of streams) source.stream.start();
    try {
      for (;;) {
        const released = merge.take();
        for (const { source, entry } of released) {
          const text = options.json ? entryJson(source, entry) : renderEntry(source, entry, { withService, timestamps: options.timestamps === true, width });
          if (!process.stdout.write(`${text}\n`)) await new Promise((resolve) => process.stdout.once('drain', resolve));
        }
        if (released.length > 0) for (const source of streams) source.stream.written();
        if (abort.signal.aborted) break;
        // Without -f it is over once every stream ended or does not answer, and nothing is left to write.
        if (!follow && released.length === 0 && streams.every((source) => source.stream.ended || missing.has(source.hostId))) break;
        if (released.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      for (const source of streams) source.stream.stop();
    }
    for (const hostId of missing) notice(hostId, { state: 'missing' });
    return missing.size > 0 || problems.length > 0;
  });
  if (failed) process.exitCode = EXIT.error;
}

interface Placement {
  readonly project: string;
  readonly selector: ServiceSelector;
  readonly hostIds: readonly string[];
}

/** For each selector, its project and the hosts whose desired state runs the service (--host narrows them). */
async function placementsOf(client: FleetClient, project: string | undefined, selectors: readonly ServiceSelector[], onlyHosts: readonly string[]): Promise<Placement[]> {
  const byHost = await client.desiredProjectsByHost();
  const keys = [...byHost].flatMap(([hostId, projects]) => projects.filter((name) => project === undefined || name === project).map((name) => ({ hostId, project: name })));
  const documents = await client.currentDesired(keys);
  for (const hostId of onlyHosts) if (!byHost.has(hostId)) throw new InvalidInputError(`logs --host ${hostId}: no such host holds desired state (known: ${[...byHost.keys()].sort().join(', ') || 'none'})`);
  return selectors.map((selector) => {
    const running = documents.filter((document) => selector.service in document.services && Object.keys(document.services).length > 0);
    const projects = [...new Set(running.map((document) => document.project))].sort();
    if (projects.length === 0) throw new HostwrightError(`logs: no host runs a service ${selector.service}${project === undefined ? '' : ` of project ${project}`} (by its desired state)`);
    if (projects.length > 1) throw new InvalidInputError(`logs: service ${selector.service} is in projects ${projects.join(', ')}: pass --project NAME`);
    const chosen = projects[0] as string;
    const hostIds = running.filter((document) => document.project === chosen && (onlyHosts.length === 0 || onlyHosts.includes(document.hostId))).map((document) => document.hostId).sort();
    if (hostIds.length === 0) throw new HostwrightError(`logs: service ${selector.service} of project ${chosen} runs on none of the hosts ${onlyHosts.join(', ')} (by its desired state)`);
    return { project: chosen, selector, hostIds };
  });
}
