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

const run = promisify(execFile);

// Regression: after a write failed on a full disk, later (successful, fsync'd) writes were lost
// when the journal was opened again: LevelDB skipped them behind the torn record in its log.
describe('journal on a full disk (real LevelDB on a small tmpfs)', () => {
  let dir: string | undefined;
  let mounted = false;
  after(async () => {
    if (mounted && dir) await run('umount', ['-l', dir]).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a write that failed for lack of space does not cost the writes that succeed after space returns', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-journal-full-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
    mounted = true;
    const dataDir = join(dir, 'agent');
    const filler = join(dir, 'filler');
    let journal = await Journal.open(dataDir);
    await journal.markApplied({ project: 'p', revision: 1, appliedAt: new Date().toISOString() });
    await run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k']).catch(() => undefined);
    let failures = 0;
    for (let batch = 1; batch <= 5; batch += 1) {
      const events = Array.from({ length: 50 }, () => ({ id: randomUUID(), type: 'applied' as const, severity: 'info' as const, hostId: 'h', project: 'p', message: 'x'.repeat(200), timestamp: new Date().toISOString(), correlationID: randomUUID() }));
      await journal.appendEvents(events).catch((error: unknown) => {
        assert.ok(error instanceof JournalError, String(error));
        failures += 1;
      });
    }
    assert.ok(failures > 0, 'the full disk made a journal write fail');
    await rm(filler);
    for (let revision = 7; revision <= 9; revision += 1) await journal.markApplied({ project: 'p', revision, appliedAt: new Date().toISOString() });
    assert.equal((await journal.appliedRevisions()).get('p'), 9);
    await journal.close();
    journal = await Journal.open(dataDir);
    try {
      assert.equal((await journal.appliedRevisions()).get('p'), 9, 'the writes after the failure survive a reopen');
    } finally {
      await journal.close();
    }
  });
});
