// Runs the journal's retention in the background of a daemon: a pass shortly after start, then one per
// interval, each told what exists on the host (one list call per kind) and the time by the retention clock.
import type { Logger } from 'pino';
import { LABELS } from '../shared/labels.js';
import { errorMessage } from '../shared/errors.js';
import { sleep } from '../shared/sleep.js';
import type { RuntimeAdapter, RuntimeResourceSummary } from './runtime/runtime-adapter.js';
import type { Journal } from './store/journal.js';
import { DEFAULT_RETENTION, type LiveObjects, type LiveSet, type PruneReport, type RetentionPolicy } from './store/retention.js';

export interface RetentionSchedule {
  readonly policy?: RetentionPolicy;
  /** Between passes (default 10 minutes); the first runs FIRST_PASS_DELAY_MS after start, or sooner when the interval is shorter. */
  readonly intervalMs?: number;
  /** The retention clock: what "now" is when judging a record's age (the soak compresses it). */
  readonly clock?: () => Date;
  /** Told after every pass (tests, the soak), with LevelDB's memory estimate then (Journal.levelMemoryBytes). */
  readonly onPass?: (report: PruneReport, levelMemoryBytes: number) => void;
}

export const DEFAULT_RETENTION_INTERVAL_MS = 10 * 60_000;
const FIRST_PASS_DELAY_MS = 30_000;

/** What exists on the host now, from one list call per kind. */
export function liveObjectsOf(runtime: RuntimeAdapter): () => Promise<LiveObjects> {
  return async () => {
    const [containers, networks, volumes] = await Promise.all([runtime.listContainers(), runtime.listNetworks(), runtime.listVolumes()]);
    return { containers: liveSet(containers), networks: liveSet(networks), volumes: liveSet(volumes) };
  };
}

function liveSet(summaries: readonly Pick<RuntimeResourceSummary, 'id' | 'labels'>[]): LiveSet {
  return { ids: new Set(summaries.map((summary) => summary.id)), ownerTokens: new Set(summaries.flatMap((summary) => summary.labels[LABELS.ownerToken] ?? [])) };
}

/**
 * Prunes the journal until the signal aborts. A pass that fails (the engine did not answer the
 * listing, a write failed) is logged and tried again at the next interval; the cycle never waits on it.
 */
export async function runRetention(journal: Journal, runtime: RuntimeAdapter, outboxPublished: boolean, schedule: RetentionSchedule, logger: Logger, signal: AbortSignal): Promise<void> {
  const intervalMs = schedule.intervalMs ?? DEFAULT_RETENTION_INTERVAL_MS;
  const clock = schedule.clock ?? (() => new Date());
  const listLive = liveObjectsOf(runtime);
  let delay = Math.min(FIRST_PASS_DELAY_MS, intervalMs);
  while (!signal.aborted) {
    await sleep(delay, signal);
    delay = intervalMs;
    if (signal.aborted) break;
    try {
      const started = performance.now();
      const report = await journal.prune({ policy: schedule.policy ?? DEFAULT_RETENTION, now: clock(), outboxPublished, listLive, signal });
      const total = Object.values(report.deleted).reduce((sum, count) => sum + count, 0);
      if (total > 0) logger.info({ deleted: report.deleted, compacted: report.compacted, ms: Math.round(performance.now() - started) }, 'journal retention pass');
      schedule.onPass?.(report, journal.levelMemoryBytes);
    } catch (error) {
      if (!signal.aborted) logger.warn({ error: errorMessage(error) }, 'journal retention pass failed; trying again at the next interval');
    }
  }
}
