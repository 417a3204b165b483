import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../lib/wait.js';
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

  it('serves the outbox from memory, and writes acknowledgements with the next write or within a second', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-outbox-mem-'));
    try {
      let journal = await Journal.open(dir);
      await journal.appendEvents(events(3));
      const written = await journal.outboxEvents();
      assert.deepEqual(written.map((event) => event.message), ['event 0', 'event 1', 'event 2']);
      const batches = journal.commitStats.batches;
      await journal.acknowledgeOutbox(written.slice(0, 2).map((event) => event.seq));
      assert.equal(journal.commitStats.batches, batches, 'no write of its own');
      assert.deepEqual(await journal.outboxEvents(), written.slice(2), 'acknowledged events are not handed out again');
      assert.equal(await journal.outboxDepth(), 1);
      await journal.markApplied({ project: 'p', revision: 1, appliedAt: new Date().toISOString() });
      assert.equal(journal.commitStats.batches, batches + 1, 'the deletions rode along with the next write');
      await journal.close();

      journal = await Journal.open(dir);
      assert.deepEqual(await journal.outboxEvents(), written.slice(2), 'read back from LevelDB after a reopen');
      await journal.acknowledgeOutbox([written[2]?.seq ?? -1]);
      const before = journal.commitStats.batches;
      // The acknowledgement goes alone within 1 s when no other write comes to carry it.
      await waitFor('the acknowledgement written alone', async () => journal.commitStats.batches === before + 1, 3_000, 20);
      assert.deepEqual(await journal.outboxEvents(), []);
      await journal.appendEvents(events(1));
      assert.equal((await journal.outboxEvents()).length, 1, 'an emptied outbox is mirrored in memory again');
      await journal.close();

      journal = await Journal.open(dir);
      assert.equal(await journal.outboxDepth(), 1);
      assert.equal((await journal.outboxEvents())[0]?.message, 'event 0');
      await journal.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads LevelDB when more events wait than memory keeps, in order and without the acknowledged ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-outbox-big-'));
    try {
      const journal = await Journal.open(dir);
      for (let round = 0; round < 11; round += 1) await journal.appendEvents(events(100));
      assert.equal(await journal.outboxDepth(), 1100);
      const page = await journal.outboxEvents(256);
      assert.equal(page.length, 256);
      assert.ok(page.every((event, i) => i === 0 || event.seq > (page[i - 1]?.seq ?? 0)), 'in order');
      await journal.acknowledgeOutbox(page.slice(0, 200).map((event) => event.seq));
      const next = await journal.outboxEvents(256);
      assert.equal(next[0]?.seq, page[200]?.seq, 'starts after the acknowledged ones, before their deletion is written');
      assert.equal(await journal.outboxDepth(), 900);
      await journal.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
