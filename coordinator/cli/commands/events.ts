import type { Command } from 'commander';
import { parseDurationMs } from '../../../shared/duration.js';
import { DataDirLockedError, InvalidInputError } from '../../../shared/errors.js';
import { eventTypeSchema, type HostwrightEvent } from '../../../shared/events.js';
import { Journal } from '../../../agent/store/journal.js';
import { withFleet } from '../fleet/fleet-session.js';
import { defaultDataDir, type LocalOptions } from '../local-host.js';
import { fetchAgentEvents } from '../local-agent-client.js';
import { modeOf, withLocalOptions } from '../options.js';
import { renderEvent } from '../render/events-view.js';

interface EventsOptions extends LocalOptions {
  readonly nats?: string;
  readonly json?: boolean;
  readonly follow?: boolean;
  readonly type?: string;
  readonly host?: string;
  readonly project?: string;
  readonly since?: string;
}

interface EventFilter {
  readonly type: string | undefined;
  readonly project: string | undefined;
  readonly since: string | undefined;
}

export function registerEvents(program: Command): void {
  withLocalOptions(program.command('events'))
    .description('the recorded events, oldest first')
    .option('--follow', 'keep printing new events until interrupted')
    .option('--type <type>', `only this type (${eventTypeSchema.options.join(', ')})`)
    .option('--host <id>', 'fleet mode: only this host')
    .option('--project <name>', 'only this project')
    .option('--since <duration>', 'only events newer than this, e.g. 10m, 2h')
    .option('--json', 'one JSON object per line (schema hostwright.event/v1)')
    .action(async (options: EventsOptions) => {
      const mode = modeOf(options, 'events');
      const filter = parseFilter(options);
      const print = (event: HostwrightEvent) => {
        if (!matches(event, filter)) return;
        process.stdout.write(options.json ? `${JSON.stringify({ schema: 'hostwright.event/v1', ...event })}\n` : `${renderEvent(event)}\n`);
      };
      if (mode.kind === 'fleet') {
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        process.once('SIGTERM', () => abort.abort());
        await withFleet(mode, (client) =>
          client.events({ hostId: options.host, project: filter.project, type: filter.type, since: filter.since ? new Date(filter.since) : undefined, follow: options.follow === true, signal: abort.signal }, print),
        );
        return;
      }
      await localEvents(options, print);
    });
}

async function localEvents(options: EventsOptions, print: (event: HostwrightEvent) => void): Promise<void> {
  const dataDir = options.dataDir ?? defaultDataDir();
  let journal: Journal;
  try {
    journal = await Journal.open(dataDir);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    // A running local agent holds the data dir: read through it.
    await fetchAgentEvents(dataDir, { follow: options.follow === true, onEvent: print });
    return;
  }
  try {
    let after = 0;
    for (;;) {
      const page = await journal.readEvents(after);
      page.events.forEach(({ seq: _seq, ...event }) => print(event));
      after = page.lastSeq;
      if (page.events.length > 0) continue;
      if (!options.follow) return;
      await new Promise<void>((resolve) => {
        const stop = journal.onEvents(() => {
          stop();
          resolve();
        });
        setTimeout(() => {
          stop();
          resolve();
        }, 1000);
      });
    }
  } finally {
    await journal.close();
  }
}

function parseFilter(options: EventsOptions): EventFilter {
  if (options.type !== undefined && !eventTypeSchema.safeParse(options.type).success) {
    throw new InvalidInputError(`--type ${options.type}: expected one of ${eventTypeSchema.options.join(', ')}`);
  }
  let since: string | undefined;
  if (options.since !== undefined) {
    try {
      since = new Date(Date.now() - parseDurationMs(options.since)).toISOString();
    } catch {
      throw new InvalidInputError(`--since ${options.since}: expected a duration such as 10m or 2h`);
    }
  }
  return { type: options.type, project: options.project, since };
}

function matches(event: HostwrightEvent, filter: EventFilter): boolean {
  return (filter.type === undefined || event.type === filter.type) && (filter.project === undefined || event.project === filter.project) && (filter.since === undefined || event.timestamp >= filter.since);
}
