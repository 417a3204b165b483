import type { RolloutView } from './dashboard-types.js';

/** How long the hosts of one revision took from its write to healthy. */
export interface ConvergeTime {
  readonly revision: number;
  readonly hosts: number;
  readonly medianMs: number;
  readonly maxMs: number;
}

/**
 * Converge time per written revision: from a host's start (its document written) to the time it
 * was first seen healthy. Hosts not yet healthy are left out. Sorted by revision.
 */
export function convergeTimes(rollout: RolloutView): ConvergeTime[] {
  const byRevision = new Map<number, number[]>();
  for (const host of rollout.hosts) {
    if (host.writtenRevision === undefined || host.startedAt === undefined || host.healthySince === undefined) continue;
    const ms = Date.parse(host.healthySince) - Date.parse(host.startedAt);
    if (!Number.isFinite(ms)) continue;
    byRevision.set(host.writtenRevision, [...(byRevision.get(host.writtenRevision) ?? []), Math.max(0, ms)]);
  }
  return [...byRevision]
    .sort(([a], [b]) => a - b)
    .map(([revision, durations]) => {
      const sorted = [...durations].sort((a, b) => a - b);
      return { revision, hosts: sorted.length, medianMs: median(sorted), maxMs: sorted[sorted.length - 1]! };
    });
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** "850 ms", "12.3 s", "4 m 05 s": a duration for people. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalS = Math.round(ms / 1000);
  const m = Math.floor(totalS / 60);
  return m < 60 ? `${m} m ${String(totalS % 60).padStart(2, '0')} s` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}
