import type Docker from 'dockerode';
import type { CycleProgress } from '../agent/cycle.js';
import { CallTimer } from './instrument.js';
import { elapsedMs, median, round } from './stats.js';
import {
  BENCH_COMMAND,
  BENCH_IMAGE,
  docker,
  progress,
  removeContainersNamed,
  removeNetworkNamed,
  runPool,
  interrupted,
  throwIfInterrupted,
  uniqueName,
  withBenchHost,
  withInterruptCleanup,
} from './support.js';

export interface ConvergeOptions {
  readonly containers: number;
  readonly parallelism: number;
  readonly runs: number;
  /** Also time every engine and journal call of both sides (summed over the parallel lanes). */
  readonly breakdown: boolean;
}

/** Per call: how many per run and their summed wall time in seconds (lanes overlap, so sums exceed wall time). */
export type CallSums = Readonly<Record<string, { readonly calls: number; readonly total_s: number }>>;

/** Where one Hostwright cycle spent its wall time, split at the reconciler's progress callbacks. */
export interface CyclePhases {
  /** Call to the `planned` callback: recovery check, desired/journal reads, first observation, diff, plan, gates. */
  readonly plan_s: number;
  /** `planned` to the last action's result: plan record (fsync), then every create/start with its intent and result writes. */
  readonly execute_s: number;
  /** Last result to return: applied mark, second observation, status events and status write. */
  readonly finish_s: number;
}

export interface ConvergeResult {
  readonly benchmark: 'converge';
  readonly containers: number;
  readonly parallelism: number;
  readonly runs: number;
  /** Median seconds of Hostwright's `runCycle()` that converged the host. */
  readonly hostwright_s: number;
  /** Median seconds of the raw dockerode create+start pool. */
  readonly raw_s: number;
  readonly ratio: number;
  readonly hostwright_runs_s: readonly number[];
  readonly raw_runs_s: readonly number[];
  /** hostwright / raw within each round (the two sides of a round ran back to back). */
  readonly round_ratios: readonly number[];
  /** Which side went first in each round (alternating). */
  readonly order: readonly string[];
  /** Median of each phase of Hostwright's cycle over the runs. */
  readonly hostwright_phases_s: CyclePhases;
  /** With --breakdown: medians over the runs of each side's summed call times. */
  readonly breakdown?: { readonly raw: CallSums; readonly hostwright: CallSums };
}

/**
 * Converges N containers both ways in the same process, alternating which goes first per round:
 * a raw dockerode create+start pool, and one Hostwright reconcile cycle with the same parallelism.
 */
export async function runConverge(options: ConvergeOptions): Promise<ConvergeResult> {
  const { containers, parallelism, runs, breakdown } = options;
  await warmUpEngine();
  const rawCalls: Map<string, { calls: number; ms: number }>[] = [];
  const hostwrightCalls: Map<string, { calls: number; ms: number }>[] = [];
  const raw: number[] = [];
  const hostwright: number[] = [];
  const phases: CyclePhases[] = [];
  const order: string[] = [];
  for (let round = 0; round < runs; round += 1) {
    const rawFirst = round % 2 === 0;
    order.push(rawFirst ? 'raw,hostwright' : 'hostwright,raw');
    for (const side of rawFirst ? (['raw', 'hostwright'] as const) : (['hostwright', 'raw'] as const)) {
      if (side === 'raw') {
        const timer = breakdown ? new CallTimer() : undefined;
        const seconds = await rawConverge(containers, parallelism, timer);
        raw.push(seconds);
        if (timer) rawCalls.push(timer.take());
        progress(`converge round ${round + 1}/${runs}: raw dockerode     ${containers} containers in ${seconds.toFixed(3)} s`);
      } else {
        const timer = breakdown ? new CallTimer() : undefined;
        const run = await hostwrightConverge(containers, parallelism, timer);
        hostwright.push(run.seconds);
        if (timer) hostwrightCalls.push(timer.take());
        phases.push(run.phases);
        progress(
          `converge round ${round + 1}/${runs}: hostwright runCycle ${containers} containers in ${run.seconds.toFixed(3)} s ` +
            `(plan ${run.phases.plan_s.toFixed(3)} s, execute ${run.phases.execute_s.toFixed(3)} s, finish ${run.phases.finish_s.toFixed(3)} s)`,
        );
      }
    }
  }
  const hostwrightMedian = median(hostwright);
  const rawMedian = median(raw);
  return {
    benchmark: 'converge',
    containers,
    parallelism,
    runs,
    hostwright_s: round(hostwrightMedian),
    raw_s: round(rawMedian),
    ratio: round(hostwrightMedian / rawMedian),
    hostwright_runs_s: hostwright.map((value) => round(value)),
    raw_runs_s: raw.map((value) => round(value)),
    round_ratios: hostwright.map((value, index) => round(value / (raw[index] as number))),
    order,
    hostwright_phases_s: {
      plan_s: round(median(phases.map((p) => p.plan_s))),
      execute_s: round(median(phases.map((p) => p.execute_s))),
      finish_s: round(median(phases.map((p) => p.finish_s))),
    },
    ...(breakdown ? { breakdown: { raw: callMedians(rawCalls), hostwright: callMedians(hostwrightCalls) } } : {}),
  };
}

function callMedians(runs: readonly Map<string, { calls: number; ms: number }>[]): CallSums {
  const names = [...new Set(runs.flatMap((run) => [...run.keys()]))].sort();
  const sums: Record<string, { calls: number; total_s: number }> = {};
  for (const name of names) {
    const entries = runs.map((run) => run.get(name) ?? { calls: 0, ms: 0 });
    sums[name] = { calls: median(entries.map((e) => e.calls)), total_s: round(median(entries.map((e) => e.ms)) / 1000) };
  }
  return sums;
}

/** One untimed create+start+remove, so neither side pays for the engine's first container. */
async function warmUpEngine(): Promise<void> {
  const name = uniqueName('hwbench-warmup');
  await withInterruptCleanup(
    () => removeContainersNamed([name]),
    async () => {
      const container = await docker().createContainer({ name, Image: BENCH_IMAGE, Cmd: [...BENCH_COMMAND] });
      await container.start();
    },
  );
}

/**
 * Baseline: the project's network, then P workers, each creating (on that network, with the
 * service's DNS aliases, as Hostwright does) then starting one container at a time; minimal,
 * label-free options otherwise.
 */
async function rawConverge(count: number, parallelism: number, timer: CallTimer | undefined): Promise<number> {
  const run = uniqueName('hwbench-raw');
  const names = Array.from({ length: count }, (_, index) => `${run}-${index + 1}`);
  const network = `${run}_default`;
  return withInterruptCleanup(
    async () => {
      await removeContainersNamed(names);
      await removeNetworkNamed(network);
    },
    async () => {
      const engine = {
        createNetwork: (options: Docker.NetworkCreateOptions) => docker().createNetwork(options),
        createContainer: (options: Docker.ContainerCreateOptions) => docker().createContainer(options),
        start: (container: Docker.Container) => container.start(),
      };
      timer?.wrap(engine, 'docker', ['createNetwork', 'createContainer', 'start']);
      const startedAt = performance.now();
      await engine.createNetwork({ Name: network, CheckDuplicate: true });
      await runPool(names, parallelism, async (name, index) => {
        const aliases = ['app', `app-${index + 1}`];
        const container = await engine.createContainer({ name, Image: BENCH_IMAGE, Cmd: [...BENCH_COMMAND], HostConfig: { NetworkMode: network }, NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: aliases } } } });
        await engine.start(container);
      });
      const seconds = elapsedMs(startedAt) / 1000;
      throwIfInterrupted();
      return seconds;
    },
  );
}

/** Hostwright: fresh data dir and journal, one service with N replicas, one timed `runCycle()`. */
async function hostwrightConverge(count: number, parallelism: number, timer: CallTimer | undefined): Promise<{ seconds: number; phases: CyclePhases }> {
  return withBenchHost('hwbench-hw', parallelism, count, async (harness) => {
      if (timer) {
        timer.wrap(harness.runtime, 'runtime', ['listContainers', 'listImages', 'inspectContainer', 'createContainer', 'startContainer']);
        timer.wrap(harness.journal, 'journal', ['unresolvedIntents', 'desiredDocuments', 'appliedRevisions', 'rejectedRevisions', 'getStatus', 'recordPlan', 'recordIntent', 'recordResult', 'markApplied', 'appendEvents', 'putStatus']);
      }
      let plannedAt: number | undefined;
      let lastResultAt: number | undefined;
      const onProgress = (event: CycleProgress) => {
        if (event.type === 'planned') plannedAt = performance.now();
        else if (event.type === 'action-finished') lastResultAt = performance.now();
      };
      const startedAt = performance.now();
      const report = await harness.reconciler.runCycle({}, { onProgress, signal: interrupted });
      throwIfInterrupted();
      const endedAt = performance.now();

      // Correctness of the run, not timing: a failed or partial converge would make the figure meaningless.
      const failures = report.results.filter((result) => result.outcome === 'failed');
      if (report.failed || failures.length > 0) throw new Error(`hostwright converge failed: ${failures.map((f) => f.message).join('; ')}`);
      if (report.blocks.length > 0) throw new Error(`hostwright converge was blocked: ${report.blocks.map((b) => b.message).join('; ')}`);
      if (report.results.length !== 2 * count + 1) throw new Error(`hostwright ran ${report.results.length} actions, expected ${2 * count + 1} (the network, then create+start each)`);
      const converged = report.status?.projects.every((p) => p.converged) ?? false;
      if (!converged) throw new Error('hostwright cycle returned but its status says the project is not converged');

      const planned = plannedAt ?? startedAt;
      const lastResult = lastResultAt ?? planned;
      return {
        seconds: (endedAt - startedAt) / 1000,
        phases: { plan_s: (planned - startedAt) / 1000, execute_s: (lastResult - planned) / 1000, finish_s: (endedAt - lastResult) / 1000 },
      };
  });
}

function breakdownRows(result: ConvergeResult): [string, string][] {
  if (!result.breakdown) return [];
  const rows = (side: string, sums: CallSums): [string, string][] =>
    Object.entries(sums).map(([name, entry]): [string, string] => [`  ${side} ${name}`, `${entry.calls} call(s), ${entry.total_s.toFixed(3)} s summed over lanes`]);
  return [['call breakdown (--breakdown), median per run', ''], ...rows('raw', result.breakdown.raw), ...rows('hostwright', result.breakdown.hostwright)];
}

export function convergeRows(result: ConvergeResult): [string, string][] {
  return [
    ['containers / parallelism / runs', `${result.containers} / ${result.parallelism} / ${result.runs}`],
    ['raw dockerode create+start, median', `${result.raw_s.toFixed(3)} s`],
    ['hostwright runCycle, median', `${result.hostwright_s.toFixed(3)} s`],
    ['ratio hostwright / raw', result.ratio.toFixed(3)],
    ['raw runs (s)', result.raw_runs_s.map((v) => v.toFixed(3)).join(', ')],
    ['hostwright runs (s)', result.hostwright_runs_s.map((v) => v.toFixed(3)).join(', ')],
    ['ratio per round', result.round_ratios.map((v) => v.toFixed(3)).join(', ')],
    ...breakdownRows(result),
    ['hostwright phases, median (s)', `plan ${result.hostwright_phases_s.plan_s.toFixed(3)}, execute ${result.hostwright_phases_s.execute_s.toFixed(3)}, finish ${result.hostwright_phases_s.finish_s.toFixed(3)}`],
  ];
}
