import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { Journal } from '../../agent/store/journal.js';

function events(count: number) {
  return Array.from({ length: count }, (_, i) => ({ id: randomUUID(), type: 'applied' as const, severity: 'info' as const, hostId: 'h1', project: 'p', message: `event ${i}`, timestamp: new Date().toISOString(), correlationID: randomUUID() }));
}

// The outbox depth is counted once at open and kept in step with every write (real LevelDB).
describe('journal outbox depth', () => {
  it('counts written events, drops acknowledged ones, and is recounted the same after a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-outbox-'));
    try {
      let journal = await Journal.open(dir);
      await journal.appendEvents(events(3));
      await journal.recordPlan(randomUUID(), { plan: [] }, events(2));
      assert.equal(await journal.outboxDepth(), 5);
      const outbox = await journal.outboxEvents();
      assert.equal(outbox.length, 5);
      await journal.acknowledgeOutbox(outbox.slice(0, 2).map((event) => event.seq));
      assert.equal(await journal.outboxDepth(), 3);
      await journal.close();

      journal = await Journal.open(dir);
      assert.equal(await journal.outboxDepth(), 3, 'recounted from LevelDB');
      assert.deepEqual((await journal.outboxEvents()).map((event) => event.seq), outbox.slice(2).map((event) => event.seq));
      await journal.acknowledgeOutbox((await journal.outboxEvents()).map((event) => event.seq));
      assert.equal(await journal.outboxDepth(), 0);
      await journal.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads events from outbox entries an older agent wrote empty (the event only in the log)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-outbox-old-'));
    try {
      let journal = await Journal.open(dir);
      await journal.appendEvents(events(3));
      const written = await journal.outboxEvents();
      await journal.close();
      // What an agent before the outbox carried its events wrote: an empty value under the outbox key.
      const db = new Level<string, Uint8Array>(join(dir, 'journal'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      const keys = await db.keys({ gte: 'outbox:', lt: 'outbox:\xff' }).all();
      assert.equal(keys.length, 3);
      await db.batch(keys.slice(0, 2).map((key) => ({ type: 'put' as const, key, value: new Uint8Array(0) })));
      await db.close();

      journal = await Journal.open(dir);
      assert.deepEqual(await journal.outboxEvents(), written, 'the same events, in order, from either kind of entry');
      await journal.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
