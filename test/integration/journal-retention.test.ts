import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { Journal } from '../../agent/store/journal.js';
import { DEFAULT_RETENTION, type LiveObjects, type RetentionPolicy } from '../../agent/store/retention.js';
import { liveObjectsOf } from '../../agent/journal-retention.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';

const DAY_MS = 24 * 3600 * 1000;
const NOTHING_LIVE: LiveObjects = { containers: { ids: new Set(), ownerTokens: new Set() }, networks: { ids: new Set(), ownerTokens: new Set() }, volumes: { ids: new Set(), ownerTokens: new Set() } };

function events(count: number, at: Date): HostwrightEvent[] {
  return Array.from({ length: count }, (_, i) => ({ id: randomUUID(), type: 'applied' as const, severity: 'info' as const, hostId: 'h1', project: 'p', message: `event ${i}`, timestamp: at.toISOString(), correlationID: randomUUID() }));
}

function policy(overrides: Partial<RetentionPolicy>): RetentionPolicy {
  return { ...DEFAULT_RETENTION, ...overrides };
}

function pullIntent(at: Date) {
  return { correlationID: randomUUID(), action: { kind: 'pull-image' as const, id: 'a1', phase: 'images' as const, chain: 'images', reason: 'absent', image: 'hw/busybox:test' }, startedAt: at.toISOString() };
}

async function keysOf(dir: string, prefix: string): Promise<string[]> {
  const db = new Level<string, Uint8Array>(join(dir, 'journal'), { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    return await db.keys({ gte: prefix, lt: `${prefix}\xff` }).all();
  } finally {
    await db.close();
  }
}

// Retention on real LevelDB: what is past a rule goes, what a guarantee needs stays, and a reopened journal carries on.
describe('journal retention (real LevelDB)', () => {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'hw-retention-'));
    dirs.push(dir);
    return dir;
  }

  it('drops events past the count and the age, never one still in a published outbox nor the newest', async () => {
    const dir = await tempDir();
    const now = new Date();
    let journal = await Journal.open(dir);
    await journal.appendEvents(events(10, new Date(now.getTime() - 10 * DAY_MS)));
    await journal.appendEvents(events(20, now));
    // Events 1..24 acknowledged; 25..30 still wait for the stream.
    await journal.acknowledgeOutbox((await journal.outboxEvents(24)).map((event) => event.seq));
    await journal.markApplied({ project: 'p', revision: 1, appliedAt: now.toISOString() });

    // Age only: the ten old ones go.
    let report = await journal.prune({ policy: policy({ events: { maxCount: 1000, maxAgeMs: 7 * DAY_MS } }), now, outboxPublished: true });
    assert.equal(report.deleted.events, 10);
    assert.deepEqual((await journal.readEvents()).events.map((event) => event.seq), range(11, 30));

    // Count 2: would keep 29 and 30 only, but 25..28 are still in the outbox.
    report = await journal.prune({ policy: policy({ events: { maxCount: 2, maxAgeMs: 7 * DAY_MS } }), now, outboxPublished: true });
    assert.equal(report.deleted.events, 14);
    assert.deepEqual((await journal.readEvents()).events.map((event) => event.seq), range(25, 30));
    assert.deepEqual((await journal.outboxEvents()).map((event) => event.seq), range(25, 30), 'the outbox is untouched');

    // Acknowledged now, and everything is old: only the newest stays (it numbers the next).
    await journal.acknowledgeOutbox(range(25, 30));
    await journal.markApplied({ project: 'p', revision: 2, appliedAt: now.toISOString() });
    await journal.prune({ policy: policy({ events: { maxCount: 0, maxAgeMs: 0 } }), now: new Date(now.getTime() + 1000), outboxPublished: true });
    assert.deepEqual((await journal.readEvents()).events.map((event) => event.seq), [30]);
    await journal.close();

    journal = await Journal.open(dir);
    await journal.appendEvents(events(1, now));
    assert.deepEqual((await journal.readEvents()).events.map((event) => event.seq), [30, 31], 'numbers go on growing after a reopen');
    await journal.close();
  });

  it('bounds an outbox nothing acknowledges (local mode), events with it', async () => {
    const dir = await tempDir();
    const now = new Date();
    let journal = await Journal.open(dir);
    await journal.appendEvents(events(2000, now));
    assert.equal(await journal.outboxDepth(), 2000);
    const report = await journal.prune({ policy: policy({ unpublishedOutboxMax: 100, events: { maxCount: 300, maxAgeMs: DAY_MS } }), now, outboxPublished: false });
    assert.equal(report.deleted.outbox, 1900);
    assert.equal(report.deleted.events, 1700);
    assert.equal(await journal.outboxDepth(), 100);
    assert.deepEqual((await journal.outboxEvents(1000)).map((event) => event.seq), range(1901, 2000));
    await journal.close();
    journal = await Journal.open(dir);
    assert.equal(await journal.outboxDepth(), 100, 'recounted the same at open');
    assert.equal((await journal.readEvents()).events.length, 300);
    await journal.close();
  });

  it('drops resolved intents with their results and old plans, never an open intent nor the newest', async () => {
    const dir = await tempDir();
    const now = new Date();
    const old = new Date(now.getTime() - 30 * DAY_MS);
    let journal = await Journal.open(dir);
    for (let i = 1; i <= 10; i += 1) {
      const intent = await journal.recordIntent(pullIntent(i <= 8 ? old : now));
      if (i !== 3 && i !== 9) await journal.recordResult({ seq: intent.seq, outcome: 'done', message: 'pulled', finishedAt: now.toISOString() }, []);
    }
    for (let i = 0; i < 5; i += 1) await journal.recordPlan(randomUUID(), { plan: { observedAt: (i < 3 ? old : now).toISOString(), actions: [] } }, []);
    const report = await journal.prune({ policy: policy({ intents: { maxCount: 1000, maxAgeMs: 7 * DAY_MS }, plans: { maxCount: 1, maxAgeMs: 7 * DAY_MS } }), now, outboxPublished: true });
    assert.equal(report.deleted.intents, 7, 'the old resolved ones (1, 2, 4..8); 3 is open');
    assert.deepEqual((await journal.intentsWithResults()).map((row) => [row.intent.seq, row.result?.outcome]), [[3, undefined], [9, undefined], [10, 'done']]);
    assert.deepEqual((await journal.unresolvedIntents()).map((intent) => intent.seq), [3, 9]);
    assert.equal(report.deleted.plans, 4, 'past the count of 1');
    await journal.close();
    assert.equal((await keysOf(dir, 'result:')).length, 1);
    assert.equal((await keysOf(dir, 'plan:')).length, 1);

    journal = await Journal.open(dir);
    const next = await journal.recordIntent(pullIntent(now));
    assert.equal(next.seq, 11, 'the next intent is numbered after the newest, which stayed');
    await journal.close();
  });

  it('drops a refusal and an empty project by age, and compacts after many deletions', async () => {
    const dir = await tempDir();
    const now = new Date();
    const old = new Date(now.getTime() - 40 * DAY_MS);
    const journal = await Journal.open(dir);
    await journal.recordRefusal({ key: 'h1.bad', reason: 'unsigned', refusedAt: old.toISOString() }, events(1, old)[0]!);
    await journal.putDesired(desired('gone', {}, { hostId: 'h1', revision: 4, allowEmpty: true }));
    await journal.markApplied({ project: 'gone', revision: 4, appliedAt: old.toISOString() });
    await journal.putDesired(desired('kept', {}, { hostId: 'h1', revision: 2, allowEmpty: true }));
    await journal.markApplied({ project: 'kept', revision: 1, appliedAt: old.toISOString() });
    await journal.appendEvents(events(12_000, old));
    const report = await journal.prune({ policy: policy({}), now, outboxPublished: false, listLive: async () => NOTHING_LIVE });
    assert.equal(report.deleted.refusals, 1);
    assert.deepEqual((await journal.desiredDocuments()).map((document) => document.project), ['kept'], 'kept: its empty revision is not applied yet');
    assert.deepEqual([...(await journal.appliedRevisions()).keys()], ['kept']);
    assert.equal(report.compacted, true);
    await journal.close();
    assert.deepEqual(await keysOf(dir, 'refused:'), []);
    assert.deepEqual(await keysOf(dir, 'desired:'), ['desired:kept']);
  });
});

// Ownership records on the real engine: a gone container's record goes (after two passes), a live one's stays, and a restarted agent finds its containers owned.
describe('journal retention of ownership records (real Docker)', () => {
  const projects: string[] = [];
  after(async () => {
    await Promise.all(projects.map(removeProject));
  });

  it('drops records of containers gone for good, keeps the live and the open, and recovers after a reopen', async () => {
    const project = uniqueName('retain');
    projects.push(project);
    const h = await openHarness('retain');
    let dataDirKept = false;
    try {
      await h.journal.putDesired(desired(project, { web: service({ replicas: 2 }) }, { hostId: h.hostId, revision: 1 }));
      assert.equal((await h.reconciler.runCycle()).failed, false);
      const firstTokens = (await projectContainers(project)).map((container) => container.Labels['io.hostwright.owner-token']!);
      // One removed by hand (repaired: a new record), then a new revision replaces both (old records removed: true).
      await docker.getContainer(`${project}-web-1`).remove({ force: true });
      assert.equal((await h.reconciler.runCycle()).failed, false);
      await h.journal.putDesired(desired(project, { web: service({ replicas: 2, env: { V: '2' } }) }, { hostId: h.hostId, revision: 2 }));
      assert.equal((await h.reconciler.runCycle()).failed, false);
      const liveTokens = (await projectContainers(project)).map((container) => container.Labels['io.hostwright.owner-token']!);
      assert.equal(liveTokens.length, 2);
      assert.equal(h.journal.indexSizes.owners, 5, 'two first, one repair, two replacements');

      // An interrupted create: its intent is open, so its record stays however long its container is missing.
      const model = h.journal.latestRecordFor({ project, service: 'web', instance: 2 })!;
      const key = { project, service: 'web', instance: 9 };
      const openToken = h.journal.newOwnerToken({ hostId: h.hostId, ...key, specHash: model.specHash });
      const name = `${project}-web-9`;
      await h.journal.recordIntent(
        { correlationID: randomUUID(), action: { kind: 'create', id: 'a1', phase: 'instances', chain: name, reason: 'test', key, name, specHash: model.specHash, config: model.config }, ownerToken: openToken, startedAt: new Date().toISOString() },
        { ownerToken: openToken, hostId: h.hostId, ...key, name, specHash: model.specHash, config: model.config, removed: false },
      );
      const live = liveObjectsOf(h.runtime);
      const rules = policy({ goneRecordMs: 0 });
      const first = await h.journal.prune({ policy: rules, now: new Date(), outboxPublished: true, listLive: live });
      assert.equal(first.deleted.owners, 0, 'the first pass only notes what is gone');
      const latest = h.journal.latestRecordFor({ project, service: 'web', instance: 1 });
      const second = await h.journal.prune({ policy: rules, now: new Date(), outboxPublished: true, listLive: live });
      assert.equal(second.deleted.owners, 3, 'the three records whose containers are gone');
      for (const token of firstTokens) assert.equal(h.journal.ownerRecord(token), undefined);
      for (const token of liveTokens) assert.ok(h.journal.ownerRecord(token), 'a live container keeps its record');
      assert.equal(h.journal.latestRecordFor({ project, service: 'web', instance: 1 }), latest);
      assert.ok(h.journal.ownerRecord(openToken), 'an open intent keeps the record it names');

      await h.journal.close();
      dataDirKept = true;
      // The agent restarted on the pruned journal: its containers are owned, and there is nothing to do.
      const reopened = await openHarnessOn(h.dataDir, h.hostId);
      try {
        const report = await reopened.reconciler.runCycle();
        assert.equal(report.failed, false);
        assert.deepEqual(report.plan.actions, [], 'converged: nothing to do');
        assert.deepEqual(await reopened.journal.unresolvedIntents(), [], 'the interrupted create was resolved');
        const instances = report.status?.projects.find((p) => p.project === project)?.instances ?? [];
        assert.deepEqual(instances.map((i) => [i.instance, i.state, i.drift]), [[1, 'running', []], [2, 'running', []]]);
        assert.deepEqual(report.status?.projects.find((p) => p.project === project)?.unowned ?? [], [], 'both containers proven owned');
        assert.equal((await projectContainers(project)).length, 2, 'no duplicate, no orphan');
        assert.equal(reopened.journal.indexSizes.owners, 3, 'open read only the records that matter: two live, one an intent named');
      } finally {
        await reopened.journal.close();
      }
    } finally {
      if (!dataDirKept) await h.journal.close().catch(() => undefined);
      await rm(h.dataDir, { recursive: true, force: true });
    }
  });
});

async function openHarnessOn(dataDir: string, hostId: string) {
  const { Reconciler } = await import('../../agent/reconciler.js');
  const { DockerRuntime } = await import('../../agent/runtime/docker-runtime.js');
  const { LOCAL_HOST_POLICY } = await import('../../agent/core/host-policy.js');
  const { pino } = await import('pino');
  const journal = await Journal.open(dataDir);
  const reconciler = new Reconciler({ runtime: new DockerRuntime({ docker }), journal, logger: pino({ level: 'silent' }), policy: LOCAL_HOST_POLICY, hostId });
  return { journal, reconciler };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
