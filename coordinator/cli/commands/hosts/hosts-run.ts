import { isStale, withFleet } from '../../../fleet-session.js';
import { modeOf } from '../../options.js';
import { renderHosts } from '../../render/hosts-view.js';
import type { HostsOptions } from './options.js';
import { printableJson } from '../../render/printable.js';
import { compareStrings } from '../../../../shared/compare.js';
import { effectiveLabels } from '../../../../shared/host-control.js';

/**
 * `hosts`: every registered host, sorted by id, with the cordon and labels the coordinator set; a
 * registration that failed its checks is listed as refused, and so is a host control that did.
 */
export async function listHosts(options: HostsOptions): Promise<void> {
  const mode = modeOf(options, 'hosts');
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    const [reports, { controls, refused: refusedControls }] = await Promise.all([client.hostReports(), client.hostControls()]);
    reports.sort((a, b) => compareStrings(a.hostId, b.hostId));
    const hosts = reports.flatMap((report) => {
      if (!report.value) return [];
      const control = controls.get(report.hostId)?.control;
      return [{ ...report.value, trust: report.trust.verdict, coordinatorLabels: control?.labels ?? {}, effectiveLabels: effectiveLabels(report.value.labels, control), cordon: control?.cordon ?? null, drain: control?.drain ?? null }];
    });
    const refused = reports.flatMap((report) => (report.trust.verdict === 'refused' ? [{ hostId: report.hostId, reason: report.trust.reason }] : []));
    const controlsRefused = refusedControls.map((entry) => ({ hostId: entry.hostId, reason: entry.reason }));
    if (options.json) {
      process.stdout.write(`${printableJson({ schema: 'hostwright.hosts/v1', hosts: hosts.map((host) => ({ ...host, stale: isStale(host) })), refused, refusedControls: controlsRefused }, 2)}\n`);
      return;
    }
    process.stdout.write(`${renderHosts(hosts, refused, Date.now(), controlsRefused)}\n`);
  });
}
