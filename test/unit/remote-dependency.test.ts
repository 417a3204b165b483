import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { remoteDependencyVerdict } from '../../agent/core/remote-dependency.js';
import { evaluateGates } from '../../agent/core/gates.js';
import { STARTED_TIMEOUT_SECONDS } from '../../agent/core/start-order.js';
import { actionHandlers, type ExecutionContext } from '../../agent/executor.js';
import { describeAction, type ActionOf } from '../../shared/actions.js';
import type { DependencyCondition } from '../../shared/depends-on.js';
import type { EndpointRecord } from '../../shared/endpoint-record.js';
import { renderPlan } from '../../coordinator/cli/render/plan-view.js';
import { projectWiring, wiringLines } from '../../coordinator/wiring.js';
import { TEST_IMAGE, desired, service } from '../lib/builders.js';
import { ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';

const instance = (n: number) => ({ name: `shop-api-${n}`, instance: n, addresses: { default: `10.64.33.${n + 1}` }, ports: [] });
const record = (hostId: string, healthy: number, running?: number): EndpointRecord => ({ hostId, project: 'shop', service: 'api', instances: Array.from({ length: healthy }, (_, i) => instance(i + 1)), ...(running === undefined ? {} : { running }), refreshedAt: '2026-12-07T12:00:00.000Z' });

describe('depends_on across hosts: the wait decision (pure)', () => {
  it('service_started holds on a running instance on any placed host, service_healthy on a listed (healthy) one', () => {
    assert.equal(remoteDependencyVerdict('api', 'service_started', ['h2', 'h3'], [record('h2', 0, 1)]).kind, 'met');
    assert.equal(remoteDependencyVerdict('api', 'service_healthy', ['h2', 'h3'], [record('h2', 0, 1)]).kind, 'waiting');
    assert.deepEqual(remoteDependencyVerdict('api', 'service_healthy', ['h2', 'h3'], [record('h2', 0, 1), record('h3', 1, 1)]), { kind: 'met', message: 'api is healthy on h3' });
    assert.deepEqual(remoteDependencyVerdict('api', 'service_started', ['h2', 'h3'], []), { kind: 'waiting', message: 'api has no running instance on h2, h3 (no endpoint record from them yet)' });
    // A record from before `running` was counted: a listed instance is running.
    assert.equal(remoteDependencyVerdict('api', 'service_started', ['h2'], [record('h2', 1)]).kind, 'met');
  });

  it('a completion cannot be seen from another host: refused, whatever the records say', () => {
    assert.equal(remoteDependencyVerdict('migrate', 'service_completed_successfully', ['h2'], [record('h2', 1, 1)]).kind, 'failed');
    assert.equal(remoteDependencyVerdict('api', 'service_started', [], [record('h2', 1, 1)]).kind, 'failed');
  });

  it('property: met exactly when a placed host\'s record meets the condition; records of hosts not placed change nothing', () => {
    const hostArb = fc.constantFrom<string>('h1', 'h2', 'h3', 'h4');
    const recordArb = fc.record({ hostId: hostArb, healthy: fc.nat(2), running: fc.option(fc.nat(3), { nil: undefined }) }).map((r) => record(r.hostId, r.healthy, r.running === undefined ? undefined : Math.max(r.running, r.healthy)));
    fc.assert(
      fc.property(fc.constantFrom<DependencyCondition>('service_started', 'service_healthy'), fc.uniqueArray(hostArb, { minLength: 1 }), fc.array(recordArb, { maxLength: 6 }), (condition, hosts, records) => {
        const placed = records.filter((r) => hosts.includes(r.hostId));
        const expected = placed.some((r) => r.instances.length > 0 || (condition === 'service_started' && (r.running ?? 0) > 0));
        const verdict = remoteDependencyVerdict('api', condition, hosts, records);
        assert.equal(verdict.kind, expected ? 'met' : 'waiting');
        assert.equal(remoteDependencyVerdict('api', condition, hosts, placed).kind, verdict.kind);
        // Healthy is the stronger condition: whatever meets it meets started.
        if (remoteDependencyVerdict('api', 'service_healthy', hosts, records).kind === 'met') assert.equal(remoteDependencyVerdict('api', 'service_started', hosts, records).kind, 'met');
      }),
    );
  });
});

describe('depends_on across hosts: plan and gates (pure)', () => {
  const web = (condition: DependencyCondition) => service({ depends_on: { api: { condition } } });
  const plan = (condition: DependencyCondition, remotes?: Record<string, Record<string, object>>) => {
    const doc = desired('shop', { web: web(condition) }, remotes === undefined ? {} : { remotes });
    const round = planRound({ desired: [doc], snapshot: snapshotOf([], { images: [TEST_IMAGE] }), owners: ownersOf([]) });
    return { ...round, doc };
  };

  it('a dependency placed on other hosts is waited for there (no gate); plan says so', () => {
    const { plan: actions, blocks } = plan('service_healthy', { api: { h3: {}, h2: {} } });
    assert.deepEqual(blocks, []);
    const wait = actions.actions.find((action): action is ActionOf<'await-dependency'> => action.kind === 'await-dependency');
    assert.ok(wait);
    // The dependency's health check is in the other hosts' documents, not this one: the started bound.
    assert.deepEqual([wait.hosts, wait.containers, wait.condition, wait.timeoutSeconds], [['h2', 'h3'], [], 'service_healthy', STARTED_TIMEOUT_SECONDS]);
    assert.deepEqual(actions.actions.map((action) => action.kind), ['await-dependency', 'create', 'start']);
    assert.match(describeAction(wait), /^wait until api is healthy on h2, h3 \(endpoint registry\) before hw-shop-web-1 \(up to \d+s\)$/);
    const report = { hostId: 'h1', projects: [], observedAt: '2026-12-07T12:00:00Z', diff: [], actions: actions.actions.map((a) => ({ ...a, blocked: false })), blocked: [], drift: [] };
    const rendered = renderPlan(report as unknown as Parameters<typeof renderPlan>[0]);
    assert.match(rendered, /hw-shop-web-1: waits for api on h2, h3 \(healthy, up to \d+s\)/);
  });

  it('service_completed_successfully across hosts, and a dependency placed nowhere, are gates', () => {
    const completed = plan('service_completed_successfully', { api: { h2: {} } });
    assert.deepEqual(completed.blocks.map((block) => block.gate), ['service-not-here']);
    assert.match(completed.blocks[0]?.message ?? '', /runs on h2: a completion can be waited for on one host only/);
    const nowhere = plan('service_started', { db: { h2: {} } });
    assert.deepEqual(nowhere.blocks.map((block) => block.message), ['web depends on api (depends_on), which is placed on no host (none here, none elsewhere); place it, or set required: false']);
    assert.deepEqual(evaluateGates({ ...completed, desired: [completed.doc], snapshot: snapshotOf([]) }).map((block) => block.gate), ['service-not-here']);
  });
});

describe('depends_on across hosts: the executor waits on the registry view', () => {
  const action: ActionOf<'await-dependency'> = { id: 'a1', kind: 'await-dependency', phase: 'instances', chain: 'shop/web/1', key: { project: 'shop', service: 'web', instance: 1 }, name: 'web-1', dependency: 'api', condition: 'service_healthy', containers: [], timeoutSeconds: 1, hosts: ['h2'], reason: 'depends_on api (service_healthy)' };
  const context = (records: () => EndpointRecord[]): ExecutionContext => ({ runtime: {} as ExecutionContext['runtime'], owners: {} as ExecutionContext['owners'], hostId: 'h1', ownerToken: undefined, chainContainerId: undefined, signal: new AbortController().signal, remoteRecords: () => records() });

  it('ends when the view turns healthy, fails after its bound when it does not', async () => {
    let records: EndpointRecord[] = [record('h2', 0, 1)];
    setTimeout(() => (records = [record('h2', 1, 1)]), 300);
    const started = Date.now();
    const outcome = await actionHandlers['await-dependency'](action, context(() => records));
    assert.equal(outcome.message, 'api is healthy on h2');
    assert.ok(Date.now() - started >= 250);
    await assert.rejects(actionHandlers['await-dependency'](action, context(() => [record('h2', 0, 1)])), /web-1 not started: api has no healthy instance on h2 after 1s \(depends_on api: service_healthy\)/);
  });
});

describe('the wiring of a project spread over hosts (pure)', () => {
  it('each depends_on edge with the hosts of both ends: same host, across hosts, or placed nowhere', () => {
    const documents = [
      desired('shop', { web: service({ depends_on: { api: { condition: 'service_healthy' }, cache: { required: false } } }) }, { hostId: 'h1' }),
      desired('shop', { api: service({ depends_on: ['db'] }), db: service() }, { hostId: 'h2' }),
      desired('shop', { api: service({ depends_on: ['db'] }) }, { hostId: 'h3' }),
    ];
    const edges = projectWiring(documents);
    assert.deepEqual(edges.map((edge) => [edge.from, edge.fromHosts, edge.to, edge.toHosts, edge.reach]), [
      ['api', ['h2', 'h3'], 'db', ['h2'], 'across-hosts'],
      ['web', ['h1'], 'api', ['h2', 'h3'], 'across-hosts'],
      ['web', ['h1'], 'cache', [], 'nowhere'],
    ]);
    assert.deepEqual(wiringLines(edges, (text) => text), [
      'api (h2, h3) -> db (h2): depends_on service_started, across hosts (endpoint registry)',
      'web (h1) -> api (h2, h3): depends_on service_healthy, across hosts (endpoint registry)',
      'web (h1) -> cache (no host): depends_on service_started, placed on no host (required: false, skipped)',
    ]);
    assert.deepEqual(projectWiring([desired('solo', { a: service({ depends_on: ['b'] }), b: service() }, { hostId: 'h1' })]).map((edge) => edge.reach), ['same-host']);
  });
});
