import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { pino } from 'pino';
import { acceptDesired } from '../../agent/fleet/desired-watcher.js';
import { Journal } from '../../agent/store/journal.js';
import { encode } from '../../shared/codec.js';
import { desired, service } from '../lib/builders.js';

// What the agent does with each document it reads from the desired-state bucket (real LevelDB).
describe('desired-state acceptance', () => {
  let dir: string;
  let journal: Journal;
  const accepted: number[] = [];
  const options = () => ({ hostId: 'h1', journal, logger: pino({ level: 'silent' }), onAccepted: (d: { revision: number }) => accepted.push(d.revision) });
  after(async () => {
    await journal.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a valid newer document, ignores a replay, and rejects every bad one with an event, keeping the last good state', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-accept-'));
    journal = await Journal.open(dir);
    const good = desired('shop', { web: service() }, { revision: 2 });
    assert.equal(await acceptDesired('h1.shop', encode(good), options()), 'accepted');
    assert.equal(await acceptDesired('h1.shop', encode({ ...good, revision: 1 }), options()), 'unchanged', 'an older revision is a replay');
    assert.equal(await acceptDesired('h1.shop', encode(good), options()), 'unchanged');
    const bad: [string, Uint8Array][] = [
      ['random bytes', new Uint8Array([0xc1, 0xff, 0x00, 0x13])],
      ['wrong shape', pack({ nope: 1 })],
      ['another host', encode({ ...good, hostId: 'h2', revision: 3 })],
      ['another project', encode({ ...good, project: 'other', revision: 3 })],
      ['oversized', encode({ ...good, revision: 3, services: { web: service({ env: { BIG: 'x'.repeat(600 * 1024) } }) } })],
    ];
    for (const [what, bytes] of bad) assert.equal(await acceptDesired('h1.shop', bytes, options()), 'rejected', what);
    const stored = await journal.desiredDocuments();
    assert.deepEqual(stored.map((d) => [d.project, d.revision]), [['shop', 2]]);
    assert.deepEqual(accepted, [2]);
    const failures = (await journal.readEvents()).events.filter((e) => e.type === 'failed');
    assert.equal(failures.length, bad.length);
    assert.ok(failures.every((e) => /rejected desired state on key h1\.shop/.test(e.message)));
  });
});
