import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { JOURNAL_LEVEL_OPTIONS, Journal } from '../../agent/store/journal.js';
import { SCAN_BATCH, scanEntries, scanKeys } from '../../agent/store/scan.js';
import type { HostwrightEvent } from '../../shared/events.js';

const MIB = 2 ** 20;

async function logBytes(dir: string): Promise<number> {
  const location = join(dir, 'journal');
  let bytes = 0;
  // A log LevelDB deletes between the listing and the stat (its flush finished) holds nothing.
  for (const name of await readdir(location)) if (name.endsWith('.log')) bytes += (await stat(join(location, name)).catch(() => ({ size: 0 }))).size;
  return bytes;
}

function events(count: number): HostwrightEvent[] {
  const at = new Date().toISOString();
  return Array.from({ length: count }, (_, i) => ({ id: randomUUID(), type: 'applied' as const, severity: 'info' as const, hostId: 'h1', project: 'p', message: `event ${i} ${'x'.repeat(200)}`, timestamp: at, correlationID: randomUUID() }));
}

// LevelDB's memory outside the V8 heap, bounded where the journal can bound it (docs/RELIABILITY.md, the soak):
// the write buffer (memtable and .log), and what each range read leaves behind until V8 collects its iterator.
describe('journal native memory (real LevelDB)', () => {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('turns the log into a table once it reaches the 1 MiB write buffer, and loses nothing', async () => {
    assert.equal(JOURNAL_LEVEL_OPTIONS.writeBufferSize, MIB);
    const dir = await mkdtemp(join(tmpdir(), 'hw-write-buffer-'));
    dirs.push(dir);
    let journal = await Journal.open(dir);
    let written = 0;
    try {
      // About 3 MiB of log, three times the buffer and below LevelDB's default of 4 (each event is written twice: the event and its outbox entry).
      for (let bytes = 0; bytes < 3 * MIB; ) {
        const batch = events(100);
        await journal.appendEvents(batch);
        written += batch.length;
        bytes += 2 * batch.reduce((sum, event) => sum + JSON.stringify(event).length, 0);
      }
      // The switch to a new log is immediate, deleting the old one waits for LevelDB's background flush.
      const deadline = Date.now() + 15_000;
      while ((await logBytes(dir)) > 1.25 * MIB && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const bytes = await logBytes(dir);
      assert.ok(bytes <= 1.25 * MIB, `the journal's .log holds ${(bytes / MIB).toFixed(2)} MiB after ~3 MiB of writes: the write buffer does not bound it`);
    } finally {
      await journal.close();
    }
    journal = await Journal.open(dir);
    try {
      const page = await journal.readEvents(0, 10_000);
      assert.equal(page.events.length, written);
      assert.equal(page.events.at(-1)?.seq, written);
    } finally {
      await journal.close();
    }
  });

  it('reads ranges SCAN_BATCH entries at a time, in order, and closes the iterator when a walk stops early', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-scan-'));
    dirs.push(dir);
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    try {
      const keys = Array.from({ length: 100 }, (_, i) => `k:${String(i).padStart(3, '0')}`);
      await db.batch(keys.map((key) => ({ type: 'put' as const, key, value: new Uint8Array([1]) })));
      // What each read asks of the binding: classic-level sizes an iterator's native read-ahead by it and keeps that until the iterator is collected.
      const asked: number[] = [];
      const closed: boolean[] = [];
      const spied = new Proxy(db, {
        get(target, property, receiver) {
          if (property !== 'iterator' && property !== 'keys') return Reflect.get(target, property, receiver) as unknown;
          return (options: object) => {
            const iterator = property === 'iterator' ? target.iterator(options) : target.keys(options);
            const nextv = iterator.nextv.bind(iterator);
            const next = iterator.next.bind(iterator);
            const close = iterator.close.bind(iterator);
            const index = closed.push(false) - 1;
            return Object.assign(iterator, {
              nextv: (size: number) => {
                asked.push(size);
                return nextv(size);
              },
              // A for-await over the iterator itself reads 1, then 1,000 at a time.
              next: () => {
                asked.push(1_000);
                return next();
              },
              close: async () => {
                closed[index] = true;
                return close();
              },
            });
          };
        },
      });
      const all: string[] = [];
      for await (const [key] of scanEntries(spied, { gte: 'k:', lt: 'k;' })) all.push(key);
      assert.deepEqual(all, keys);
      const reversed: string[] = [];
      for await (const key of scanKeys(spied, { gte: 'k:', lt: 'k;', reverse: true, limit: 40 })) reversed.push(key);
      assert.deepEqual(reversed, keys.slice(60).reverse());
      let seen = 0;
      for await (const key of scanKeys(spied, { gte: 'k:', lt: 'k;' })) {
        seen += 1;
        if (key === 'k:005') break;
      }
      assert.equal(seen, 6);
      assert.ok(asked.length > 0 && asked.every((size) => size <= SCAN_BATCH), `reads asked for ${JSON.stringify(asked)} entries at a time`);
      assert.deepEqual(closed, [true, true, true]);
    } finally {
      await db.close();
    }
  });
});
