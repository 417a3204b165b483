import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Reconciler } from '../../agent/reconciler.js';
import { Journal } from '../../agent/store/journal.js';
import { HollowRuntime, hollowLatency } from '../../bench/hollow-runtime.js';
import { NameConflictError } from '../../shared/errors.js';
import { desired, service } from '../lib/builders.js';

const IMAGES = ['hw/busybox:test', 'hw/busybox:scale-v2'];

// The scale benchmark's figures mean something only if the real reconciler converges a hollow host
// exactly as it would a Docker one: in one cycle, then with nothing left to do.
describe('hollow runtime under the real reconciler and journal (LevelDB)', () => {
  it('converges from nothing, plans nothing on a converged host, and replaces every instance on an image change', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-hollow-test-'));
    const journal = await Journal.open(dir);
    try {
      const runtime = new HollowRuntime(hollowLatency(0), IMAGES);
      const reconciler = new Reconciler({ runtime, journal, hostId: 'h1', logger: pino({ level: 'silent' }), parallelism: 4 });
      await journal.putDesired(desired('shop', { web: service({ replicas: 3 }) }));

      const first = await reconciler.runCycle();
      assert.equal(first.failed, false);
      assert.deepEqual(first.results.map((r) => r.action.kind).sort(), ['create', 'create', 'create', 'create-network', 'start', 'start', 'start']);
      assert.equal(first.status?.projects[0]?.converged, true);
      assert.equal((await runtime.listContainers()).filter((c) => c.state === 'running').length, 3);

      const again = await reconciler.runCycle();
      assert.equal(again.plan.actions.length, 0, 'a converged hollow host must plan nothing');

      await journal.putDesired(desired('shop', { web: service({ replicas: 3, image: 'hw/busybox:scale-v2' }) }, { revision: 2 }));
      const changed = await reconciler.runCycle();
      assert.equal(changed.failed, false);
      assert.equal(changed.status?.projects[0]?.converged, true);
      const listed = await runtime.listContainers();
      assert.equal(listed.length, 3);
      for (const summary of listed) assert.equal((await runtime.inspectContainer(summary.id))?.view.image, 'hw/busybox:scale-v2');
      assert.equal((await reconciler.runCycle()).plan.actions.length, 0);
    } finally {
      await journal.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers like the Docker runtime: idempotent start/stop/remove, a taken name is a NameConflictError', async () => {
    const runtime = new HollowRuntime(hollowLatency(0), IMAGES);
    const request = { name: 'a', config: { image: 'hw/busybox:test', command: ['sleep', '1'], env: {}, ports: [], volumes: [], labels: {}, restart: 'unless-stopped' as const, healthcheck: undefined, stop_timeout: '1s' }, env: {}, identityLabels: {} };
    const id = await runtime.createContainer(request);
    await assert.rejects(runtime.createContainer(request), NameConflictError);
    assert.equal(await runtime.startContainer(id), 'started');
    assert.equal(await runtime.startContainer(id), 'already-running');
    assert.equal(await runtime.stopContainer(id), 'stopped');
    assert.equal(await runtime.stopContainer(id), 'already-stopped');
    assert.equal(await runtime.removeContainer(id), 'removed');
    assert.equal(await runtime.removeContainer(id), 'missing');
    assert.equal(await runtime.stopContainer(id), 'missing');
    assert.equal(await runtime.inspectContainer(id), undefined);
  });
});
