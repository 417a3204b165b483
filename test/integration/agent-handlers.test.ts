import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { controlSocketPath } from '../../agent/control-server.js';
import { runFleetAgent } from '../../agent/fleet/fleet-agent.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import type { RuntimeAdapter } from '../../agent/runtime/runtime-adapter.js';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { desiredKey } from '../../shared/subjects.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, removeHostObjects } from '../lib/docker-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { testSigner } from '../lib/signing.js';
import { waitFor } from '../lib/wait.js';

/** The real Docker runtime, made to throw from every call while `failing` is set. */
function faultyRuntime(real: RuntimeAdapter): RuntimeAdapter & { failing: boolean; calls: number } {
  const state = { failing: false, calls: 0 };
  const faulty = new Proxy(real, {
    get(target, property, receiver) {
      if (property === 'failing' || property === 'calls') return state[property];
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      // The event stream goes on throughout; methods run on the runtime itself (it has private fields).
      if (property === 'watchEvents') return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        if (state.failing) {
          state.calls += 1;
          throw new Error(`injected fault in ${String(property)}`);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
    set(_target, property, value) {
      if (property !== 'failing') return false;
      state.failing = value as boolean;
      return true;
    },
  });
  return faulty as RuntimeAdapter & { failing: boolean; calls: number };
}

function controlStatus(dataDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: controlSocketPath(dataDir), path: '/v1/status' }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Every handler of a fleet agent meets a failure inside it (the runtime throwing from every call,
 * garbage on its desired key and plan subject), and the agent stays up, says what failed, and
 * does its job again once the fault is gone. No error escapes to the process.
 */
describe('an agent whose every handler meets a failure stays up', { timeout: 180_000 }, () => {
  const hostId = uniqueName('hh');
  const project = uniqueName('handlers');
  const signer = testSigner();
  const abort = new AbortController();
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);
  let nats: NatsServerHandle;
  let client: FleetClient;
  let dataDir: string;
  let agent: Promise<void>;
  let runtime: ReturnType<typeof faultyRuntime>;

  before(async () => {
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
    nats = await startNatsServer();
    client = await FleetClient.connect(nats.url, pino({ level: 'silent' }), {}, signer);
    dataDir = await mkdtemp(join(tmpdir(), 'hw-handlers-'));
    runtime = faultyRuntime(new DockerRuntime());
    agent = runFleetAgent({ hostId, labels: {}, natsUrl: nats.url, trust: { kind: 'pinned', coordinatorKey: signer.publicKey }, dataDir, namePrefix: `${hostId}-`, parallelism: 2, resyncMs: 1_000, heartbeatMs: 500, metricsAddr: undefined, logger: pino({ level: process.env.HW_TEST_LOG ?? 'silent' }), signal: abort.signal, runtime });
    await waitFor('the agent to register', async () => (await client.hosts()).some((host) => host.hostId === hostId), 30_000);
  });
  after(async () => {
    abort.abort();
    await agent?.catch(() => undefined);
    await client?.close();
    await nats?.cleanup();
    const left = await docker.listContainers({ all: true, filters: { name: [`${hostId}-`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    await removeHostObjects(hostId);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  });

  it('plan requests, desired documents, cycles, status reports and control requests that fail are answered, recorded and survived', async () => {
    runtime.failing = true;
    // The plan handler: its dry run throws inside it.
    const failedPlan = await client.requestPlan(desired(project, { api: service() }, { hostId }), 'fault-plan', 10_000);
    assert.equal(failedPlan?.ok, false);
    assert.match(failedPlan?.ok === false ? failedPlan.error : '', /injected fault/);
    // Garbage where requests and documents arrive: the plan subject and the desired key.
    client.connection.nc.publish(`hw.rpc.${hostId}.plan`, randomBytes(300));
    await client.connection.desired.put(desiredKey(hostId, project), randomBytes(300));
    // A good document: the cycle it wakes throws in its observation; the status report too.
    await client.writeDesired(desired(project, { api: service() }, { hostId, revision: 2 }), (await client.desiredOf(project)).get(hostId)?.kvRevision ?? 0);
    // The control server's status read observes, and throws.
    assert.equal(await controlStatus(dataDir), 500);
    await waitFor('the runtime to be called while failing', async () => runtime.calls >= 3, 20_000);

    runtime.failing = false;
    const plan = await client.requestPlan(desired(project, { api: service() }, { hostId, revision: 2 }), 'after-fault', 10_000);
    assert.equal(plan?.ok, true, JSON.stringify(plan));
    await waitFor('the document applied once the fault is gone', async () => {
      const status = (await client.statuses()).find((report) => report.hostId === hostId);
      const state = status?.status.projects.find((p) => p.project === project);
      return state?.appliedRevision === 2 && state.converged;
    }, 60_000);
    assert.equal(await controlStatus(dataDir), 200);
    assert.deepEqual(escaped, [], 'an error escaped a handler');
  });
});
