import { projectOfAction } from '../../shared/actions.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HostDesired } from '../../shared/host-desired.js';
import { diffHost } from '../../agent/core/diff.js';
import { evaluateGates, runnableActions } from '../../agent/core/gates.js';
import { normalizeImageRef } from '../../agent/core/images.js';
import { planHost } from '../../agent/core/planner.js';
import type { ObservedContainer, OwnerRecord, RuntimeSnapshot } from '../../agent/core/snapshot.js';
import { TEST_IMAGE, desired, service } from '../lib/builders.js';
import { NAME_PREFIX, scenarioArb } from '../lib/arbitraries.js';
import { FIXTURE_PREFIX, applyPlanToSnapshot, idSource, journalViewOf, labelledFixture, ownedFixture, ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';

const web = service();
const key = (instance: number, svc = 'web', project = 'shop') => ({ project, service: svc, instance });

function round(docs: readonly HostDesired[], containers: readonly ObservedContainer[], records: readonly OwnerRecord[], fields: { images?: readonly string[]; foreignNames?: readonly string[] } = {}) {
  const snapshot = snapshotOf(containers, { images: fields.images ?? [TEST_IMAGE], foreignNames: fields.foreignNames ?? [] });
  return { snapshot, ...planRound({ desired: docs, snapshot, owners: ownersOf(records) }) };
}

describe('evaluateGates', () => {
  it('blocks nothing for an ordinary plan', () => {
    const { blocks, runnable, plan } = round([desired('shop', { web: service({ replicas: 2 }) })], [], []);
    assert.deepEqual(blocks, []);
    assert.deepEqual(runnable, plan.actions);
  });

  it('unowned-target: blocks a plan whose stop/remove/start targets a container the snapshot does not prove owned', () => {
    const { container, record } = ownedFixture(key(1), service({ image: 'nginx:1.27' }), { id: '0123456789abcdef' });
    const docs = [desired('shop', { web })];
    const owned = snapshotOf([container], { images: [TEST_IMAGE] });
    const diff = diffHost({ desired: docs, snapshot: owned, journal: journalViewOf(ownersOf([record])), namePrefix: FIXTURE_PREFIX });
    const plan = planHost({ diff, desired: docs, snapshot: owned, modes: new Map() });
    assert.deepEqual(
      plan.actions.map((a) => a.kind),
      ['stop', 'remove', 'create', 'start'],
    );
    // The same plan checked against an observation where the container lost its proof.
    const lost = snapshotOf([{ ...container, ownership: { owned: false, reason: 'no journal entry' } }], { images: [TEST_IMAGE] });
    const blocks = evaluateGates({ plan, diff, desired: docs, snapshot: lost });
    assert.deepEqual(blocks, [
      { project: 'shop', gate: 'unowned-target', message: 'stop of hw-shop-web-1 targets container 0123456789ab, which Hostwright does not own' },
      { project: 'shop', gate: 'unowned-target', message: 'remove of hw-shop-web-1 targets container 0123456789ab, which Hostwright does not own' },
      // The create that would follow also needs the name the unowned container holds.
      { project: 'shop', gate: 'name-conflict', message: 'hw-shop-web-1 is taken by container 0123456789ab (not owned by Hostwright); rename or remove it by hand' },
    ]);
    assert.deepEqual(runnableActions(plan, blocks), []);
  });

  it('unowned-target: a start of a container created earlier in the chain (no id) is not a target', () => {
    const { plan, diff } = round([desired('shop', { web })], [], []);
    assert.deepEqual(evaluateGates({ plan, diff, desired: [desired('shop', { web })], snapshot: snapshotOf([]) }), []);
  });

  it('name-conflict: a name another Hostwright agent on this engine holds names that agent', () => {
    const snapshot = { ...snapshotOf([], { images: [TEST_IMAGE], foreignNames: ['hw-shop-web-1'] }), foreignOwners: { 'hw-shop-web-1': 'h2' } };
    const { blocks } = planRound({ desired: [desired('shop', { web })], snapshot, owners: ownersOf([]) });
    assert.deepEqual(blocks, [{ project: 'shop', gate: 'name-conflict', message: 'hw-shop-web-1 is taken by container hw-shop-web-1 (owned by Hostwright agent h2); rename or remove it by hand' }]);
  });

  it('name-conflict: one block per conflicting name, naming the holder', () => {
    const identity = { ...key(2), hostId: 'h1', specHash: 'x', ownerToken: 'stolen' };
    const intruder = labelledFixture('fedcba9876543210', 'hw-shop-web-2', identity, ownersOf([]));
    const { blocks } = round([desired('shop', { web: service({ replicas: 3 }) })], [intruder], [], { foreignNames: ['hw-shop-web-1'] });
    assert.deepEqual(blocks, [
      { project: 'shop', gate: 'name-conflict', message: 'hw-shop-web-1 is taken by container hw-shop-web-1 (not managed by Hostwright on this host); rename or remove it by hand' },
      {
        project: 'shop',
        gate: 'name-conflict',
        message: "hw-shop-web-2 is taken by container fedcba987654 (labelled as Hostwright's but not owned: its owner token was not issued by this agent (no journal entry)); rename or remove it by hand",
      },
    ]);
  });

  it('host-policy: a project\'s volumes and networks its instances here use are checked with its services, and run nothing of the project', () => {
    const doc = desired('shop', { web: service({ volumes: ['hostroot:/h'], networks: ['front'], security_opt: ['seccomp=unconfined'] }), idle: service({ replicas: 0, volumes: ['spare:/s'] }) }, {
      volumes: { hostroot: { driver_opts: { type: 'none', o: 'bind', device: '/' } }, spare: { driver: 'rclone' } },
      networks: { front: { driver_opts: { 'com.docker.network.bridge.name': 'eth0' } } },
    });
    const { blocks, runnable } = round([doc], [], []);
    assert.deepEqual(blocks.map((block) => [block.gate, block.message.split(' is refused')[0]]), [
      ['host-policy', 'web: security_opt seccomp=unconfined (turns off the syscall filter)'],
      ['host-policy', 'network front: driver_opts com.docker.network.bridge.name (it can join or change the host\'s own interfaces, routes or port bindings)'],
      ['host-policy', 'volume hostroot: driver_opts device / (a bind mount of that host path)'],
    ]);
    assert.deepEqual(runnable.filter((action) => action.kind !== 'pull-image'), []);
  });

  it('empty-project: blocks removing every running instance unless allowEmpty', () => {
    const one = ownedFixture(key(1), web, { id: 'c1' });
    const two = ownedFixture(key(1, 'api'), web, { id: 'c2' });
    const containers = [one.container, two.container];
    const records = [one.record, two.record];
    const blocked = round([desired('shop', { web: service({ replicas: 0 }) })], containers, records);
    assert.deepEqual(blocked.blocks, [{ project: 'shop', gate: 'empty-project', message: 'the plan removes all 2 running instance(s) of project shop; pass --allow-empty to permit it' }]);
    assert.deepEqual(blocked.runnable, []);
    const allowed = round([desired('shop', { web: service({ replicas: 0 }) }, { allowEmpty: true })], containers, records);
    assert.deepEqual(allowed.blocks, []);
    // Two stops, two removes, and the project network nothing uses any more.
    assert.equal(allowed.runnable.length, 5);
  });

  it('empty-project: nothing running (or only unowned containers running) is not blocked', () => {
    const stopped = ownedFixture(key(1), web, { id: 'c1', state: 'exited' });
    const intruder = labelledFixture('c2', 'other', { ...key(1, 'api'), hostId: 'h1', specHash: 'x', ownerToken: 'nope' }, ownersOf([]));
    const { blocks, runnable } = round([desired('shop', {})], [stopped.container, intruder], [stopped.record]);
    assert.deepEqual(blocks, []);
    // The remove of the stopped container, and of the project network nothing uses any more.
    assert.deepEqual(runnable.map((action) => action.kind), ['remove', 'remove-network']);
  });

  it('empty-project: a project with replicas is never empty, even when everything is replaced', () => {
    const old = ownedFixture(key(1), service({ image: 'nginx:1.27' }), { id: 'c1' });
    assert.deepEqual(round([desired('shop', { web })], [old.container], [old.record]).blocks, []);
  });

  it('image-unavailable: a create whose image is absent and pull_policy is never', () => {
    const docs = [desired('shop', { web: service({ image: 'private/app:1', pull_policy: 'never' }), db: service({ image: 'redis:7' }) })];
    const { blocks, plan, runnable } = round(docs, [], [], { images: [] });
    assert.deepEqual(blocks, [{ project: 'shop', gate: 'image-unavailable', message: 'image private/app:1 for hw-shop-web-1 is not present locally and pull_policy is "never"' }]);
    assert.ok(plan.actions.some((a) => a.kind === 'pull-image' && a.image === 'private/app:1'), 'the plan still lists the pull');
    assert.deepEqual(runnable, []);
  });

  it('image-unavailable: present under another reference is present', () => {
    const docs = [desired('shop', { web: service({ image: 'busybox', pull_policy: 'never' }) })];
    assert.deepEqual(round(docs, [], [], { images: ['docker.io/library/busybox:latest'] }).blocks, []);
    assert.equal(normalizeImageRef('docker.io/library/busybox:latest'), normalizeImageRef('busybox'));
  });

  it('gates block per project, in project order, and the other projects still run', () => {
    const docs = [desired('beta', { web }), desired('alpha', { web: service({ image: 'private/app:1', pull_policy: 'never' }) }), desired('gamma', { web })];
    const { blocks, runnable } = round(docs, [], [], { images: [], foreignNames: ['hw-gamma-web-1'] });
    assert.deepEqual(
      blocks.map((b) => [b.project, b.gate]),
      [
        ['alpha', 'image-unavailable'],
        ['gamma', 'name-conflict'],
      ],
    );
    assert.deepEqual(
      runnable.map((a) => `${a.id} ${a.kind} ${a.kind === 'pull-image' ? a.image : a.name}`),
      [`a1 pull-image ${TEST_IMAGE}`, 'a5 create hw-beta-web-1', 'a6 start hw-beta-web-1'],
    );
  });

  it('identical blocks are reported once', () => {
    const { container } = ownedFixture(key(1), web, { id: 'c1', state: 'exited' });
    const plan = {
      hostId: 'h1',
      observedAt: '',
      observationFingerprint: '',
      projects: [],
      drift: [],
      actions: [
        { id: 'a1', kind: 'start', phase: 'instances', chain: 'c', key: key(1), name: 'hw-shop-web-1', containerId: 'c1', repair: true, reason: '' },
        { id: 'a2', kind: 'start', phase: 'instances', chain: 'c', key: key(1), name: 'hw-shop-web-1', containerId: 'c1', repair: true, reason: '' },
      ],
    } as const;
    const unowned: RuntimeSnapshot = snapshotOf([{ ...container, ownership: { owned: false, reason: 'x' } }]);
    const blocks = evaluateGates({ plan: { ...plan, actions: [...plan.actions], unusedVolumes: [] }, diff: { hostId: 'h1', projects: [] }, desired: [desired('shop', { web })], snapshot: unowned });
    assert.equal(blocks.length, 1);
  });
});

describe('runnableActions', () => {
  it('keeps only the pulls a remaining create needs', () => {
    const docs = [desired('alpha', { web: service({ image: 'nginx:1.27' }) }), desired('beta', { web: service({ image: 'redis:7', replicas: 2 }) })];
    const { plan, blocks, runnable } = round(docs, [], [], { images: [], foreignNames: ['hw-beta-web-2'] });
    assert.deepEqual(
      plan.actions.filter((a) => a.kind === 'pull-image').map((a) => a.kind === 'pull-image' && a.image),
      ['nginx:1.27', 'redis:7'],
    );
    assert.deepEqual(
      blocks.map((b) => b.project),
      ['beta'],
    );
    assert.deepEqual(
      runnable.map((a) => `${a.id} ${a.kind}`),
      ['a1 pull-image', 'a3 create', 'a4 start'],
    );
  });

  it('keeps the plan order and ids', () => {
    const { plan } = round([desired('shop', { web: service({ replicas: 2 }) })], [], [], { images: [] });
    assert.deepEqual(runnableActions(plan, []), plan.actions);
  });
});

describe('gates: properties', () => {
  it('runnable actions contain no action of a blocked project, and every runnable pull feeds a runnable create', () => {
    fc.assert(
      fc.property(scenarioArb(), (scenario) => {
        const { plan, blocks, runnable } = planRound({ desired: scenario.desired, snapshot: scenario.snapshot, owners: ownersOf(scenario.owners), modes: scenario.modes, namePrefix: NAME_PREFIX });
        const blocked = new Set(blocks.map((b) => b.project));
        const creates = new Set(runnable.flatMap((a) => (a.kind === 'create' ? [a.config.image] : [])));
        for (const action of runnable) {
          if (action.kind === 'pull-image') assert.ok(creates.has(action.image));
          else assert.ok(!blocked.has(projectOfAction(action) as string));
        }
        // Order preserved: runnable is a subsequence of the plan.
        const ids = plan.actions.map((a) => a.id);
        assert.deepEqual(
          runnable.map((a) => a.id),
          ids.filter((id) => runnable.some((a) => a.id === id)),
        );
      }),
      { numRuns: 200 },
    );
  });

  // Regression: a container kept under another name must not be replaced onto a name another container holds.
  it('the runnable actions of any plan are executable: gates catch every name conflict and every unavailable image', () => {
    fc.assert(
      fc.property(scenarioArb(), (scenario) => {
        const owners = ownersOf(scenario.owners);
        const { runnable } = planRound({ desired: scenario.desired, snapshot: scenario.snapshot, owners, modes: scenario.modes, namePrefix: NAME_PREFIX });
        applyPlanToSnapshot(scenario.snapshot, runnable, owners, scenario.snapshot.hostId, idSource());
      }),
      { numRuns: 200 },
    );
  });

  it('the runnable actions of any plan without unowned/foreign name holders are executable (images gated or pulled first)', () => {
    fc.assert(
      fc.property(scenarioArb({ nameConflicts: false }), (scenario) => {
        const owners = ownersOf(scenario.owners);
        const { runnable } = planRound({ desired: scenario.desired, snapshot: scenario.snapshot, owners, modes: scenario.modes, namePrefix: NAME_PREFIX });
        applyPlanToSnapshot(scenario.snapshot, runnable, owners, scenario.snapshot.hostId, idSource());
      }),
      { numRuns: 200 },
    );
  });
});

describe('port-conflict gate', () => {
  const bound = (port: string) => service({ ports: [port] });
  const gates = (docs: readonly HostDesired[], containers: readonly ObservedContainer[] = [], records: readonly OwnerRecord[] = [], foreignPorts: RuntimeSnapshot['foreignPorts'] = []) => {
    const snapshot = { ...snapshotOf(containers, { images: [TEST_IMAGE] }), foreignPorts };
    return planRound({ desired: docs, snapshot, owners: ownersOf(records) }).blocks.filter((block) => block.gate === 'port-conflict');
  };

  it('blocks two services of one project on the same host ip:port, and 0.0.0.0 against a specific address', () => {
    assert.deepEqual(gates([desired('shop', { api: bound('127.0.0.1:18081:80'), web: bound('127.0.0.1:18081:8080') })]), [
      { project: 'shop', gate: 'port-conflict', message: 'shop/api ("127.0.0.1:18081:80") and shop/web ("127.0.0.1:18081:8080") bind the same host port 18081/tcp on this host; give one of them another port or host address' },
    ]);
    assert.equal(gates([desired('shop', { api: bound('18081:80'), web: bound('127.0.0.1:18081:80') })]).length, 1);
  });

  it('lets the same port through on other addresses, on another protocol, or with no fixed host port', () => {
    assert.deepEqual(gates([desired('shop', { api: bound('127.0.0.1:18081:80'), web: bound('127.0.0.2:18081:80') })]), []);
    assert.deepEqual(gates([desired('shop', { api: bound('127.0.0.1:18081:80'), web: bound('127.0.0.1:18081:80/udp') })]), []);
    assert.deepEqual(gates([desired('shop', { api: bound('80'), web: bound('80') })]), []);
    assert.deepEqual(gates([desired('shop', { api: bound('127.0.0.1:18081:80'), web: service({ ports: ['127.0.0.1:18081:80'], replicas: 0 }) })]), []);
  });

  it('across projects blocks only the project that would bind the port now, naming both', () => {
    const running = ownedFixture(key(1, 'web', 'alpha'), bound('18081:80'), { id: 'c1' });
    const blocks = gates([desired('alpha', { web: bound('18081:80') }), desired('beta', { web: bound('127.0.0.1:18081:80') })], [running.container], [running.record]);
    assert.deepEqual(blocks, [{ project: 'beta', gate: 'port-conflict', message: 'alpha/web ("18081:80") and beta/web ("127.0.0.1:18081:80") bind the same host port 18081/tcp on this host; give one of them another port or host address' }]);
  });

  it('blocks a create whose port a container Hostwright does not own holds, and only an overlapping one', () => {
    const held = [{ holder: 'legacy-proxy', ip: '0.0.0.0', port: 18081, protocol: 'tcp' as const }];
    assert.deepEqual(gates([desired('shop', { web: bound('127.0.0.1:18081:80') })], [], [], held), [
      { project: 'shop', gate: 'port-conflict', message: 'shop/web binds host port "127.0.0.1:18081:80", which container legacy-proxy (not owned by Hostwright) already holds (0.0.0.0:18081/tcp); stop it or choose another port' },
    ]);
    assert.deepEqual(gates([desired('shop', { web: bound('127.0.0.1:18082:80') })], [], [], held), []);
    assert.deepEqual(gates([desired('shop', { web: bound('127.0.0.1:18081:80/udp') })], [], [], held), []);
    // Nothing to start, nothing to block: the instance already runs.
    const running = ownedFixture(key(1), bound('127.0.0.1:18081:80'), { id: 'c1' });
    assert.deepEqual(gates([desired('shop', { web: bound('127.0.0.1:18081:80') })], [running.container], [running.record], held), []);
  });

  it('names the agent that owns the holder when it is another Hostwright agent on the same engine', () => {
    const held = [{ holder: 'h2-shop-api-1', ownerHostId: 'h2', ip: '127.0.0.1', port: 18081, protocol: 'tcp' as const }];
    assert.deepEqual(gates([desired('shop', { api: bound('127.0.0.1:18081:80') })], [], [], held), [
      { project: 'shop', gate: 'port-conflict', message: 'shop/api binds host port "127.0.0.1:18081:80", which container h2-shop-api-1 (owned by Hostwright agent h2) already holds (127.0.0.1:18081/tcp); stop it or choose another port' },
    ]);
  });
});
