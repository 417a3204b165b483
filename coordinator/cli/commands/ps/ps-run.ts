import { acceptedValues } from '../../../../shared/host-report.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { psRows, renderPs } from '../../fleet/fleet-ps.js';
import { isStale, withFleet } from '../../../fleet-session.js';
import { modeOf } from '../../options.js';
import { projectOf } from '../../project-option.js';
import { printableJson } from '../../render/printable.js';
import type { PsOptions } from './options.js';

/** `ps`: the instances the hosts report, with the image and ports their desired documents name. */
export async function runPs(options: PsOptions): Promise<void> {
  const mode = modeOf(options, 'ps');
  if (mode.kind !== 'fleet') return;
  const project = await projectOf('ps', options, false);
  await withFleet(mode, async (client) => {
    if (options.host !== undefined) requireKnownHost('--host', options.host, await client.knownHostIds());
    const [reports, registrations] = await Promise.all([client.statusReports(), client.hosts()]);
    const statuses = acceptedValues(reports);
    const keys = statuses.flatMap((report) => (options.host !== undefined && report.hostId !== options.host ? [] : report.status.projects.filter((entry) => project === undefined || entry.project === project).map((entry) => ({ hostId: report.hostId, project: entry.project }))));
    const documents = keys.length > 0 ? await client.currentDesired(keys) : [];
    const registered = new Map(registrations.map((host) => [host.hostId, host]));
    const stale = new Set(statuses.map((report) => report.hostId).filter((hostId) => isStale(registered.get(hostId))));
    const filter = { project, hostId: options.host };
    const rows = psRows(statuses, documents, filter, stale, Date.now());
    process.stdout.write(options.json ? `${printableJson({ schema: 'hostwright.ps/v1', ...(project === undefined ? {} : { project }), ...(options.host === undefined ? {} : { hostId: options.host }), instances: rows }, 2)}\n` : `${renderPs(rows, filter)}\n`);
  });
}
