import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { REPLACE_AFTER_REFUSED_STARTS } from '../../agent/core/planner.js';
import { Reconciler } from '../../agent/reconciler.js';
import { Journal } from '../../agent/store/journal.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';

// A container the engine refuses to start (here: its command does not exist, so every start fails
// in the OCI runtime) is counted per container in the journal and replaced, not started forever.
describe('refused starts (real Docker)', () => {
  const projects: string[] = [];
  const harnesses: Awaited<ReturnType<typeof openHarness>>[] = [];
  const reopened: Journal[] = [];
  const cleanupDirs: string[] = [];
  after(async () => {
    await Promise.all(projects.map(removeProject));
    await Promise.all(reopened.map((journal) => journal.close()));
    await Promise.all(harnesses.map((h) => h.close()));
    await Promise.all(cleanupDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** A fresh project and harness, and a path in a temp dir for a bind mount's source (not created). */
  async function withMountSource() {
    const project = uniqueName('refused');
    projects.push(project);
    const h = await openHarness('h1');
    harnesses.push(h);
    const dir = await mkdtemp(join(tmpdir(), 'hw-refused-'));
    cleanupDirs.push(dir);
    return { project, h, source: join(dir, 'config') };
  }

  it(`counts refused starts in the journal and replaces the container after ${REPLACE_AFTER_REFUSED_STARTS}`, async () => {
    const project = uniqueName('refused');
    projects.push(project);
    const h = await openHarness('h1');
    harnesses.push(h);
    await h.journal.putDesired(desired(project, { web: service({ command: ['/no-such-command'] }) }));
    const key = { project, service: 'web', instance: 1 };

    const first = await h.reconciler.runCycle();
    assert.deepEqual(first.results.map((r) => `${r.action.kind}:${r.outcome}`), ['create-network:done', 'create:done', 'start:failed']);
    assert.match(first.results[2]?.message ?? '', /no-such-command/);
    const [original] = await projectContainers(project);
    assert.ok(original, 'the create left its container');
    assert.deepEqual(h.journal.ownerRecordOfContainer(original.Id)?.refusedStarts?.count, 1);

    const second = await h.reconciler.runCycle();
    assert.deepEqual(second.results.map((r) => `${r.action.kind}:${r.outcome}`), ['start:failed']);

    // The count is in the journal, not in memory: an agent restarted now still knows it.
    await h.journal.close();
    const journal = await Journal.open(h.dataDir);
    reopened.push(journal);
    const refused = journal.ownerRecordOfContainer(original.Id)?.refusedStarts;
    assert.equal(refused?.count, 2);
    assert.match(refused?.lastError ?? '', /no-such-command/);

    // The third cycle no longer starts it: it removes it and creates a new one of the same spec.
    const reconciler = new Reconciler({ runtime: h.runtime, journal, hostId: h.hostId, logger: pino({ level: 'silent' }) });
    const third = await reconciler.runCycle();
    assert.deepEqual(third.results.map((r) => `${r.action.kind}:${r.outcome}`), ['remove:done', 'create:done', 'start:failed']);
    assert.match(third.results[0]?.action.reason ?? '', /^the engine refused to start it 2 times in a row \(last: .*no-such-command/);
    const containers = await projectContainers(project);
    assert.equal(containers.length, 1, 'never two containers for the instance');
    assert.notEqual(containers[0]?.Id, original.Id);
    assert.equal(journal.ownerRecordOfContainer(original.Id)?.removed, true);
    assert.equal(journal.latestRecordFor(key)?.containerId, containers[0]?.Id);
    assert.equal(journal.latestRecordFor(key)?.refusedStarts?.count, 1, 'the new container starts its own count');
  });

  it('a start that succeeds clears the count', async () => {
    // A bind mount of a host file: while the file is a directory instead, the engine refuses the start.
    const { project, h, source } = await withMountSource();
    await writeFile(source, 'v1');
    await h.journal.putDesired(desired(project, { web: service({ volumes: [`${source}:/config:ro`] }) }));
    assert.equal((await h.reconciler.runCycle()).failed, false);
    const [container] = await projectContainers(project);
    assert.ok(container);
    await docker.getContainer(container.Id).stop({ t: 1 });
    await rm(source);
    await mkdir(source);

    const refused = await h.reconciler.runCycle();
    assert.deepEqual(refused.results.map((r) => `${r.action.kind}:${r.outcome}`), ['start:failed']);
    assert.equal(h.journal.ownerRecordOfContainer(container.Id)?.refusedStarts?.count, 1);

    await rm(source, { recursive: true });
    await writeFile(source, 'v1');
    const repaired = await h.reconciler.runCycle();
    assert.deepEqual(repaired.results.map((r) => `${r.action.kind}:${r.outcome}`), ['start:done']);
    assert.equal((await projectContainers(project))[0]?.Id, container.Id, 'the same container, started');
    assert.equal(h.journal.ownerRecordOfContainer(container.Id)?.refusedStarts, undefined);
  });

  it('a rejected revision is neither retried nor repaired; one the host reaches later (started by hand) is applied after all', async () => {
    const { project, h, source } = await withMountSource();
    await mkdir(source);
    // A directory mounted over a file of the image (/www/index.html): the engine refuses the start.
    await h.journal.putDesired(desired(project, { web: service({ volumes: [`${source}:/www/index.html:ro`] }) }));
    const refused = await h.reconciler.runCycle();
    assert.deepEqual(refused.results.map((r) => `${r.action.kind}:${r.outcome}`), ['create-network:done', 'create:done', 'start:failed']);
    // What the agent loop does after its failed attempts: the revision is rejected, and the project is left alone.
    await h.journal.setRejected({ project, revision: 1, reason: 'action failed: start refused', at: new Date().toISOString() });
    assert.equal((await h.reconciler.observeStatus()).projects[0]?.rejected?.revision, 1);
    await rm(source, { recursive: true });
    await writeFile(source, 'v1');
    const quiet = await h.reconciler.runCycle();
    assert.deepEqual(quiet.results, [], 'no retry and no repair of a rejected revision');
    assert.equal(quiet.status?.projects[0]?.rejected?.revision, 1);

    // Someone starts it by hand: the host has reached the revision.
    const [container] = await projectContainers(project);
    await docker.getContainer(container!.Id).start();
    const reached = await h.reconciler.runCycle();
    assert.deepEqual(reached.results, []);
    assert.equal((await h.journal.appliedRevisions()).get(project), 1);
    assert.equal((await h.journal.rejectedRevisions()).has(project), false);
    assert.equal(reached.status?.projects[0]?.rejected, undefined);
    assert.equal(reached.status?.projects[0]?.converged, true);
    const events = (await h.journal.readEvents()).events.filter((e) => e.correlationID === reached.correlationID);
    assert.ok(events.some((e) => e.type === 'applied' && /revision 1 reached after all \(it had been rejected: action failed: start refused\)/.test(e.message)), JSON.stringify(events.map((e) => e.message)));
  });
});
