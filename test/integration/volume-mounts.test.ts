import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';

describe('long-syntax volumes entries (real Docker)', () => {
  const project = uniqueName('mounts');
  const refused = uniqueName('mounts-missing');
  let h: Awaited<ReturnType<typeof openHarness>>;
  let hostDir: string | undefined;
  after(async () => {
    await removeProject(project);
    await removeProject(refused);
    await h?.close();
    if (hostDir) await rm(hostDir, { recursive: true, force: true });
  });

  it('mounts a project volume, a read-only bind and a sized tmpfs, and the next plan is empty', async () => {
    h = await openHarness('h1');
    hostDir = await mkdtemp(join(tmpdir(), 'hw-bind-'));
    const volumes = [
      { type: 'volume', source: 'data', target: '/data' },
      { type: 'bind', source: hostDir, target: '/b', read_only: true, bind: { create_host_path: false } },
      { type: 'tmpfs', target: '/t', tmpfs: { size: '1m' } },
    ];
    await h.journal.putDesired(desired(project, { db: service({ volumes }) }, { volumes: { data: {} } }));
    const report = await h.reconciler.runCycle();
    assert.equal(report.failed, false, report.results.map((r) => r.message).join('; '));
    const inspect = await docker.getContainer(`${project}-db-1`).inspect();
    const mounts = Object.fromEntries(inspect.Mounts.map((mount) => [mount.Destination, `${mount.Type} ${mount.Type === 'volume' ? mount.Name : mount.Source} ${mount.RW ? 'rw' : 'ro'}`]));
    assert.equal(mounts['/data'], `volume ${project}_data rw`);
    assert.equal(mounts['/b'], `bind ${hostDir} ro`);
    assert.equal(inspect.HostConfig.Mounts?.find((mount) => mount.Target === '/t')?.TmpfsOptions?.SizeBytes, 1024 * 1024);
    const again = await h.reconciler.runCycle({ dryRun: true });
    assert.deepEqual(again.plan.actions.map((a) => a.kind), []);
    assert.deepEqual(again.plan.drift, []);
  });

  it('bind.create_host_path: false and a missing host path: the create is refused with the reason, and the path is not made', async () => {
    const missing = join(tmpdir(), uniqueName('hw-missing'));
    await h.journal.putDesired(desired(refused, { api: service({ volumes: [{ type: 'bind', source: missing, target: '/m', bind: { create_host_path: false } }] }) }));
    const report = await h.reconciler.runCycle();
    assert.equal(report.failed, true);
    assert.match(report.results.find((r) => r.outcome === 'failed')?.message ?? '', new RegExp(`host path ${missing} does not exist, and its volumes entry says bind.create_host_path: false`));
    await assert.rejects(stat(missing), { code: 'ENOENT' });
    assert.deepEqual(await projectContainers(refused), []);
  });
});
