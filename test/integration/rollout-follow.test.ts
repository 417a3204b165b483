import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { FALLBACK_READ_MS } from '../../coordinator/report-watch.js';
import { RolloutStore } from '../../coordinator/rollout/rollout-driver.js';
import type { RolloutState } from '../../coordinator/rollout/rollout-state.js';
import { startRollout } from '../../coordinator/rollout/rollout-step.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { killOnExit } from '../lib/child-reaper.js';
import { startCli } from '../lib/cli.js';
import { waitFor } from '../lib/wait.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

// A real nats-server: `rollout status --watch` follows the rollout's key by KV watch, not by re-reading it.
describe('RolloutStore.follow: a rollout\'s states as they are written', () => {
  let server: NatsServerHandle;
  let client: FleetClient;
  let store: RolloutStore;

  const rolloutOf = (id: string): RolloutState => startRollout({
    id,
    project: 'shop',
    correlationID: `c-${id}`,
    now: new Date(),
    options: { canary: 1, maxParallel: 1, minHealthyMs: 0, healthyDeadlineMs: 60_000, maxFailures: 0, onFailure: 'pause', order: 'stop-first', skipOffline: false },
    targets: ['h1', 'h2'].map((hostId) => ({ hostId, target: desired('shop', { web: service() }, { hostId, revision: 2 }), previous: null })),
  });
  const write = async (id: string, change: (state: RolloutState) => RolloutState): Promise<void> => {
    const found = await store.get(id);
    assert.ok(found);
    assert.notEqual(await store.update({ ...change(found.state), updatedAt: new Date().toISOString() }, found.revision), undefined);
  };
  const followAll = async (id: string, signal?: AbortSignal): Promise<RolloutState[]> => {
    const seen: RolloutState[] = [];
    for await (const state of store.follow(id, signal)) seen.push(state);
    return seen;
  };

  before(async () => {
    server = await startNatsServer();
    client = await FleetClient.connect(server.url, pino({ level: 'silent' }));
    store = new RolloutStore(client);
  });
  after(async () => {
    await client?.close();
    await server?.cleanup();
  });

  it('gives the current state, then each write, and ends at once when the rollout finishes, without waiting for its re-read', { timeout: 30_000 }, async () => {
    const id = uniqueName('r');
    await store.create(rolloutOf(id));
    const following = followAll(id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await write(id, (state) => ({ ...state, currentWave: 1 }));
    const finishedAt = performance.now();
    await write(id, (state) => ({ ...state, status: 'succeeded' }));
    const seen = await following;
    const endedAfterMs = performance.now() - finishedAt;
    assert.deepEqual(seen.map((state) => [state.status, state.currentWave]), [['running', 0], ['running', 1], ['succeeded', 1]]);
    assert.ok(endedAfterMs < FALLBACK_READ_MS - 1_000, `ended ${Math.round(endedAfterMs)} ms after the last write: by the watch, not the ${FALLBACK_READ_MS} ms re-read`);
  });

  it('ends at a pause, at a deleted rollout and when its signal aborts; a finished rollout gives its state once', { timeout: 30_000 }, async () => {
    const paused = uniqueName('r');
    await store.create(rolloutOf(paused));
    const untilPause = followAll(paused);
    await write(paused, (state) => ({ ...state, status: 'paused', reason: 'paused by test' }));
    assert.deepEqual((await untilPause).map((state) => state.status).at(-1), 'paused');
    assert.deepEqual((await followAll(paused)).map((state) => state.status), ['paused'], 'already paused: its state, then the end');

    const deleted = uniqueName('r');
    await store.create(rolloutOf(deleted));
    const untilDeleted = followAll(deleted);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await client.connection.rollouts.delete(deleted);
    assert.deepEqual((await untilDeleted).map((state) => state.status), ['running']);

    const aborted = uniqueName('r');
    await store.create(rolloutOf(aborted));
    const stop = new AbortController();
    const untilAbort = followAll(aborted, stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop.abort();
    assert.deepEqual((await untilAbort).map((state) => state.status), ['running']);
  });

  it('`rollout status ID --watch --json` prints the state, a progress line per change, and the final state, and exits when the rollout finishes', { timeout: 60_000 }, async () => {
    const id = uniqueName('r');
    await store.create(rolloutOf(id));
    const watch = startCli(['rollout', 'status', id, '--watch', '--json', '--nats', server.url]);
    killOnExit(watch);
    const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)));
    await waitFor('the first state printed', async () => watch.output().includes(`"id":"${id}"`) || undefined, 20_000, 100).catch((error: unknown) => {
      throw new Error(`${String(error)}; printed:\n${watch.output()}`);
    });
    await write(id, (state) => ({ ...state, status: 'succeeded', hosts: state.hosts.map((host) => ({ ...host, state: 'healthy', writtenRevision: 2 })) }));
    assert.equal(await exited, 0, watch.output());
    const output = watch.output();
    assert.match(output, /"progress":/, output);
    const last = JSON.parse(output.trimEnd().split('\n').at(-1) ?? '') as RolloutState;
    assert.deepEqual([last.id, last.status], [id, 'succeeded'], 'the final state last');
  });
});
