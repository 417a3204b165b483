import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as DiffModule from '../agent/core/diff.js';
import type * as GatesModule from '../agent/core/gates.js';
import type * as PlannerModule from '../agent/core/planner.js';
import type * as PlanReportModule from '../agent/plan-report.js';
import type { RuntimeSnapshot } from '../agent/core/snapshot.js';
import type * as FleetFileModule from '../coordinator/fleet-file.js';
import type * as PlacementModule from '../coordinator/placement.js';
import { median, round } from './stats.js';
import { BENCH_IMAGE, progress } from './support.js';

export interface LoadPlanOptions {
  /** Fleet sizes (services, one replica each); one fixture per size. */
  readonly sizes: readonly number[];
  readonly iterations: number;
  /** Another build's dist/ directory (e.g. the main branch's): the same pure modules timed side by side. */
  readonly baselineDist?: string;
}

/** Medians, in milliseconds, of each step from fleet file text to the JSON `plan --json` prints. */
export interface LoadPlanFigures {
  /** parse + place + diff + plan + gates + report. */
  readonly total_ms: number;
  /** YAML, zod validation (parseFleetFile). */
  readonly parse_ms: number;
  /** desiredForHost: placement and the desired document's validation. */
  readonly place_ms: number;
  readonly diff_ms: number;
  readonly plan_ms: number;
  readonly gates_ms: number;
  /** planReport and JSON.stringify (what `plan --json` writes; the table renderer is left out). */
  readonly report_ms: number;
  /** parseFleetFile of the same fleet with a malformed port in every service (the error path). */
  readonly errors_ms: number;
}

export interface LoadPlanSize {
  readonly services: number;
  readonly file_bytes: number;
  readonly actions: number;
  readonly current: LoadPlanFigures;
  readonly baseline: LoadPlanFigures | null;
  /** The current build's plan JSON equals the baseline's, byte for byte (null without a baseline). */
  readonly same_plan_as_baseline: boolean | null;
}

export interface LoadPlanResult {
  readonly benchmark: 'load-plan';
  readonly iterations: number;
  readonly baseline_dist: string | null;
  readonly sizes: readonly LoadPlanSize[];
}

/** The modules one build brings: the current one is imported statically, a baseline from its dist/. */
interface Build {
  readonly fleetFile: typeof FleetFileModule;
  readonly placement: typeof PlacementModule;
  readonly diff: typeof DiffModule;
  readonly planner: typeof PlannerModule;
  readonly gates: typeof GatesModule;
  readonly planReport: typeof PlanReportModule;
}

const HOST = { hostId: 'bench-host', labels: { role: 'web' } };
const OBSERVED_AT = '2025-01-01T00:00:00.000Z';

/** S services in block style, each with a command, env and labels (about 120 bytes each). */
export function benchFleetText(services: number, options: { badPorts?: boolean } = {}): string {
  const width = String(services).length;
  const lines = ['project: loadplan', 'services:'];
  for (let index = 0; index < services; index += 1) {
    lines.push(`  svc-${String(index).padStart(width, '0')}:`, `    image: ${BENCH_IMAGE}`, '    command: ["sleep", "3600"]', `    env: { SERVICE_INDEX: "${index}", MODE: bench }`, '    labels: { team: bench }');
    if (options.badPorts) lines.push('    ports: ["not-a-port"]');
  }
  return `${lines.join('\n')}\n`;
}

async function loadBuild(dist: string): Promise<Build> {
  const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(resolve(dist, path)).href)) as T;
  return {
    fleetFile: await load<typeof FleetFileModule>('coordinator/fleet-file.js'),
    placement: await load<typeof PlacementModule>('coordinator/placement.js'),
    diff: await load<typeof DiffModule>('agent/core/diff.js'),
    planner: await load<typeof PlannerModule>('agent/core/planner.js'),
    gates: await load<typeof GatesModule>('agent/core/gates.js'),
    planReport: await load<typeof PlanReportModule>('agent/plan-report.js'),
  };
}

interface Sample {
  readonly steps: Omit<LoadPlanFigures, 'total_ms'>;
  readonly json: string;
  readonly actions: number;
}

/** One pass from text to plan JSON against a fresh host (no containers, the image present). */
function loadAndPlan(build: Build, text: string, badText: string): Sample {
  let at = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const ms = now - at;
    at = now;
    return ms;
  };
  const fleet = build.fleetFile.parseFleetFile(text, 'fleet.yaml');
  const parse = lap();
  const document = build.placement.desiredForHost(fleet, HOST, { revision: 1 });
  const place = lap();
  const snapshot: RuntimeSnapshot = { hostId: HOST.hostId, observedAt: OBSERVED_AT, containers: [], foreignNames: [], images: [BENCH_IMAGE], networks: [], volumes: [], foreignNetworks: [], foreignVolumes: [] };
  const desired = [document];
  const diff = build.diff.diffHost({ desired, snapshot, journal: { latestRecordFor: () => undefined, latestResourceRecordFor: () => undefined }, namePrefix: '' });
  const diffMs = lap();
  const plan = build.planner.planHost({ diff, desired, snapshot, modes: new Map([[document.project, 'converge']]) });
  const planMs = lap();
  const blocks = build.gates.evaluateGates({ plan, diff, desired, snapshot });
  const gatesMs = lap();
  const runnable = build.gates.runnableActions(plan, blocks);
  const json = JSON.stringify(build.planReport.planReport({ correlationID: 'bench', dryRun: true, diff, plan, blocks, runnable, results: [], failed: false, status: undefined }), null, 2);
  const report = lap();
  try {
    build.fleetFile.parseFleetFile(badText, 'fleet.yaml');
    throw new Error('load-plan: the fleet with malformed ports was accepted');
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'InvalidInputError') throw error;
  }
  const errors = lap();
  return { steps: { parse_ms: parse, place_ms: place, diff_ms: diffMs, plan_ms: planMs, gates_ms: gatesMs, report_ms: report, errors_ms: errors }, json, actions: plan.actions.length };
}

function figures(samples: readonly Sample[]): LoadPlanFigures {
  const of = (step: keyof Sample['steps']): number => round(median(samples.map((sample) => sample.steps[step])), 1);
  const totals = samples.map(({ steps }) => steps.parse_ms + steps.place_ms + steps.diff_ms + steps.plan_ms + steps.gates_ms + steps.report_ms);
  return { total_ms: round(median(totals), 1), parse_ms: of('parse_ms'), place_ms: of('place_ms'), diff_ms: of('diff_ms'), plan_ms: of('plan_ms'), gates_ms: of('gates_ms'), report_ms: of('report_ms'), errors_ms: of('errors_ms') };
}

export async function runLoadPlan(options: LoadPlanOptions): Promise<LoadPlanResult> {
  const current = await loadBuild(fileURLToPath(new URL('..', import.meta.url)));
  const baseline = options.baselineDist === undefined ? undefined : await loadBuild(options.baselineDist);
  // One untimed pass of each build first, so that the smallest size is not timing the JIT.
  const warmText = benchFleetText(200);
  const warmBad = benchFleetText(200, { badPorts: true });
  for (const build of baseline ? [current, baseline] : [current]) loadAndPlan(build, warmText, warmBad);
  const sizes: LoadPlanSize[] = [];
  for (const services of options.sizes) {
    const text = benchFleetText(services);
    const badText = benchFleetText(services, { badPorts: true });
    progress(`load-plan: ${services} services (${(text.length / 1024).toFixed(0)} KiB), ${options.iterations} iteration(s)${baseline ? ' of each build, alternating' : ''}`);
    const currentSamples: Sample[] = [];
    const baselineSamples: Sample[] = [];
    // Alternating the builds each iteration: load on the shared machine hits both alike.
    for (let iteration = 0; iteration < options.iterations; iteration += 1) {
      currentSamples.push(loadAndPlan(current, text, badText));
      if (baseline) baselineSamples.push(loadAndPlan(baseline, text, badText));
    }
    const first = currentSamples[0] as Sample;
    if (currentSamples.some((sample) => sample.json !== first.json)) throw new Error('load-plan: the plan differs between iterations (not deterministic)');
    // create+start per service, and the project network.
    if (first.actions !== 2 * services + 1) throw new Error(`load-plan: ${first.actions} actions for ${services} new services, expected ${2 * services + 1}`);
    sizes.push({
      services,
      file_bytes: Buffer.byteLength(text),
      actions: first.actions,
      current: figures(currentSamples),
      baseline: baseline ? figures(baselineSamples) : null,
      same_plan_as_baseline: baseline ? baselineSamples.every((sample) => sample.json === first.json) : null,
    });
  }
  return { benchmark: 'load-plan', iterations: options.iterations, baseline_dist: options.baselineDist ?? null, sizes };
}

export function loadPlanRows(result: LoadPlanResult): [string, string][] {
  const show = (figures: LoadPlanFigures): string =>
    `${figures.total_ms.toFixed(0)} ms (parse ${figures.parse_ms.toFixed(0)}, place ${figures.place_ms.toFixed(0)}, diff ${figures.diff_ms.toFixed(0)}, plan ${figures.plan_ms.toFixed(0)}, gates ${figures.gates_ms.toFixed(0)}, report ${figures.report_ms.toFixed(0)}); all-invalid file ${figures.errors_ms.toFixed(0)} ms`;
  const rows: [string, string][] = [['iterations per size (medians)', String(result.iterations)]];
  for (const size of result.sizes) {
    rows.push([`${size.services} services (${(size.file_bytes / 1024).toFixed(0)} KiB, ${size.actions} actions)`, show(size.current)]);
    if (size.baseline) rows.push(['  baseline', `${show(size.baseline)}; same plan: ${size.same_plan_as_baseline ? 'yes' : 'NO'}`]);
  }
  if (result.baseline_dist) rows.push(['baseline build', result.baseline_dist]);
  return rows;
}
