import type { CycleReport } from '../agent/cycle.js';
import { CallTimer } from './instrument.js';
import { elapsedMs, median, round, summarize, type Summary } from './stats.js';
import { docker, progress, throwIfInterrupted, withBenchHost, interrupted, type HostwrightHarness } from './support.js';

export interface NoopOptions {
  readonly containers: number;
  readonly iterations: number;
  /** Untimed rounds before measuring (JIT, caches); the converging cycle itself is never timed. */
  readonly warmup: number;
  /** Parallelism of the one converging cycle that sets the host up. */
  readonly parallelism: number;
  /** Afterwards, time `iterations` more full cycles with the runtime and journal calls instrumented. */
  readonly breakdown: boolean;
}

/** Per instrumented call: how often one full no-op cycle makes it, and the median wall time it adds up to per cycle. */
export interface CallBreakdown {
  readonly calls_per_cycle: number;
  readonly ms_per_cycle: number;
}

export interface NoopResult {
  readonly benchmark: 'noop';
  readonly containers: number;
  readonly iterations: number;
  readonly warmup: number;
  /** observe + diff + plan + gates: `runCycle({ dryRun: true })`. */
  readonly dry_run_cycle_ms: Summary;
  /** A whole no-op `runCycle()`: also plan record, second observation and status write. */
  readonly full_cycle_ms: Summary;
  /** Baseline: one `docker.listContainers({ all: true })`. */
  readonly raw_list_ms: Summary;
  /** One dry-run cycle of a new Reconciler (agent restart: every owned container is inspected once). */
  readonly cold_dry_run_cycle_ms: number;
  /** Total actions planned by cycles on the converged host (warm-up, measured, cold); present only when some were. */
  readonly unexpected_actions?: number;
  /** With --breakdown: instrumented full cycles (their median wall time) and where it went. */
  readonly full_cycle_breakdown?: { readonly cycle_ms: number; readonly calls: Readonly<Record<string, CallBreakdown>> };
}

/** Converges N containers once, then times no-op cycles on the converged host against a raw list call. */
export async function runNoop(options: NoopOptions): Promise<NoopResult> {
  const { containers, iterations, warmup, parallelism, breakdown } = options;
  return withBenchHost('hwbench-noop', parallelism, containers, async (harness) => {
      progress(`noop: converging ${containers} containers (untimed)`);
      const setup = await harness.reconciler.runCycle({}, { signal: interrupted });
      throwIfInterrupted();
      if (setup.failed || setup.results.length !== 2 * containers + 1) {
        throw new Error(`setup converge did not complete: ${setup.results.filter((r) => r.outcome === 'failed').map((r) => r.message).join('; ') || `${setup.results.length} actions`}`);
      }

      const dry: number[] = [];
      const full: number[] = [];
      const list: number[] = [];
      let unexpected = 0;
      const check = (report: CycleReport, what: string) => {
        if (report.plan.actions.length === 0) return;
        unexpected += report.plan.actions.length;
        const kinds = report.plan.actions.map((action) => `${action.kind}${action.kind === 'pull-image' ? '' : ` ${action.name}`}`);
        process.stderr.write(`warning: ${what} on a converged host planned ${report.plan.actions.length} action(s): ${kinds.slice(0, 5).join(', ')}${kinds.length > 5 ? ', ...' : ''}\n`);
      };

      progress(`noop: ${warmup} warm-up + ${iterations} measured rounds of (raw list, dry-run cycle, full cycle)`);
      for (let i = 0; i < warmup + iterations; i += 1) {
        throwIfInterrupted();
        const measured = i >= warmup;
        let startedAt = performance.now();
        await docker().listContainers({ all: true });
        const listMs = elapsedMs(startedAt);

        startedAt = performance.now();
        const dryReport = await harness.reconciler.runCycle({ dryRun: true });
        const dryMs = elapsedMs(startedAt);

        startedAt = performance.now();
        const fullReport = await harness.reconciler.runCycle();
        const fullMs = elapsedMs(startedAt);

        check(dryReport, 'a dry-run cycle');
        check(fullReport, 'a full cycle');
        if (!measured) continue;
        list.push(listMs);
        dry.push(dryMs);
        full.push(fullMs);
      }

      // Agent restart: a new Reconciler's observer has no inspect cache yet.
      const cold = harness.freshReconciler();
      const coldStartedAt = performance.now();
      const coldReport = await cold.runCycle({ dryRun: true });
      const coldMs = elapsedMs(coldStartedAt);
      check(coldReport, 'a cold dry-run cycle');

      const instrumented = breakdown ? await breakdownFullCycles(harness, iterations) : undefined;

      return {
        benchmark: 'noop',
        containers,
        iterations,
        warmup,
        dry_run_cycle_ms: summarize(dry),
        full_cycle_ms: summarize(full),
        raw_list_ms: summarize(list),
        cold_dry_run_cycle_ms: round(coldMs),
        ...(unexpected > 0 ? { unexpected_actions: unexpected } : {}),
        ...(instrumented ? { full_cycle_breakdown: instrumented } : {}),
      };
  });
}

/** Full no-op cycles with every runtime and journal call (and the observer) timed, one bucket per method. */
async function breakdownFullCycles(harness: HostwrightHarness, cycles: number): Promise<NonNullable<NoopResult['full_cycle_breakdown']>> {
  progress(`noop: ${cycles} instrumented full cycles (--breakdown)`);
  const timer = new CallTimer();
  timer.wrap(harness.runtime, 'runtime', ['listContainers', 'listImages', 'inspectContainer']);
  timer.wrap(harness.journal, 'journal', ['unresolvedIntents', 'desiredDocuments', 'appliedRevisions', 'rejectedRevisions', 'getStatus', 'recordPlan', 'markApplied', 'appendEvents', 'putStatus']);
  timer.wrap(harness.reconciler.observer, 'observer', ['observe']);
  timer.wrap(harness.reconciler, 'reconciler', ['observeStatus']);
  const walls: number[] = [];
  const perCycle: Map<string, { calls: number; ms: number }>[] = [];
  timer.take();
  for (let i = 0; i < cycles; i += 1) {
    throwIfInterrupted();
    const startedAt = performance.now();
    await harness.reconciler.runCycle();
    walls.push(elapsedMs(startedAt));
    perCycle.push(timer.take());
  }
  const names = [...new Set(perCycle.flatMap((cycle) => [...cycle.keys()]))].sort();
  const calls: Record<string, CallBreakdown> = {};
  for (const name of names) {
    const entries = perCycle.map((cycle) => cycle.get(name) ?? { calls: 0, ms: 0 });
    calls[name] = { calls_per_cycle: round(median(entries.map((e) => e.calls)), 1), ms_per_cycle: round(median(entries.map((e) => e.ms))) };
  }
  return { cycle_ms: round(median(walls)), calls };
}

export function noopRows(result: NoopResult): [string, string][] {
  const ms = (s: Summary) => `median ${s.median.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms`;
  const rows: [string, string][] = [
    ['containers / iterations (+warm-up)', `${result.containers} / ${result.iterations} (+${result.warmup})`],
    ['raw listContainers({ all: true })', ms(result.raw_list_ms)],
    ['dry-run cycle (observe+diff+plan)', ms(result.dry_run_cycle_ms)],
    ['full no-op cycle', ms(result.full_cycle_ms)],
    ['cold dry-run cycle (new reconciler)', `${result.cold_dry_run_cycle_ms.toFixed(2)} ms`],
  ];
  if (result.unexpected_actions !== undefined) rows.push(['UNEXPECTED planned actions', String(result.unexpected_actions)]);
  if (result.full_cycle_breakdown) {
    rows.push(['instrumented full cycle (--breakdown)', `median ${result.full_cycle_breakdown.cycle_ms.toFixed(2)} ms`]);
    for (const [name, entry] of Object.entries(result.full_cycle_breakdown.calls)) {
      rows.push([`  ${name}`, `${entry.calls_per_cycle} call(s), ${entry.ms_per_cycle.toFixed(2)} ms per cycle`]);
    }
  }
  return rows;
}
