import { statSync, watch } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { CycleReport } from '../agent/cycle.js';
import type { AgentDaemon, DesiredSource } from '../agent/daemon.js';
import { errorMessage } from '../shared/errors.js';
import { desiredFromFleet, type LocalPlacement } from './local-desired.js';
import { loadWorkload, watchedNames, type WorkloadSource } from './workload-file.js';

/** How long the file must rest after a change before it is read (editors write in several steps). */
const SETTLE_MS = 200;

/**
 * A fleet file (or compose files) as a daemon's desired-state source (local mode's agent): read before
 * the first cycle and again whenever one changes; a broken edit is refused and the last good state runs on.
 */
export class FleetFileSource implements DesiredSource {
  #logger: Logger | undefined;

  constructor(
    private readonly source: WorkloadSource,
    private readonly placement: LocalPlacement,
  ) {}

  async start(daemon: AgentDaemon): Promise<void> {
    this.#logger = daemon.options.logger;
    await this.#load(daemon, 'start');
  }

  async run(daemon: AgentDaemon): Promise<void> {
    const { signal } = daemon.options;
    let timer: NodeJS.Timeout | undefined;
    // The first file's directory: where compose.yaml, its override and .env sit.
    const names = watchedNames(this.source.files);
    const first = this.source.files[0] ?? '.';
    const watcher = watch(isDirectory(first) ? first : dirname(first), (_kind, name) => {
      if (name !== null && !names.has(name)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void this.#load(daemon, 'fleet-file'), SETTLE_MS);
    });
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    watcher.close();
    clearTimeout(timer);
  }

  /** A cycle that changed or blocked something is worth a log line; a quiet resync is not. */
  onCycle(report: CycleReport | Error): void {
    if (report instanceof Error || (report.results.length === 0 && report.blocks.length === 0)) return;
    this.#logger?.info({ correlationID: report.correlationID, actions: report.results.length, failed: report.failed, blocked: report.blocks.length }, 'reconciled');
  }

  async #load(daemon: AgentDaemon, reason: string): Promise<void> {
    const log = daemon.options.logger;
    try {
      const { fleet, warnings } = await loadWorkload(this.source);
      for (const warning of warnings) log.warn({ files: this.source.files }, warning);
      const correlationID = randomUUID();
      const { document, changed } = await desiredFromFleet(daemon.host, fleet, { ...this.placement, correlationID });
      if (!changed) return;
      await daemon.host.journal.putDesired(document);
      log.info({ project: document.project, revision: document.revision, correlationID }, 'desired state changed');
      daemon.loop.trigger(reason, { correlationID });
    } catch (error) {
      // A bad edit of the fleet file keeps the last good desired state running.
      log.error({ files: this.source.files, error: errorMessage(error) }, 'fleet file rejected; keeping the last good desired state');
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
