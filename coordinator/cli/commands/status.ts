import type { Command } from 'commander';
import { DataDirLockedError } from '../../../shared/errors.js';
import type { HostStatus } from '../../../shared/host-status.js';
import { loadFleetFile } from '../../fleet-file.js';
import { defaultDataDir, desiredFromFleet, openLocalHost, requireLocal, type LocalOptions } from '../local-host.js';
import { fetchAgentStatus } from '../local-agent-client.js';
import { withLocalOptions } from '../options.js';
import { renderStatus, statusJson } from '../render/status-view.js';

interface StatusOptions extends LocalOptions {
  readonly file?: string;
  readonly json?: boolean;
}

export function registerStatus(program: Command): void {
  withLocalOptions(program.command('status'))
    .description('per instance: state, health and drift, observed now')
    .option('-f, --file <fleet.yaml>', 'compare against this fleet file instead of the stored desired state')
    .option('--json', 'print JSON (schema hostwright.status/v1)')
    .action(async (options: StatusOptions) => {
      requireLocal(options, 'status');
      const status = await readStatus(options);
      process.stdout.write(options.json ? `${JSON.stringify(statusJson(status), null, 2)}\n` : `${renderStatus(status)}\n`);
    });
}

async function readStatus(options: StatusOptions): Promise<HostStatus> {
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
