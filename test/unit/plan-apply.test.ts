import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HostDesired } from '../../shared/host-desired.js';
import { cycleDesired, planCycle, scopedTo, withCandidates } from '../../agent/core/cycle-plan.js';
import type { PlanMode } from '../../agent/core/planner.js';
import type { HeldPort, OwnerRecord, RuntimeSnapshot } from '../../agent/core/snapshot.js';
import { TEST_IMAGE, desired, service } from '../lib/builders.js';
import { NAME_PREFIX, desiredDocsArb, scenarioArb } from '../lib/arbitraries.js';
import { journalViewOf, ownedFixture, ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';

// `plan` asks an agent for a dry run of a candidate document; `apply` writes the document and the
// agent's loop applies it in its next cycle. Whatever blocks one must block the other.

/** The candidate's blocks in a dry run, as the reconciler plans one (agent/reconciler.ts). */
function dryRunBlocks(stored: readonly HostDesired[], candidate: HostDesired, snapshot: RuntimeSnapshot, owners: ReadonlyMap<string, OwnerRecord>, settled: { applied: Map<string, number>; rejected: Map<string, { revision: number }> }) {
  const cycle = cycleDesired(stored, [candidate], settled, false);
  return scopedTo(planCycle({ ...cycle, snapshot, journal: journalViewOf(owners), namePrefix: NAME_PREFIX }), cycle.candidates).blocks;
}

/**
 * The candidate's blocks in the cycle that applies it, modelled on its own: the journal stores the
 * document under its project (replacing the one there), and the loop converges every revision not
 * yet reached (nor rejected) and maintains the others.
 */
function applyCycleBlocks(stored: readonly HostDesired[], candidate: HostDesired, snapshot: RuntimeSnapshot, owners: ReadonlyMap<string, OwnerRecord>, settled: { applied: Map<string, number>; rejected: Map<string, { revision: number }> }) {
  // As the agent's desired store keeps them: by project, in insertion order (a put keeps a project's place).
  const journal = new Map(stored.map((document) => [document.project, document]));
  journal.set(candidate.project, candidate);
  const documents = [...journal.values()];
  const modes = new Map(documents.map((document): [string, PlanMode] => [document.project, settled.applied.get(document.project) === document.revision || settled.rejected.get(document.project)?.revision === document.revision ? 'maintain' : 'converge']));
  return planRound({ desired: documents, snapshot, owners, modes }).blocks.filter((block) => block.project === candidate.project);
}

const PORTS = ['127.0.0.1:18080:80', '18080:80', '127.0.0.2:18080:80', '18081:80', '18081:80/udp'] as const;

/** Documents whose services publish (or not) one of a few host ports, so that projects can clash. */
function withPorts(documents: readonly HostDesired[], picks: readonly number[]): HostDesired[] {
  let next = 0;
  return documents.map((document) => ({
    ...document,
    services: Object.fromEntries(
      Object.entries(document.services).map(([name, spec]) => {
        const pick = picks[next++ % Math.max(1, picks.length)] ?? PORTS.length;
        return [name, pick < PORTS.length ? { ...spec, ports: [PORTS[pick] as string] } : spec];
      }),
    ),
  }));
}

const foreignPortArb: fc.Arbitrary<HeldPort> = fc.record({
  holder: fc.constantFrom('traefik', 'postgres'),
  ip: fc.constantFrom('0.0.0.0', '127.0.0.1'),
  port: fc.constantFrom(18080, 18081, 18082),
  protocol: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'),
});

describe('plan blocks exactly what apply blocks', () => {
  it('property: the blocks of a dry run of a candidate equal those of the cycle that applies it', () => {
    let crossProject = 0;
    fc.assert(
      fc.property(
        // Hyphenated names too: container names that projects claim alike ("shop" + "api-web", "shop-api" + "web").
        fc.boolean().chain((ambiguousNames) => fc.tuple(scenarioArb({ modes: 'mixed', ambiguousNames }), desiredDocsArb({ ambiguousNames }))),
        fc.array(fc.nat({ max: PORTS.length + 1 }), { minLength: 1, maxLength: 12 }),
        fc.array(foreignPortArb, { maxLength: 2 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        ([scenario, candidates], portPicks, foreignPorts, rejections) => {
          const [stored, [candidateBase]] = [withPorts(scenario.desired, portPicks), withPorts(candidates, [...portPicks].reverse())];
          if (candidateBase === undefined) return;
          const previous = stored.find((document) => document.project === candidateBase.project);
          // Written as the next revision of its key, as the coordinator does.
          const candidate = { ...candidateBase, revision: (previous?.revision ?? 0) + 1 };
          const snapshot = { ...scenario.snapshot, foreignPorts };
          const owners = new Map(scenario.owners.map((record) => [record.ownerToken, record]));
          const applied = new Map(stored.flatMap((document): [string, number][] => (scenario.modes.get(document.project) === 'maintain' ? [[document.project, document.revision]] : [])));
          const rejected = new Map(stored.flatMap((document, i): [string, { revision: number }][] => (rejections[i] === true && !applied.has(document.project) ? [[document.project, { revision: document.revision }]] : [])));
          const settled = { applied, rejected };

          const planned = dryRunBlocks(stored, candidate, snapshot, owners, settled);
          assert.deepEqual(planned, applyCycleBlocks(stored, candidate, snapshot, owners, settled));
          // The dry run as it was (the candidate alone) misses what the other projects hold.
          const alone = planRound({ desired: [candidate], snapshot, owners }).blocks;
          if (JSON.stringify(alone) !== JSON.stringify(planned)) crossProject += 1;
        },
      ),
      { numRuns: 150 },
    );
    // The generator reaches the cases the property is about: a candidate alone would plan other blocks.
    assert.ok(crossProject > 0, 'no generated case had a block that depends on another project');
  });

  it("a host port another project already publishes blocks the candidate in the dry run, as in the apply (the issue's 127.0.0.1:18080)", () => {
    const quickstart = desired('quickstart', { web: service({ ports: ['127.0.0.1:18080:80'] }) }, { revision: 3 });
    const { container, record } = ownedFixture({ project: 'quickstart', service: 'web', instance: 1 }, quickstart.services.web as never, { id: 'a1b2c3d4e5f6' });
    const snapshot = snapshotOf([container], { images: [TEST_IMAGE] });
    const owners = ownersOf([record]);
    const shop = desired('shop', { api: service({ ports: ['127.0.0.1:18080:8080'] }) });
    const settled = { applied: new Map([['quickstart', 3]]), rejected: new Map<string, { revision: number }>() };
    const expected = [{ project: 'shop', gate: 'port-conflict', message: 'quickstart/web ("127.0.0.1:18080:80") and shop/api ("127.0.0.1:18080:8080") bind the same host port 18080/tcp on this host; give one of them another port or host address' }];
    assert.deepEqual(dryRunBlocks([quickstart], shop, snapshot, owners, settled), expected);
    assert.deepEqual(applyCycleBlocks([quickstart], shop, snapshot, owners, settled), expected);
    // The running project is not blocked by the newcomer: it binds nothing new.
    assert.deepEqual(dryRunBlocks([quickstart, shop], { ...quickstart, revision: 4 }, snapshot, owners, settled), []);
  });

  it('a dry run reports only its candidate: the other projects count in its gates but not in its actions', () => {
    const other = desired('alpha', { web: service({ replicas: 2 }) });
    const candidate = desired('shop', { api: service() });
    const cycle = cycleDesired([other], [candidate], { applied: new Map(), rejected: new Map() }, false);
    assert.deepEqual(cycle.desired.map((document) => document.project), ['alpha', 'shop']);
    assert.deepEqual([...cycle.modes], [['alpha', 'converge'], ['shop', 'converge']]);
    const planned = planCycle({ ...cycle, snapshot: snapshotOf([], { images: [TEST_IMAGE] }), journal: journalViewOf(new Map()), namePrefix: NAME_PREFIX });
    const scoped = scopedTo(planned, cycle.candidates);
    assert.ok(planned.plan.actions.some((action) => action.kind === 'create' && action.key.project === 'alpha'));
    assert.deepEqual([...new Set(scoped.plan.actions.map((action) => (action.kind === 'create' ? action.key.project : 'shop')))], ['shop']);
    assert.deepEqual(scoped.diff.projects.map((project) => project.project), ['shop']);
    assert.deepEqual(scoped.plan.projects.map((project) => project.project), ['shop']);
  });

  it('withCandidates puts each candidate in its project\'s place; a candidate is converged even at a reached revision', () => {
    const stored = [desired('alpha', { web: service() }, { revision: 2 }), desired('shop', { web: service() }, { revision: 5 })];
    const candidate = desired('shop', { web: service({ replicas: 2 }) }, { revision: 5 });
    assert.deepEqual(withCandidates(stored, [candidate]), [stored[0], candidate]);
    // In the store's order: a replaced project keeps its place, a new one joins at the end.
    const zeta = desired('zeta', { web: service() });
    assert.deepEqual(withCandidates([...stored].reverse(), [zeta, { ...candidate, revision: 6 }]).map((document) => [document.project, document.revision]), [['shop', 6], ['alpha', 2], ['zeta', 1]]);
    const cycle = cycleDesired(stored, [candidate], { applied: new Map([['alpha', 2], ['shop', 5]]), rejected: new Map() }, false);
    assert.deepEqual([...cycle.modes], [['alpha', 'maintain'], ['shop', 'converge']]);
    // Outside a dry run nothing is a candidate: a reached revision is maintained.
    assert.deepEqual([...cycleDesired(stored, undefined, { applied: new Map([['shop', 5]]), rejected: new Map() }, false).modes], [['alpha', 'converge'], ['shop', 'maintain']]);
  });
});
