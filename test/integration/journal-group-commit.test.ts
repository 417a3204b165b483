import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Journal } from '../../agent/store/journal.js';
import { JournalError } from '../../shared/errors.js';
import type { Action } from '../../shared/actions.js';

const run = promisify(execFile);

const stopAction = (name: string): Action => ({ id: `a-${name}`, kind: 'stop', phase: 'instances', chain: name, reason: 'replace', key: { project: 'p', service: name, instance: 1 }, name, containerId: `id-${name}`, timeoutSeconds: 1 });

function event(message: string) {
  return { id: randomUUID(), type: 'applied' as const, severity: 'info' as const, hostId: 'h1', project: 'p', message, timestamp: new Date().toISOString(), correlationID: randomUUID() };
}

// Group commit (real LevelDB): writes queued in one turn of the event loop share one fsync'd batch.
describe('journal group commit', () => {
  const dirs: string[] = [];
  let mounted: string | undefined;
  after(async () => {
    if (mounted) await run('umount', ['-l', mounted]).catch(() => undefined);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('commits writes queued together in one batch, and writes awaited one by one in one batch each; all of them survive a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-group-commit-'));
    dirs.push(dir);
    let journal = await Journal.open(dir);
    const correlationID = randomUUID();
    // Two parallel chains: both intents in the same turn, then both results with the next intents.
    const [first, second] = await Promise.all([
      journal.recordIntent({ correlationID, action: stopAction('a'), ownerToken: undefined, containerId: undefined, startedAt: new Date().toISOString() }),
      journal.recordIntent({ correlationID, action: stopAction('b'), ownerToken: undefined, containerId: undefined, startedAt: new Date().toISOString() }),
    ]);
    assert.deepEqual(journal.commitStats, { batches: 1, writes: 2 });
    assert.equal((await journal.unresolvedIntents()).length, 2);
    await Promise.all([
      journal.recordResult({ seq: first.seq, outcome: 'done', message: 'stopped', containerId: 'id-a', finishedAt: new Date().toISOString() }, [event('a stopped')]),
      journal.recordResult({ seq: second.seq, outcome: 'done', message: 'stopped', containerId: 'id-b', finishedAt: new Date().toISOString() }, [event('b stopped')]),
      journal.markApplied({ project: 'p', revision: 3, appliedAt: new Date().toISOString() }),
    ]);
    assert.deepEqual(journal.commitStats, { batches: 2, writes: 5 });
    for (let revision = 4; revision <= 6; revision += 1) await journal.markApplied({ project: 'p', revision, appliedAt: new Date().toISOString() });
    assert.deepEqual(journal.commitStats, { batches: 5, writes: 8 }, 'a write awaited before the next is queued is not held back for company');
    await journal.close();

    journal = await Journal.open(dir);
    try {
      assert.deepEqual(await journal.unresolvedIntents(), [], 'both results are on disk');
      assert.equal((await journal.appliedRevisions()).get('p'), 6, 'later writes in queue order win, as one by one');
      assert.deepEqual((await journal.readEvents()).events.map((e) => e.message), ['a stopped', 'b stopped']);
      assert.equal(await journal.outboxDepth(), 2);
    } finally {
      await journal.close();
    }
  });

  it('a batch that fails rejects every write in it and applies none of them (full disk, real tmpfs)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-group-full-'));
    dirs.push(dir);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
    mounted = dir;
    const dataDir = join(dir, 'agent');
    let journal = await Journal.open(dataDir);
    await journal.markApplied({ project: 'p', revision: 1, appliedAt: new Date().toISOString() });
    await run('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4k']).catch(() => undefined);
    // Large enough that LevelDB's log cannot take the batch on a full disk.
    const big = Array.from({ length: 200 }, () => event('x'.repeat(400)));
    const outcomes = await Promise.allSettled([journal.appendEvents(big), journal.markApplied({ project: 'p', revision: 2, appliedAt: new Date().toISOString() })]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['rejected', 'rejected'],
      'both writers of the failed batch are told',
    );
    for (const outcome of outcomes) if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof JournalError, String(outcome.reason));
    assert.deepEqual(journal.commitStats.batches, 2);
    await rm(join(dir, 'filler'));
    await journal.close();
    journal = await Journal.open(dataDir);
    try {
      assert.equal((await journal.appliedRevisions()).get('p'), 1, 'the failed batch applied nothing');
      assert.equal((await journal.readEvents()).events.length, 0);
    } finally {
      await journal.close();
    }
  });
});
