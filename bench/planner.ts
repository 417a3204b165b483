import { createHash, randomUUID } from 'node:crypto';
import { diffHost, type JournalView } from '../agent/core/diff.js';
import { evaluateGates } from '../agent/core/gates.js';
import { planHost, type PlanMode } from '../agent/core/planner.js';
import { resourceSpecHash } from '../agent/core/resources.js';
import { containerName, instanceKeyString, resourceName, type InstanceKey, type ObservedContainer, type ObservedResource, type OwnerRecord, type RuntimeSnapshot } from '../agent/core/snapshot.js';
import { specHashOf } from '../agent/core/spec-hash.js';
import { compareStrings } from '../shared/compare.js';
import { runtimeConfigOf, type ServiceSpec } from '../shared/fleet-spec.js';
import type { HostDesired } from '../shared/host-desired.js';
import { median, round, summarize, type Summary } from './stats.js';
import { BENCH_IMAGE, benchDesired, benchService, progress } from './support.js';

export interface PlannerOptions {
  readonly services: number;
  readonly iterations: number;
  /** Untimed iterations before measuring (JIT); the first one is still reported as first_ms. */
  readonly warmup: number;
}

export interface PlannerResult {
  readonly benchmark: 'planner';
  readonly services: number;
  readonly iterations: number;
  readonly warmup: number;
  /** diffHost + planHost + evaluateGates, after warm-up. */
  readonly plan_ms: Summary;
  /** Medians of each of the three, over the same measured iterations. */
  readonly phases_ms: { readonly diff: number; readonly plan: number; readonly gates: number };
  /** The very first (cold) iteration, before any warm-up. */
  readonly first_ms: number;
  readonly actions: number;
  readonly replaced: number;
  readonly missing: number;
}

interface Fixture {
  readonly desired: readonly HostDesired[];
  readonly snapshot: RuntimeSnapshot;
  readonly journal: JournalView;
  readonly modes: ReadonlyMap<string, PlanMode>;
  readonly replaced: number;
  readonly missing: number;
}

const HOST_ID = 'bench-host';
const PROJECT = 'bench';
const NAME_PREFIX = '';

/** Which instances are out of step: about 1% with an old spec (replace), about 1% gone (missing). */
const isReplaced = (index: number) => index % 100 === 17;
const isMissing = (index: number) => index % 100 === 53;

/**
 * S services with one replica each; every instance runs, owned, with the current spec hash,
 * except ~1% running an older spec and ~1% missing (the journal remembers creating them).
 */
function buildFixture(serviceCount: number): Fixture {
  const width = String(serviceCount).length;
  const services: Record<string, ServiceSpec> = {};
  for (let index = 0; index < serviceCount; index += 1) {
    services[`svc-${String(index).padStart(width, '0')}`] = benchService({ env: { SERVICE_INDEX: String(index) } });
  }
  const desired = benchDesired(HOST_ID, PROJECT, services);
  const records = new Map<string, OwnerRecord>();
  const containers: ObservedContainer[] = [];
  let replaced = 0;
  let missing = 0;
  let seq = 0;
  const observedAt = new Date().toISOString();
  const createdAt = Math.floor(Date.now() / 1000) - 3600;

  Object.keys(services).forEach((serviceName, index) => {
    const current = services[serviceName] as ServiceSpec;
    // A replaced instance still runs what an earlier revision asked for.
    const running = isReplaced(index) ? benchService({ env: { SERVICE_INDEX: String(index), RELEASE: 'previous' } }) : current;
    const key: InstanceKey = { project: PROJECT, service: serviceName, instance: 1 };
    const name = containerName(NAME_PREFIX, key);
    const id = createHash('sha256').update(name).digest('hex');
    const ownerToken = randomUUID();
    const specHash = specHashOf(running);
    seq += 1;
    records.set(instanceKeyString(key), { ownerToken, intentSeq: seq, hostId: HOST_ID, ...key, name, specHash, config: runtimeConfigOf(running), containerId: id, createdView: undefined, removed: false });
    if (isMissing(index)) {
      missing += 1;
      return;
    }
    if (isReplaced(index)) replaced += 1;
    containers.push({
      id,
      name,
      state: 'running',
      health: 'none',
      createdAt,
      identity: { ...key, hostId: HOST_ID, specHash, ownerToken },
      ownership: { owned: true },
      modifiedFields: [],
      restartCount: 0,
    });
  });
  containers.sort((a, b) => compareStrings(a.name, b.name));
  // The host the previous apply left: the project's network is there, owned.
  const network: ObservedResource = { id: 'bench-network', name: resourceName(NAME_PREFIX, PROJECT, 'default'), identity: { kind: 'network', hostId: HOST_ID, project: PROJECT, resource: 'default', specHash: resourceSpecHash({}), ownerToken: 'bench-network-token' }, ownership: { owned: true } };
  const snapshot: RuntimeSnapshot = { hostId: HOST_ID, observedAt, containers, foreignNames: ['buildkit', 'postgres', 'registry'], images: [BENCH_IMAGE], networks: [network], volumes: [], foreignNetworks: ['bridge', 'host', 'none'], foreignVolumes: [] };
  const journal: JournalView = { latestRecordFor: (key) => records.get(instanceKeyString(key)), latestResourceRecordFor: () => undefined };
  return { desired: [desired], snapshot, journal, modes: new Map([[PROJECT, 'converge']]), replaced, missing };
}

function planOnce(fixture: Fixture) {
  const startedAt = performance.now();
  const diff = diffHost({ desired: fixture.desired, snapshot: fixture.snapshot, journal: fixture.journal, namePrefix: NAME_PREFIX });
  const diffedAt = performance.now();
  const plan = planHost({ diff, desired: fixture.desired, snapshot: fixture.snapshot, modes: fixture.modes });
  const plannedAt = performance.now();
  const blocks = evaluateGates({ plan, diff, desired: fixture.desired, snapshot: fixture.snapshot });
  const gatedAt = performance.now();
  return { plan, blocks, ms: gatedAt - startedAt, phases: { diff: diffedAt - startedAt, plan: plannedAt - diffedAt, gates: gatedAt - plannedAt } };
}

export function runPlanner(options: PlannerOptions): PlannerResult {
  const { services, iterations, warmup } = options;
  progress(`planner: building ${services} services (untimed)`);
  const fixture = buildFixture(services);

  progress(`planner: ${warmup} warm-up (the first is reported as first_ms) + ${iterations} measured iterations of diff+plan+gates`);
  const samples: number[] = [];
  const diffs: number[] = [];
  const plans: number[] = [];
  const gates: number[] = [];
  let first = 0;
  let actions = -1;
  for (let i = 0; i < warmup + iterations; i += 1) {
    const { plan, blocks, ms, phases } = planOnce(fixture);
    if (i === 0) first = ms;
    if (i >= warmup) {
      samples.push(ms);
      diffs.push(phases.diff);
      plans.push(phases.plan);
      gates.push(phases.gates);
    }
    // The fixture's correctness (not timing): a wrong plan would time the wrong work.
    if (blocks.length > 0) throw new Error(`planner fixture is gated: ${blocks[0]?.message ?? ''}`);
    if (actions >= 0 && plan.actions.length !== actions) throw new Error(`planner is not deterministic: ${actions} then ${plan.actions.length} actions`);
    actions = plan.actions.length;
  }
  // stop+remove+create+start per replaced instance, create+start per missing one.
  const expected = 4 * fixture.replaced + 2 * fixture.missing;
  if (actions !== expected) throw new Error(`planner fixture planned ${actions} actions, expected ${expected}`);
  return {
    benchmark: 'planner',
    services,
    iterations,
    warmup,
    plan_ms: summarize(samples),
    phases_ms: { diff: round(median(diffs)), plan: round(median(plans)), gates: round(median(gates)) },
    first_ms: round(first),
    actions,
    replaced: fixture.replaced,
    missing: fixture.missing,
  };
}

export function plannerRows(result: PlannerResult): [string, string][] {
  return [
    ['services / iterations (+warm-up)', `${result.services} / ${result.iterations} (+${result.warmup})`],
    ['replaced / missing instances', `${result.replaced} / ${result.missing}`],
    ['planned actions', String(result.actions)],
    ['diff+plan+gates', `median ${result.plan_ms.median.toFixed(2)} ms, p95 ${result.plan_ms.p95.toFixed(2)} ms`],
    ['  of which diff / plan / gates (medians)', `${result.phases_ms.diff.toFixed(2)} / ${result.phases_ms.plan.toFixed(2)} / ${result.phases_ms.gates.toFixed(2)} ms`],
    ['first (cold) iteration', `${result.first_ms.toFixed(2)} ms`],
  ];
}
