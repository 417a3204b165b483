import { diffHost } from '../agent/core/diff.js';
import { evaluateGates } from '../agent/core/gates.js';
import { planHost } from '../agent/core/planner.js';
import type { RuntimeSnapshot } from '../agent/core/snapshot.js';
import { planReport } from '../agent/plan-report.js';
import { renderPlan } from '../coordinator/cli/render/plan-view.js';
import type { ServiceSpec } from '../shared/fleet-spec.js';
import type { PlanReport } from '../shared/plan-report.js';
import { round, summarize, type Summary } from './stats.js';
import { BENCH_IMAGE, benchDesired, benchService, progress } from './support.js';

export interface RenderOptions {
  /** Plan sizes to render, in actions (even: a create and a start per new service). */
  readonly sizes: readonly number[];
  readonly iterations: number;
}

/** The human `plan` of a new fleet file on an empty host: planning is untimed, rendering is timed. */
export interface RenderResult {
  readonly benchmark: 'render';
  readonly iterations: number;
  readonly runs: readonly {
    readonly actions: number;
    readonly lines: number;
    readonly bytes: number;
    /** renderPlan, after one untimed warm-up. */
    readonly render_ms: Summary;
    /** Per 1,000 actions at the median: flat when rendering is linear. */
    readonly ms_per_1000_actions: number;
  }[];
}

/**
 * The plan report for `actions / 2` new single-replica services on a host that runs nothing yet,
 * made by the real diff, planner and gates (the shape `plan` renders).
 */
export function newFleetPlanReport(actions: number): PlanReport {
  const services: Record<string, ServiceSpec> = {};
  const width = String(actions).length;
  for (let index = 0; index < actions / 2; index += 1) services[`svc-${String(index).padStart(width, '0')}`] = benchService({ env: { SERVICE_INDEX: String(index) } });
  const desired = [benchDesired('bench-host', 'bench', services)];
  const snapshot: RuntimeSnapshot = { hostId: 'bench-host', observedAt: new Date().toISOString(), containers: [], foreignNames: [], images: [BENCH_IMAGE], networks: [], volumes: [], foreignNetworks: [], foreignVolumes: [] };
  const diff = diffHost({ desired, snapshot, journal: { latestRecordFor: () => undefined, latestResourceRecordFor: () => undefined }, namePrefix: '' });
  const plan = planHost({ diff, desired, snapshot, modes: new Map([['bench', 'converge']]) });
  const blocks = evaluateGates({ plan, diff, desired, snapshot });
  return planReport({ correlationID: 'bench', dryRun: true, diff, plan, blocks, runnable: plan.actions, results: [], failed: false, status: undefined });
}

export function runRender(options: RenderOptions): RenderResult {
  const runs = options.sizes.map((actions) => {
    progress(`render: planning ${actions} actions (untimed)`);
    const report = newFleetPlanReport(actions);
    // The fixture's correctness (not timing): a wrong plan would time the wrong work.
    // Its create+start per service, and the project network they join.
    if (report.actions.length !== actions + 1) throw new Error(`render fixture planned ${report.actions.length} actions, expected ${actions + 1}`);
    progress(`render: 1 warm-up + ${options.iterations} renders of ${actions} actions`);
    const samples: number[] = [];
    let text = '';
    for (let iteration = 0; iteration <= options.iterations; iteration += 1) {
      const startedAt = performance.now();
      text = renderPlan(report);
      if (iteration > 0) samples.push(performance.now() - startedAt);
    }
    const render = summarize(samples);
    return { actions, lines: text.split('\n').length, bytes: Buffer.byteLength(text), render_ms: render, ms_per_1000_actions: round((render.median * 1000) / actions) };
  });
  return { benchmark: 'render', iterations: options.iterations, runs };
}

export function renderRows(result: RenderResult): [string, string][] {
  return [
    ['iterations (+1 warm-up) per size', String(result.iterations)],
    ...result.runs.map((run): [string, string] => [`${run.actions} actions (${run.lines} lines, ${run.bytes} bytes)`, `median ${run.render_ms.median.toFixed(1)} ms, p95 ${run.render_ms.p95.toFixed(1)} ms, ${run.ms_per_1000_actions.toFixed(2)} ms per 1000 actions`]),
  ];
}
