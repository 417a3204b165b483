import { fleetTargets } from '../coordinator/fleet-targets.js';
import { RolloutStore, driveRollout } from '../coordinator/rollout/rollout-driver.js';
import { startRollout } from '../coordinator/rollout/rollout-step.js';
import { fleetFileSchema, type FleetFile } from '../shared/fleet-spec.js';
import { startInProcessFleet, until } from './in-process-fleet.js';
import { round } from './stats.js';
import { BENCH_COMMAND, BENCH_IMAGE, benchDesired, benchService, openHostwright, progress, removeProjectContainers, uniqueName } from './support.js';

export interface RolloutBenchOptions {
  readonly hosts: number;
  readonly containers: number;
  readonly maxParallel: number;
}

export interface RolloutBenchResult {
  readonly benchmark: 'rollout';
  readonly hosts: number;
  readonly containers_per_host: number;
  readonly canary: 1;
  readonly max_parallel: number;
  readonly min_healthy_s: 0;
  readonly waves: number;
  /** From the rollout's start to every host on the new revision, converged and healthy. */
  readonly rollout_s: number;
  /** One host replacing its containers through the reconciler directly, once per wave, summed. */
  readonly sum_of_wave_single_host_s: number;
  readonly ratio: number;
}

/** A real nats-server and H in-process agents; the rollout engine drives a version change in waves. */
export async function runRolloutBench(options: RolloutBenchOptions): Promise<RolloutBenchResult> {
  const run = uniqueName('hwroll');
  const fleetOf = (version: string): FleetFile => fleetFileSchema.parse({ project: run, services: { app: { image: BENCH_IMAGE, command: [...BENCH_COMMAND], replicas: options.containers, stop_timeout: '1s', env: { VERSION: version } } } });
  const { client: fleet, hostIds, hosts, close } = await startInProcessFleet(run, options.hosts);
  try {
    progress('rollout: version 1 everywhere (untimed)');
    for (const target of fleetTargets(fleetOf('1'), hosts, await fleet.desiredOf(run), fleet.newCorrelationID())) await fleet.writeDesired(target.document, target.kvRevision);
    await until(async () => (await fleet.statuses()).filter((s) => hostIds.includes(s.hostId) && s.status.projects.some((p) => p.project === run && p.appliedRevision === 1 && p.converged)).length === options.hosts, 600_000, 'version 1 everywhere');

    progress(`rollout: version 2, canary 1, max-parallel ${options.maxParallel}`);
    const existing = await fleet.desiredOf(run);
    const correlationID = fleet.newCorrelationID();
    const targets = fleetTargets(fleetOf('2'), hosts, existing, correlationID).filter((t) => t.changed);
    const state = startRollout({
      id: `${run}-r`,
      project: run,
      correlationID,
      now: new Date(),
      options: { canary: 1, maxParallel: options.maxParallel, minHealthyMs: 0, healthyDeadlineMs: 600_000, maxFailures: 0, onFailure: 'pause', order: 'stop-first', skipOffline: false },
      targets: targets.map((t) => ({ hostId: t.hostId, target: t.document, previous: existing.get(t.hostId)?.document ?? null })),
    });
    const store = new RolloutStore(fleet);
    const started = performance.now();
    await store.create(state);
    const final = await driveRollout(fleet, store, state.id, { pollMs: 100 });
    const rolloutSeconds = (performance.now() - started) / 1000;
    if (final.status !== 'succeeded') throw new Error(`rollout ended ${final.status}: ${final.reason ?? ''}`);

    progress('rollout: single-host baseline, one replacement per wave');
    let baseline = 0;
    const single = await openHostwright(uniqueName('bench'), 4);
    const project = uniqueName('hwroll-single');
    try {
      await single.journal.putDesired(benchDesired(single.reconciler.hostId, project, { app: benchService({ replicas: options.containers, env: { VERSION: '0' } }) }));
      await single.reconciler.runCycle();
      for (let wave = 0; wave < final.waves.length; wave += 1) {
        await single.journal.putDesired({ ...benchDesired(single.reconciler.hostId, project, { app: benchService({ replicas: options.containers, env: { VERSION: String(wave + 1) } }) }), revision: wave + 2 });
        const t = performance.now();
        await single.reconciler.runCycle();
        baseline += (performance.now() - t) / 1000;
      }
    } finally {
      await removeProjectContainers(project);
      await single.close();
    }
    return {
      benchmark: 'rollout',
      hosts: options.hosts,
      containers_per_host: options.containers,
      canary: 1,
      max_parallel: options.maxParallel,
      min_healthy_s: 0,
      waves: final.waves.length,
      rollout_s: round(rolloutSeconds),
      sum_of_wave_single_host_s: round(baseline),
      ratio: round(rolloutSeconds / baseline),
    };
  } finally {
    await close(run);
  }
}

export function rolloutRows(result: RolloutBenchResult): [string, string][] {
  return [
    ['hosts x containers per host', `${result.hosts} x ${result.containers_per_host}`],
    ['waves (canary 1, max-parallel)', `${result.waves} (max-parallel ${result.max_parallel})`],
    ['rollout: start -> every host on the new revision (s)', String(result.rollout_s)],
    ['sum of per-wave single-host replacements (s)', String(result.sum_of_wave_single_host_s)],
    ['ratio', String(result.ratio)],
  ];
}
