import { watch } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, basename } from 'node:path';
import type { Logger } from 'pino';
import { AgentLoop } from '../agent/agent-loop.js';
import { wakeOnRuntimeEvents } from '../agent/runtime-triggers.js';
import { startControlServer } from '../agent/control-server.js';
import { errorMessage } from '../shared/errors.js';
import type { LocalHost } from './cli/local-host.js';
import type { LocalOptions } from './cli/options.js';
import { desiredFromFleet } from './cli/local-host.js';
import { loadFleetFile } from './fleet-file.js';
import { DockerRuntime } from '../agent/runtime/docker-runtime.js';

export interface LocalAgentOptions extends LocalOptions {
  readonly file: string;
  readonly dataDir: string;
  readonly resyncMs: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/**
 * The daemon form of local mode: the fleet file is the desired state; the loop runs on Docker
 * events, on changes of the file and on a periodic resync, until the signal aborts.
 */
export async function runLocalAgent(host: LocalHost, options: LocalAgentOptions): Promise<void> {
  const log = options.logger;
  const loop = new AgentLoop(host.reconciler, host.journal, {
    resyncMs: options.resyncMs,
    logger: log.child({ component: 'loop' }),
    onCycle: (report) => {
      if (report instanceof Error) return;
      const changed = report.results.length;
      if (changed > 0 || report.blocks.length > 0) log.info({ correlationID: report.correlationID, actions: changed, failed: report.failed, blocked: report.blocks.length }, 'reconciled');
    },
  });

  const loadDesired = async (reason: string): Promise<void> => {
    try {
      const fleet = await loadFleetFile(options.file);
      const correlationID = randomUUID();
      const { document, changed } = await desiredFromFleet(host, fleet, { ...options, correlationID });
      if (changed) {
        await host.journal.putDesired(document);
        log.info({ project: document.project, revision: document.revision, correlationID }, 'desired state changed');
        loop.trigger(reason, { correlationID });
      }
    } catch (error) {
      // A bad edit of the fleet file keeps the last good desired state running.
      log.error({ file: options.file, error: errorMessage(error) }, 'fleet file rejected; keeping the last good desired state');
    }
  };

  await loadDesired('start');
  wakeOnRuntimeEvents(new DockerRuntime(), host.reconciler, loop, log, options.signal);

  let fileTimer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(options.file), (_kind, name) => {
    if (name !== null && name !== basename(options.file)) return;
    clearTimeout(fileTimer);
    fileTimer = setTimeout(() => void loadDesired('fleet-file'), 200);
  });
  const server = await startControlServer(options.dataDir, host.reconciler, host.journal, log.child({ component: 'control' }));
  loop.start();
  log.info({ hostId: host.hostId, dataDir: options.dataDir, file: options.file }, 'agent running');

  // A stop requested during startup has already fired its event: check before waiting for it.
  if (!options.signal.aborted) await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  log.info('stopping: finishing the cycle in flight');
  watcher.close();
  clearTimeout(fileTimer);
  await loop.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
