import { compareStrings } from '../../../shared/compare.js';
import type { HostDesired } from '../../../shared/host-desired.js';
import { isGone } from '../../../shared/host-status.js';
import type { StatusReport } from '../../../shared/wire.js';
import { printable } from '../render/printable.js';
import { renderTable, shortId } from '../render/table.js';

/** One instance as `ps` lists it (schema hostwright.ps/v1, docs/json.md). */
export interface PsRow {
  readonly hostId: string;
  readonly project: string;
  readonly service: string;
  readonly instance: number;
  readonly name: string;
  readonly containerId: string | null;
  readonly state: string;
  readonly health: string;
  /** The image the desired document names; null when the host's document is not at hand. */
  readonly image: string | null;
  /** The image id the container runs (sha256:…), when the host reported it. */
  readonly imageId: string | null;
  /** The service's ports as the desired document declares them. */
  readonly ports: readonly string[];
  readonly restartCount: number | null;
  /** When the container's main process last started (ISO); null when the host did not report it. */
  readonly startedAt: string | null;
  /** Seconds since startedAt for a running instance (by this machine's clock, at least 0); null otherwise. */
  readonly uptimeSeconds: number | null;
  readonly drift: readonly string[];
  /** The host's report is older than the heartbeat allows: the row may be out of date. */
  readonly stale: boolean;
}

/**
 * Pure: every instance the hosts report, filtered by project and host, sorted by host, project,
 * service and instance; image and ports come from the document each host was told.
 */
export function psRows(reports: readonly StatusReport[], documents: readonly HostDesired[], filter: { readonly project?: string | undefined; readonly hostId?: string | undefined }, staleHosts: ReadonlySet<string>, now: number): PsRow[] {
  const documentOf = new Map(documents.map((document) => [`${document.hostId}\u0000${document.project}`, document]));
  const rows: PsRow[] = [];
  for (const report of reports) {
    if (filter.hostId !== undefined && report.hostId !== filter.hostId) continue;
    for (const project of report.status.projects) {
      if ((filter.project !== undefined && project.project !== filter.project) || isGone(project)) continue;
      const document = documentOf.get(`${report.hostId}\u0000${project.project}`);
      for (const instance of project.instances) {
        const spec = document?.services[instance.service];
        const started = instance.startedAt === undefined ? Number.NaN : Date.parse(instance.startedAt);
        rows.push({
          hostId: report.hostId,
          project: project.project,
          service: instance.service,
          instance: instance.instance,
          name: instance.name,
          containerId: instance.containerId ?? null,
          state: instance.state,
          health: instance.health,
          image: spec?.image ?? null,
          imageId: instance.imageId ?? null,
          ports: spec?.ports ?? [],
          restartCount: instance.restartCount ?? null,
          startedAt: instance.startedAt ?? null,
          uptimeSeconds: instance.state === 'running' && !Number.isNaN(started) ? Math.max(0, Math.floor((now - started) / 1000)) : null,
          drift: instance.drift,
          stale: staleHosts.has(report.hostId),
        });
      }
    }
  }
  return rows.sort((a, b) => compareStrings(a.hostId, b.hostId) || compareStrings(a.project, b.project) || compareStrings(a.service, b.service) || a.instance - b.instance);
}

/** `ps` for a person: one line per instance (every cell shown printable by renderTable). */
export function renderPs(rows: readonly PsRow[], filter: { readonly project?: string | undefined; readonly hostId?: string | undefined }): string {
  if (rows.length === 0) return `No instances${filter.project === undefined ? '' : ` of project ${printable(filter.project)}`}${filter.hostId === undefined ? '' : ` on host ${printable(filter.hostId)}`} are reported.`;
  const table = renderTable(
    ['HOST', 'PROJECT', 'SERVICE', 'INSTANCE', 'STATE', 'HEALTH', 'UP', 'IMAGE', 'PORTS', 'RESTARTS', 'CONTAINER'],
    rows.map((row) => [row.hostId, row.project, row.service, row.instance, `${row.state}${row.drift.length > 0 ? ` (${row.drift.join(',')})` : ''}`, row.health, row.uptimeSeconds === null ? '-' : uptime(row.uptimeSeconds), row.image ?? '-', row.ports.join(',') || '-', row.restartCount ?? '-', shortId(row.containerId ?? undefined)]),
  );
  const stale = [...new Set(rows.filter((row) => row.stale).map((row) => row.hostId))];
  return stale.length > 0 ? `${table}\n\nSTALE: ${stale.map((hostId) => printable(hostId)).join(', ')} sent no heartbeat lately; their rows may be out of date.` : table;
}

/** `45s`, `12m`, `3h`, `2d`: the largest whole unit. */
export function uptime(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
