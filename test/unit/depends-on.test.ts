import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetFileError } from '../lib/fleet-file-error.js';
import fc from 'fast-check';
import { parseFleetFile } from '../../coordinator/fleet-file.js';
import { dependencyCycles, startOrder, type DependsOn } from '../../shared/depends-on.js';
import type { Action } from '../../shared/actions.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { evaluateGates } from '../../agent/core/gates.js';
import { TEST_IMAGE, desired, service } from '../lib/builders.js';
import { NAME_PREFIX, scenarioArb } from '../lib/arbitraries.js';
import { ownedFixture, ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';


const lines = (...rows: string[]) => `${rows.join('\n')}\n`;
const key = (svc: string, instance = 1) => ({ project: 'shop', service: svc, instance });

/** "kind name" per action (await-dependency: "await name<-dependency"), in plan order. */
function steps(actions: readonly Action[]): string[] {
  return actions.map((action) => (action.kind === 'await-dependency' ? `await ${action.name}<-${action.dependency}:${action.condition}` : `${action.kind} ${action.kind === 'pull-image' ? action.image : action.name}`));
}

describe('depends_on in a fleet file', () => {
  it('accepts the list and the mapping form (null entries are all defaults)', () => {
    const fleet = parseFleetFile(
      lines('project: p', 'services:', '  db:', '    image: x', '  migrate:', '    image: x', '    restart: "no"', '  api:', '    image: x', '    depends_on: [db]', '  web:', '    image: x', '    depends_on:', '      api: {condition: service_healthy, restart: true}', '      migrate:', '        condition: service_completed_successfully', '      db:'),
      'fleet.yaml',
    );
    assert.deepEqual(fleet.services.api?.depends_on, ['db']);
    assert.deepEqual(fleet.services.web?.depends_on, { api: { condition: 'service_healthy', restart: true }, migrate: { condition: 'service_completed_successfully' }, db: {} });
  });

  it('refuses an unknown service, itself, a repeat, a bad condition and a disabled health check, each with its path and line', () => {
    assert.equal(fleetFileError(lines('project: p', 'services:', '  api:', '    image: x', '    depends_on: [db]')), 'fleet.yaml:5:18 services.api.depends_on[0]: no service db in this project');
    assert.equal(fleetFileError(lines('project: p', 'services:', '  api:', '    image: x', '    depends_on:', '      api: {}')), 'fleet.yaml:6:12 services.api.depends_on.api: a service cannot depend on itself');
    assert.match(fleetFileError(lines('project: p', 'services:', '  db:', '    image: x', '  api:', '    image: x', '    depends_on: [db, db]')), /^fleet\.yaml:7:\d+ services\.api\.depends_on\[1\]: db is listed twice/);
    assert.match(fleetFileError(lines('project: p', 'services:', '  db:', '    image: x', '  api:', '    image: x', '    depends_on:', '      db: {condition: healthy}')), /^fleet\.yaml:8:\d+ services\.api\.depends_on/);
    assert.match(fleetFileError(lines('project: p', 'services:', '  db:', '    image: x', '    healthcheck: {disable: true}', '  api:', '    image: x', '    depends_on:', '      db: {condition: service_healthy}')), /^fleet\.yaml:9:\d+ services\.api\.depends_on\.db\.condition: db has its health check disabled/);
  });

  it('refuses a cycle at load time, naming the services in it', () => {
    const message = fleetFileError(lines('project: p', 'services:', '  web:', '    image: x', '    depends_on: [api]', '  api:', '    image: x', '    depends_on: [db]', '  db:', '    image: x', '    depends_on: [web]', '  other:', '    image: x', '    depends_on: [web]'));
    assert.match(message, /services\.api\.depends_on: depends_on forms a cycle: api -> db -> web -> api/);
    assert.equal(message.match(/forms a cycle/g)?.length, 1, message);
  });

  it('leaves the spec hash as it was: depends_on changes order, not the container', () => {
    assert.equal(specHashOf(service({ depends_on: { db: { condition: 'service_healthy' } } })), specHashOf(service()));
  });
});

/** A random dependency graph over up to 8 services (cycles possible; a service naming itself is refused on its own). */
const graphArb = fc
  .dictionary(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), fc.uniqueArray(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'x'), { maxLength: 3 }), { minKeys: 1 })
  .map((graph) => Object.fromEntries(Object.entries(graph).map(([name, deps]) => [name, deps.filter((dep) => dep !== name)])));

function reachable(graph: Readonly<Record<string, readonly string[]>>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [...(graph[from] ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (next === to) return true;
    if (seen.has(next) || !Object.hasOwn(graph, next)) continue;
    seen.add(next);
    stack.push(...(graph[next] ?? []));
  }
  return false;
}

describe('start order (properties)', () => {
  it('is a topological order: every service ranks above each dependency; exactly the services on or after a cycle are left out', () => {
    fc.assert(
      fc.property(graphArb, (graph) => {
        const services = Object.fromEntries(Object.entries(graph).map(([name, deps]) => [name, { depends_on: deps as DependsOn }]));
        const { ranks, blocked } = startOrder(services);
        for (const [name, deps] of Object.entries(graph)) {
          const onCycle = Object.keys(graph).some((other) => (other === name || reachable(graph, name, other)) && reachable(graph, other, other));
          assert.equal(blocked.includes(name), onCycle, `${name}: blocked ${String(blocked.includes(name))}`);
          if (onCycle) continue;
          for (const dep of deps) if (Object.hasOwn(graph, dep)) assert.ok((ranks.get(dep) as number) < (ranks.get(name) as number), `${dep} before ${name}`);
        }
        const cycles = dependencyCycles(services);
        assert.equal(cycles.length > 0, blocked.length > 0);
        for (const cycle of cycles) for (const [i, name] of cycle.entries()) assert.ok(graph[name]?.includes(cycle[(i + 1) % cycle.length] as string), `${cycle.join('->')}`);
      }),
      { numRuns: 300 },
    );
  });

  it('in every plan a chain that waits for a dependency comes after all of that dependency\'s chains', () => {
    let waits = 0;
    fc.assert(
      fc.property(scenarioArb({ allImagesPresent: true }), (scenario) => {
        const { plan } = planRound({ desired: scenario.desired, snapshot: scenario.snapshot, owners: ownersOf(scenario.owners), modes: scenario.modes, namePrefix: NAME_PREFIX });
        const firstIndex = new Map<string, number>();
        const lastIndex = new Map<string, number>();
        for (const [index, action] of plan.actions.entries()) {
          if (action.phase !== 'instances' || !('key' in action)) continue;
          if (!firstIndex.has(action.chain)) firstIndex.set(action.chain, index);
          lastIndex.set(`${action.key.project}/${action.key.service}`, index);
        }
        for (const action of plan.actions) {
          if (action.kind !== 'await-dependency') continue;
          waits += 1;
          const dependencyLast = lastIndex.get(`${action.key.project}/${action.dependency}`);
          if (dependencyLast !== undefined) assert.ok(dependencyLast < (firstIndex.get(action.chain) as number), `${action.chain} starts before ${action.dependency}'s chains end`);
        }
      }),
      { numRuns: 200 },
    );
    assert.ok(waits > 20, `only ${waits} dependency waits planned`);
  });
});

describe('depends_on in the plan', () => {
  const api = service({ healthcheck: { test: ['CMD', 'true'] } });
  const migrate = service({ restart: 'no' });
  const web = service({ depends_on: { api: { condition: 'service_healthy' } } });

  it('creates dependencies first and opens each dependent chain with a wait for its condition', () => {
    const doc = desired('shop', { web, api: service({ ...api, depends_on: { migrate: { condition: 'service_completed_successfully' } } }), migrate });
    const { plan, blocks } = planRound({ desired: [doc], snapshot: snapshotOf([], { images: [TEST_IMAGE] }), owners: ownersOf([]) });
    assert.deepEqual(blocks, []);
    assert.deepEqual(steps(plan.actions), [
      'create hw-shop-migrate-1',
      'start hw-shop-migrate-1',
      'await hw-shop-api-1<-migrate:service_completed_successfully',
      'create hw-shop-api-1',
      'start hw-shop-api-1',
      'await hw-shop-web-1<-api:service_healthy',
      'create hw-shop-web-1',
      'start hw-shop-web-1',
    ]);
    const wait = plan.actions.find((action) => action.kind === 'await-dependency' && action.dependency === 'api');
    assert.ok(wait?.kind === 'await-dependency');
    assert.deepEqual(wait.containers, ['hw-shop-api-1']);
    assert.equal(wait.chain, 'shop/web/1');
    assert.ok(wait.timeoutSeconds >= 10);
  });

  it('restart: true restarts a running dependent after its dependency is replaced; without it the dependent is left alone', () => {
    for (const restart of [true, false]) {
      const dependent = service({ depends_on: { api: { restart } } });
      const oldApi = ownedFixture(key('api'), service({ env: { V: '1' } }), { id: 'a1' });
      const webNow = ownedFixture(key('web'), dependent, { id: 'w1' });
      const doc = desired('shop', { api: service({ env: { V: '2' } }), web: dependent });
      const { plan } = planRound({ desired: [doc], snapshot: snapshotOf([oldApi.container, webNow.container], { images: [TEST_IMAGE] }), owners: ownersOf([oldApi.record, webNow.record]) });
      const expected = ['stop hw-shop-api-1', 'remove hw-shop-api-1', 'create hw-shop-api-1', 'start hw-shop-api-1'];
      assert.deepEqual(steps(plan.actions), restart ? [...expected, 'await hw-shop-web-1<-api:service_started', 'stop hw-shop-web-1', 'start hw-shop-web-1'] : expected);
    }
  });

  it('a required dependency with no instance on this host blocks the project (service-not-here); required: false only skips the wait', () => {
    for (const required of [true, false]) {
      const doc = desired('shop', { web: service({ depends_on: { db: { required } } }) });
      const { plan, blocks } = planRound({ desired: [doc], snapshot: snapshotOf([], { images: [TEST_IMAGE] }), owners: ownersOf([]) });
      assert.deepEqual(steps(plan.actions), ['create hw-shop-web-1', 'start hw-shop-web-1']);
      assert.deepEqual(
        blocks.map((block) => `${block.gate}: ${block.message}`),
        required ? ['service-not-here: web depends on db (depends_on), which is placed on no host (none here, none elsewhere); place it, or set required: false'] : [],
      );
    }
  });

  it('a converged project plans no waits, and a one-shot that exited is not restarted: done at 0, failed otherwise (as the engine leaves it)', () => {
    const apiNow = ownedFixture(key('api'), api, { id: 'a1', health: 'healthy' });
    const webNow = ownedFixture(key('web'), web, { id: 'w1' });
    const migrateNow = ownedFixture(key('migrate'), migrate, { id: 'm1', state: 'exited' });
    const doc = desired('shop', { api, web, migrate });
    const round = (exitCode: number) =>
      planRound({ desired: [doc], snapshot: snapshotOf([apiNow.container, webNow.container, { ...migrateNow.container, exitCode }], { images: [TEST_IMAGE] }), owners: ownersOf([apiNow.record, webNow.record, migrateNow.record]), modes: new Map([['shop', 'maintain']]) });
    assert.deepEqual(steps(round(0).plan.actions), []);
    assert.deepEqual(steps(round(1).plan.actions), [], 'a failed one-shot under restart "no" is left exited (its condition reports it)');
    assert.deepEqual(evaluateGates({ ...round(0), desired: [doc], snapshot: snapshotOf([]) }), []);
  });

  it('under on-failure:<n> a failure is started again until the engine gave up (n restarts), then left exited; a changed spec still replaces it', () => {
    const limited = service({ restart: 'on-failure:2' });
    const doc = desired('shop', { migrate: limited });
    const now = ownedFixture(key('migrate'), limited, { id: 'm1', state: 'exited' });
    const round = (exitCode: number, restartCount: number, document = doc) =>
      steps(planRound({ desired: [document], snapshot: snapshotOf([{ ...now.container, exitCode, restartCount }], { images: [TEST_IMAGE] }), owners: ownersOf([now.record]), modes: new Map([['shop', 'maintain']]) }).plan.actions);
    assert.deepEqual(round(0, 0), [], 'done');
    assert.deepEqual(round(1, 2), [], 'the engine restarted it twice and gave up');
    assert.deepEqual(round(1, 1), ['start hw-shop-migrate-1'], 'stopped before the engine gave up: stopped drift');
    const unlimited = service({ restart: 'on-failure' });
    const plain = ownedFixture(key('migrate'), unlimited, { id: 'm1', state: 'exited' });
    assert.deepEqual(steps(planRound({ desired: [desired('shop', { migrate: unlimited })], snapshot: snapshotOf([{ ...plain.container, exitCode: 1, restartCount: 9 }], { images: [TEST_IMAGE] }), owners: ownersOf([plain.record]), modes: new Map([['shop', 'maintain']]) }).plan.actions), ['start hw-shop-migrate-1'], 'without a limit the engine never gives up: an exited failure was stopped');
    const changed = desired('shop', { migrate: service({ restart: 'on-failure:2', env: { STEP: '2' } }) });
    assert.ok(round(1, 2, changed).some((step) => step.startsWith('create hw-shop-migrate-1')), 'a changed spec replaces the failed one-shot');
  });
});
