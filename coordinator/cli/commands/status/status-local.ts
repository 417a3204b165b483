import { DataDirLockedError } from '../../../../shared/errors.js';
import { isGone, type HostStatus } from '../../../../shared/host-status.js';
import { desiredFromFleet, openLocalHost } from '../../local-host.js';
import { defaultDataDir } from '../../options.js';
import { fetchAgentStatus } from '../../local-agent-client.js';
import { usePrivateUmask } from '../../private-umask.js';
import { renderStatus, statusJson } from '../../render/status-view.js';
import type { StatusOptions } from './options.js';
import { hasFile } from '../../options.js';
import { readWorkload } from '../../workload.js';
import { printableJson } from '../../render/printable.js';

/** `status --local`: this machine observed against its stored (or the given) desired state. */
export async function statusLocal(options: StatusOptions): Promise<void> {
  // Opens the journal: what LevelDB creates later is 0600 too (process-wide, so set here and not in Journal).
  usePrivateUmask();
  const read = await readLocalStatus(options);
  // A removed project nothing is left of is no row (shared/host-status.ts isGone).
  const status = { ...read, projects: read.projects.filter((project) => !isGone(project)) };
  process.stdout.write(options.json ? `${printableJson(statusJson(status), 2)}\n` : `${renderStatus(status)}\n`);
}

async function readLocalStatus(options: StatusOptions): Promise<HostStatus> {
  const fleet = hasFile(options) ? (await readWorkload(options)).fleet : undefined;
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
