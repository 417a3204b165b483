import { fleetTargets } from '../coordinator/fleet-targets.js';
import { fleetFileSchema, type FleetFile } from '../shared/fleet-spec.js';
import { startInProcessFleet, until } from './in-process-fleet.js';
import { percentile, round, summarize, type Summary } from './stats.js';
import { BENCH_COMMAND, BENCH_IMAGE, benchDesired, benchService, openHostwright, progress, removeProjectContainers, uniqueName } from './support.js';

export interface FleetOptions {
  readonly hosts: number;
  readonly containers: number;
  readonly writes: number;
}

export interface FleetResult {
  readonly benchmark: 'fleet';
  readonly hosts: number;
  readonly containers_per_host: number;
  /** From the coordinator's first write to every host reporting the revision applied and converged. */
  readonly fleet_s: number;
  /** One host converging hosts × containers through the reconciler directly, in the same run. */
  readonly single_host_same_work_s: number;
  readonly ratio: number;
  /** A desired-state write until the host's status reports that revision (agent picked it up, reconciled, published). */
  readonly write_to_status_ms: Summary & { readonly p99: number };
}

/** Real nats-server, real agents (in this process, each with its own journal and name prefix), real Docker. */
export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  const run = uniqueName('hwfleet');
  const project = run;
  const { client, hostIds, hosts, close } = await startInProcessFleet(run, options.hosts);
  try {
    const fleet: FleetFile = fleetFileSchema.parse({ project, services: { app: { image: BENCH_IMAGE, command: [...BENCH_COMMAND], replicas: options.containers, stop_timeout: '1s' } } });
    progress(`fleet: applying ${options.hosts} x ${options.containers} containers`);
    const started = performance.now();
    const targets = fleetTargets(fleet, hosts, await client.desiredOf(project), client.newCorrelationID());
    for (const target of targets) await client.writeDesired(target.document, target.kvRevision);
    await until(async () => {
      const statuses = await client.statuses();
      return hostIds.every((hostId) => statuses.find((s) => s.hostId === hostId)?.status.projects.some((p) => p.project === project && p.appliedRevision === 1 && p.converged && p.instances.length === options.containers));
    }, 600_000, 'the fleet to converge');
    const fleetSeconds = (performance.now() - started) / 1000;

    progress(`fleet: ${options.writes} desired-state writes, timing each until the host reports it`);
    const latencies: number[] = [];
    const host = hostIds[0] as string;
    for (let i = 0; i < options.writes; i += 1) {
      const current = (await client.desiredOf(project)).get(host);
      if (!current) throw new Error('desired state vanished');
      // allowEmpty is part of the document but not of any container: a new revision with no container work.
      const next = { ...current.document, revision: current.document.revision + 1, allowEmpty: !current.document.allowEmpty };
      const watcher = await client.connection.status.watch({ key: host, include: 'updates' });
      const t = performance.now();
      await client.writeDesired(next, current.kvRevision);
      for await (const entry of watcher) {
        const report = client.openStatus(entry.value, entry.key).value;
        if (report?.status.projects.some((p) => p.project === project && p.desiredRevision === next.revision)) break;
      }
      latencies.push(performance.now() - t);
      watcher.stop();
    }

    progress(`fleet: single-host baseline, ${options.hosts * options.containers} containers`);
    const single = await openHostwright(uniqueName('bench'), 4);
    const singleProject = uniqueName('hwfleet-single');
    let singleSeconds: number;
    try {
      await single.journal.putDesired(benchDesired(single.reconciler.hostId, singleProject, { app: benchService({ replicas: options.hosts * options.containers }) }));
      const t = performance.now();
      await single.reconciler.runCycle();
      singleSeconds = (performance.now() - t) / 1000;
    } finally {
      await removeProjectContainers(singleProject);
      await single.close();
    }
    return {
      benchmark: 'fleet',
      hosts: options.hosts,
      containers_per_host: options.containers,
      fleet_s: round(fleetSeconds),
      single_host_same_work_s: round(singleSeconds),
      ratio: round(fleetSeconds / singleSeconds),
      write_to_status_ms: { ...summarize(latencies), p99: round(percentile(latencies, 99)) },
    };
  } finally {
    await close(project);
  }
}

export function fleetRows(result: FleetResult): [string, string][] {
  return [
    ['hosts x containers per host', `${result.hosts} x ${result.containers_per_host}`],
    ['fleet: apply -> all hosts converged (s)', String(result.fleet_s)],
    ['single host, same containers (s)', String(result.single_host_same_work_s)],
    ['ratio fleet / single host', String(result.ratio)],
    ['write -> host status reports it (ms, p50 / p99)', `${result.write_to_status_ms.median} / ${result.write_to_status_ms.p99}`],
  ];
}
