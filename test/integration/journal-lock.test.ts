import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../agent/store/journal.js';
import { DataDirLockedError } from '../../shared/errors.js';

// A CLI reader (status, events) holds the journal's lock for a moment; an agent starting then must not give up.
describe('journal lock (real LevelDB)', () => {
  it('waits for a brief holder of the lock, then opens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-lock-'));
    try {
      const reader = await Journal.open(dir);
      const opening = Journal.open(dir);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await reader.close();
      const journal = await opening;
      await journal.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives up with DataDirLockedError when another process keeps it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-lock-'));
    const holder = await Journal.open(dir);
    try {
      await assert.rejects(Journal.open(dir), (error: unknown) => error instanceof DataDirLockedError && /is in use by another Hostwright process/.test(error.message));
    } finally {
      await holder.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
