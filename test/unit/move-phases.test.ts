import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HostDesired } from '../../shared/host-desired.js';
import type { InstanceStatus, ProjectStatus } from '../../shared/host-status.js';
import type { StatusReport } from '../../shared/wire.js';
import type { HostTarget } from '../../coordinator/fleet-targets.js';
import { moveOrderJson, movePhases, receivingState, rolloutMoveOrder, serviceMoves } from '../../coordinator/move-phases.js';
import { desiredContentHash } from '../../coordinator/placement.js';
import { renderMoveOrder } from '../../coordinator/cli/render/move-view.js';
import { desired, service } from '../lib/builders.js';

// Pure tests of the make-before-break order: hand-built and generated placements, no NATS, no Docker.

const PROJECT = 'shop';
const HOSTS = ['h1', 'h2', 'h3', 'h4'] as const;
const SERVICES = ['api', 'db', 'worker'] as const;

/** Replicas of each service on each host, and the VERSION its spec carries. */
type Placement = Record<string, Record<string, number>>;
type Versions = Record<string, number>;

function documentOf(hostId: string, placement: Placement, versions: Versions, revision: number): HostDesired | undefined {
  const services = Object.fromEntries(
    SERVICES.flatMap((name) => {
      const replicas = placement[hostId]?.[name] ?? 0;
      return replicas > 0 ? [[name, service({ replicas, env: { VERSION: String(versions[name] ?? 1) } })]] : [];
    }),
  );
  return Object.keys(services).length === 0 ? undefined : desired(PROJECT, services, { hostId, revision });
}

/** What fleetTargets would give: every host that runs or ran the project, changed where the content differs. */
function scenario(before: Placement, after: Placement, versionsBefore: Versions, versionsAfter: Versions): { previous: Map<string, HostDesired>; targets: HostTarget[] } {
  const previous = new Map<string, HostDesired>();
  for (const hostId of HOSTS) {
    const document = documentOf(hostId, before, versionsBefore, 3);
    if (document) previous.set(hostId, document);
  }
  const targets: HostTarget[] = [];
  for (const hostId of HOSTS) {
    const old = previous.get(hostId);
    const next = documentOf(hostId, after, versionsAfter, 4) ?? (old ? desired(PROJECT, {}, { hostId, revision: 4, allowEmpty: true }) : undefined);
    if (!next) continue;
    const changed = !old || desiredContentHash(old) !== desiredContentHash(next);
    targets.push({ hostId, document: changed ? next : old, kvRevision: old ? 10 : 0, changed });
  }
  return { previous, targets };
}

const replicas = (document: HostDesired | undefined, name: string) => document?.services[name]?.replicas ?? 0;
const total = (state: ReadonlyMap<string, HostDesired | undefined>, name: string) => [...state.values()].reduce((sum, document) => sum + replicas(document, name), 0);

const placementArb = fc.record(Object.fromEntries(HOSTS.map((h) => [h, fc.record(Object.fromEntries(SERVICES.map((s) => [s, fc.integer({ min: 0, max: 2 })])))]))) as fc.Arbitrary<Placement>;
const versionsArb = fc.record(Object.fromEntries(SERVICES.map((s) => [s, fc.integer({ min: 1, max: 2 })]))) as fc.Arbitrary<Versions>;

describe('movePhases', () => {
  it('re-pinning api and a worker from h2 to h1: h1 first, h2 (which keeps them until then) second', () => {
    const { previous, targets } = scenario({ h1: { db: 1 }, h2: { api: 1, worker: 2 } }, { h1: { db: 1, api: 1, worker: 2 } }, {}, {});
    const phases = movePhases(previous, targets);
    assert.deepEqual(phases.moves, [
      { service: 'api', from: ['h2'], to: ['h1'] },
      { service: 'worker', from: ['h2'], to: ['h1'] },
    ]);
    assert.deepEqual(phases.first.map((t) => t.hostId), ['h1']);
    assert.deepEqual(phases.second.map((t) => [t.hostId, Object.keys(t.document.services), t.document.allowEmpty]), [['h2', [], true]]);
    assert.deepEqual([...phases.receiving], [['h1', ['api', 'worker']]]);
    assert.equal(
      renderMoveOrder(phases, new Set(['h1', 'h2'])),
      'Moves: api (h2 -> h1), worker (h2 -> h1)\n  phase 1: h1 (the giving hosts keep their instances of the moved services)\n  phase 2: h2, once h1 runs the moved services healthy',
    );
    assert.deepEqual(moveOrderJson(phases, new Set(['h1', 'h2'])), { moves: [{ service: 'api', from: ['h2'], to: ['h1'] }, { service: 'worker', from: ['h2'], to: ['h1'] }], phase1: ['h1'], phase2: ['h2'] });
  });

  it('a giving host with other changes gets them in phase 1 with its moved instances kept as they were', () => {
    const { previous, targets } = scenario({ h1: { db: 1 }, h2: { api: 1, worker: 1 } }, { h1: { db: 1, api: 1 }, h2: { worker: 1 } }, { worker: 1, api: 1 }, { worker: 2, api: 2 });
    const phases = movePhases(previous, targets);
    const h2First = phases.first.find((t) => t.hostId === 'h2');
    assert.ok(h2First, 'h2 is written in phase 1 (its worker changes)');
    assert.equal(h2First.document.services.worker?.env.VERSION, '2');
    assert.equal(h2First.document.services.api?.env.VERSION, '1', 'api is kept with its old spec until h1 runs it');
    assert.deepEqual(phases.second.map((t) => [t.hostId, Object.keys(t.document.services)]), [['h2', ['worker']]]);
  });

  it('a swap (api h1 -> h2, worker h2 -> h1) adds before it removes on both hosts', () => {
    const { previous, targets } = scenario({ h1: { api: 1 }, h2: { worker: 1 } }, { h1: { worker: 1 }, h2: { api: 1 } }, {}, {});
    const phases = movePhases(previous, targets);
    assert.deepEqual(phases.first.map((t) => [t.hostId, Object.keys(t.document.services)]), [['h1', ['api', 'worker']], ['h2', ['api', 'worker']]]);
    assert.deepEqual(phases.second.map((t) => [t.hostId, Object.keys(t.document.services)]), [['h1', ['worker']], ['h2', ['api']]]);
  });

  it('a host told before but not running the service (its apply was blocked) still receives it: the giving host waits for it', () => {
    // h1 was told api in an apply that it blocked; h2 still runs api. Applying again moves it.
    const { previous, targets } = scenario({ h1: { api: 1 }, h2: { api: 1 } }, { h1: { api: 1 } }, {}, {});
    assert.deepEqual(movePhases(previous, targets).moves, [], 'by desired state alone h1 already has api');
    const phases = movePhases(previous, targets, new Map<string, Record<string, number>>([['h1', {}], ['h2', { api: 1 }]]));
    assert.deepEqual(phases.moves, [{ service: 'api', from: ['h2'], to: ['h1'] }]);
    assert.deepEqual(phases.second.map((t) => t.hostId), ['h2']);
    assert.deepEqual([...phases.receiving], [['h1', ['api']]]);
  });

  it('a rollout waits for the receiving hosts before each giving host, and refuses a swap it cannot order', () => {
    const moved = scenario({ h1: { db: 1 }, h2: { api: 1 }, h3: { api: 1 } }, { h1: { db: 1, api: 1 }, h4: { api: 1 } }, {}, {});
    assert.deepEqual([...rolloutMoveOrder(movePhases(moved.previous, moved.targets))], [['h2', ['h1', 'h4']], ['h3', ['h1', 'h4']]]);
    const swap = scenario({ h1: { api: 1 }, h2: { worker: 1 } }, { h1: { worker: 1 }, h2: { api: 1 } }, {}, {});
    assert.throws(() => rolloutMoveOrder(movePhases(swap.previous, swap.targets)), /rollout: h1, h2 both give and receive moved services \(api h1 -> h2; worker h2 -> h1\).*hostwright apply -f/);
  });

  it('without a move every target is phase 1 as it was given', () => {
    const { previous, targets } = scenario({ h1: { api: 1 }, h2: { api: 1 } }, { h1: { api: 2 }, h2: { api: 1 } }, {}, { api: 2 });
    const phases = movePhases(previous, targets);
    assert.deepEqual(phases.moves, []);
    assert.equal(phases.first, targets);
    assert.deepEqual(phases.second, []);
    assert.equal(renderMoveOrder(phases, new Set(['h1'])), '');
  });

  it('property: no service that runs before and after is ever placed nowhere; moved instances are removed only in phase 2; the phases end at the targets', () => {
    fc.assert(
      fc.property(placementArb, placementArb, versionsArb, versionsArb, fc.option(placementArb, { nil: undefined }), (before, after, versionsBefore, versionsAfter, reported) => {
        const { previous, targets } = scenario(before, after, versionsBefore, versionsAfter);
        const running = new Map(Object.entries(reported ?? {}));
        const phases = movePhases(previous, targets, running);
        const moved = new Set(phases.moves.map((m) => m.service));
        const afterFirst = new Map<string, HostDesired | undefined>(HOSTS.map((h) => [h, previous.get(h)]));
        for (const target of phases.first) afterFirst.set(target.hostId, target.document);
        const afterSecond = new Map(afterFirst);
        for (const target of phases.second) afterSecond.set(target.hostId, target.document);
        const finalState = new Map<string, HostDesired | undefined>(HOSTS.map((h) => [h, previous.get(h)]));
        for (const target of targets) finalState.set(target.hostId, target.document);

        for (const name of SERVICES) {
          const placedBefore = total(new Map(HOSTS.map((h) => [h, previous.get(h)])), name);
          const placedAfter = total(finalState, name);
          if (placedBefore > 0 && placedAfter > 0) assert.ok(total(afterFirst, name) >= 1, `${name} placed nowhere after phase 1`);
          for (const hostId of HOSTS) {
            const was = replicas(previous.get(hostId), name);
            const first = replicas(afterFirst.get(hostId), name);
            const wanted = replicas(finalState.get(hostId), name);
            // A moved service loses no instance in phase 1, and its receiving hosts have theirs by then.
            if (moved.has(name)) assert.equal(first, Math.max(was, wanted), `${name} on ${hostId}: was ${was}, phase 1 ${first}, wanted ${wanted}`);
            if (moved.has(name) && wanted < was) assert.deepEqual(afterFirst.get(hostId)?.services[name], previous.get(hostId)?.services[name], `${name} on ${hostId} is kept as it was in phase 1`);
          }
        }
        for (const hostId of HOSTS) {
          const end = afterSecond.get(hostId);
          const wanted = finalState.get(hostId);
          assert.equal(end && desiredContentHash(end), wanted && desiredContentHash(wanted), `${hostId} ends at its target`);
        }
        // Phase 2 holds exactly the hosts that give a moved service, with their final documents.
        const giving = new Set(phases.moves.flatMap((m) => m.from));
        assert.deepEqual(phases.second.map((t) => t.hostId).sort(), [...giving].sort());
        for (const target of phases.second) assert.equal(target.document, targets.find((t) => t.hostId === target.hostId)?.document);
        if (phases.moves.length === 0) assert.equal(phases.first, targets);
        assert.deepEqual(serviceMoves(previous, targets, running), phases.moves);
        // Every host that gains instances of a moved service, by what it runs, is waited for.
        for (const move of phases.moves) for (const hostId of move.to) assert.ok(phases.receiving.get(hostId)?.includes(move.service));
      }),
      { numRuns: 300 },
    );
  });
});

function instance(name: string, fields: Partial<InstanceStatus> = {}): InstanceStatus {
  return { project: PROJECT, service: name, instance: 1, name: `h1-${PROJECT}-${name}-1`, containerId: 'c1', state: 'running', health: 'none', drift: [], ...fields };
}

function reportOf(fields: Partial<ProjectStatus>): StatusReport {
  const project: ProjectStatus = { project: PROJECT, desiredRevision: 5, appliedRevision: 5, converged: true, pendingActions: 0, instances: [instance('api')], unowned: [], blocked: [], ...fields };
  return { hostId: 'h1', reportedAt: '2026-01-01T00:00:00.000Z', agentVersion: 'test', outboxDepth: 0, status: { hostId: 'h1', observedAt: '2026-01-01T00:00:00.000Z', projects: [project] } };
}

describe('receivingState', () => {
  const plain = { document: desired(PROJECT, { api: service() }, { revision: 5 }) };
  const checked = { document: desired(PROJECT, { api: service({ healthcheck: { test: ['CMD', 'true'], interval: '1s' } }) }, { revision: 5 }) };
  const seen = (report: StatusReport | undefined, stale = false) => ({ report, refused: undefined, stale });

  it('ready once the revision is applied and every moved instance runs (healthy where it has a check)', () => {
    assert.equal(receivingState(plain, ['api'], seen(reportOf({}))).state, 'ready');
    assert.equal(receivingState(checked, ['api'], seen(reportOf({}))).state, 'waiting');
    assert.equal(receivingState(checked, ['api'], seen(reportOf({ instances: [instance('api', { health: 'healthy' })] }))).state, 'ready');
    assert.equal(receivingState(plain, ['api'], seen(reportOf({ instances: [instance('api', { state: 'restarting' })] }))).state, 'waiting');
    const oneShot = { document: desired(PROJECT, { api: service({ restart: 'no' }) }, { revision: 5 }) };
    assert.equal(receivingState(oneShot, ['api'], seen(reportOf({ instances: [instance('api', { state: 'exited' })] }))).state, 'ready', 'a one-shot that completed');
    assert.equal(receivingState(oneShot, ['api'], seen(reportOf({ instances: [instance('api', { state: 'exited', drift: ['stopped'] })] }))).state, 'waiting', 'a one-shot that failed');
  });

  it('blocked, failed, not yet picked up, stale and refused are told apart', () => {
    assert.deepEqual(receivingState(plain, ['api'], seen(reportOf({ blocked: [{ project: PROJECT, gate: 'port-conflict', message: 'port 8080 is held' }] }))), { state: 'blocked', detail: 'port 8080 is held' });
    assert.equal(receivingState(plain, ['api'], seen(reportOf({ rejected: { revision: 5, reason: 'create failed' } }))).state, 'failed');
    assert.equal(receivingState(plain, ['api'], seen(reportOf({ desiredRevision: 4, appliedRevision: 4 }))).state, 'waiting');
    assert.equal(receivingState(plain, ['api'], seen(undefined, true)).state, 'stale');
    assert.equal(receivingState(plain, ['api'], { report: reportOf({}), refused: 'bad signature', stale: false }).state, 'refused');
    assert.equal(receivingState(plain, ['api'], seen(reportOf({ appliedRevision: 4, converged: false, pendingActions: 2 }))).detail, 'api 1/1 running and healthy, 2 pending action(s)');
  });
});
