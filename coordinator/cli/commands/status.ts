import type { Command } from 'commander';
import { DataDirLockedError } from '../../../shared/errors.js';
import type { HostStatus } from '../../../shared/host-status.js';
import { loadFleetFile } from '../../fleet-file.js';
import type { FleetClient } from '../../fleet-client.js';
import { fleetStatus, renderFleetStatus } from '../fleet/fleet-status.js';
import { withFleet } from '../fleet/fleet-session.js';
import { defaultDataDir, desiredFromFleet, openLocalHost, type LocalOptions } from '../local-host.js';
import { fetchAgentStatus } from '../local-agent-client.js';
import { modeOf, withLocalOptions } from '../options.js';
import { renderStatus, statusJson } from '../render/status-view.js';

interface StatusOptions extends LocalOptions {
  readonly file?: string;
  readonly nats?: string;
  readonly host?: string;
  readonly watch?: boolean;
  readonly json?: boolean;
}

export function registerStatus(program: Command): void {
  withLocalOptions(program.command('status'))
    .description('per host and instance: converged?, revisions, state, health, drift, last seen')
    .option('-f, --file <fleet.yaml>', 'local mode: compare against this fleet file instead of the stored desired state')
    .option('--host <id>', 'fleet mode: only this host')
    .option('--watch', 'fleet mode: keep printing as hosts report changes (Ctrl-C stops)')
    .option('--json', 'print JSON (local: hostwright.status/v1; fleet: hostwright.fleetstatus/v1; with --watch one object per line)')
    .action(async (options: StatusOptions) => {
      const mode = modeOf(options, 'status');
      if (mode.kind === 'local') {
        const status = await readLocalStatus(options);
        process.stdout.write(options.json ? `${JSON.stringify(statusJson(status), null, 2)}\n` : `${renderStatus(status)}\n`);
        return;
      }
      await withFleet(mode, (client) => (options.watch ? watchFleet(client, options) : printFleet(client, options)));
    });
}

async function printFleet(client: FleetClient, options: StatusOptions): Promise<void> {
  const hosts = fleetStatus(await client.hosts(), await client.statuses(), options.host);
  process.stdout.write(options.json ? `${JSON.stringify({ schema: 'hostwright.fleetstatus/v1', hosts }, null, 2)}\n` : `${renderFleetStatus(hosts)}\n`);
}

/** Re-reads and prints whenever a host's status or heartbeat changes, until interrupted. */
async function watchFleet(client: FleetClient, options: StatusOptions): Promise<void> {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  let last = '';
  const print = async () => {
    const hosts = fleetStatus(await client.hosts(), await client.statuses(), options.host);
    const text = options.json ? JSON.stringify({ schema: 'hostwright.fleetstatus/v1', at: new Date().toISOString(), hosts }) : renderFleetStatus(hosts);
    const comparable = options.json ? JSON.stringify(hosts.map((h) => ({ ...h, heartbeatAt: null, reportedAt: null, status: h.status ? { ...h.status, observedAt: '' } : null }))) : text.replace(/\d+[smh] ago/g, '');
    if (comparable === last) return;
    last = comparable;
    process.stdout.write(options.json ? `${text}\n` : `\n${new Date().toISOString()}\n${text}\n`);
  };
  await print();
  const watchers = await Promise.all([client.connection.status.watch({ include: 'updates' }), client.connection.hosts.watch({ include: 'updates' })]);
  abort.signal.addEventListener('abort', () => watchers.forEach((watcher) => watcher.stop()), { once: true });
  await Promise.all(watchers.map(async (watcher) => {
    for await (const entry of watcher) {
      if (entry) await print();
    }
  }));
}

async function readLocalStatus(options: StatusOptions): Promise<HostStatus> {
  const fleet = options.file ? await loadFleetFile(options.file) : undefined;
  let host;
  try {
    host = await openLocalHost(options);
  } catch (error) {
    // A running local agent holds the data dir: ask it instead.
    if (error instanceof DataDirLockedError && !fleet) return fetchAgentStatus(options.dataDir ?? defaultDataDir());
    throw error;
  }
  try {
    if (!fleet) return await host.reconciler.observeStatus();
    const { document } = await desiredFromFleet(host, fleet, options);
    const others = (await host.journal.desiredDocuments()).filter((candidate) => candidate.project !== document.project);
    return await host.reconciler.observeStatus([...others, document]);
  } finally {
    await host.close();
  }
}
