import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { pino } from 'pino';
import { acceptDesired, type DesiredTrust } from '../../agent/fleet/desired-watcher.js';
import { Journal } from '../../agent/store/journal.js';
import { DEFAULT_RETENTION } from '../../agent/store/retention.js';
import { encode } from '../../shared/codec.js';
import { DESIRED_SCHEMA_VERSION } from '../../shared/desired-schema.js';
import { JournalError } from '../../shared/errors.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { desired, service } from '../lib/builders.js';
import { signedValue, testSigner } from '../lib/signing.js';

// What the agent does with each value it reads from the desired-state bucket (real LevelDB).
describe('desired-state acceptance', () => {
  const dirs: string[] = [];
  const journals: Journal[] = [];
  const coordinator = testSigner();
  const open = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-accept-'));
    dirs.push(dir);
    const journal = await Journal.open(dir);
    journals.push(journal);
    return journal;
  };
  after(async () => {
    for (const journal of journals) await journal.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('accepts a newer document signed by the pinned key, ignores its re-delivery, and refuses every bad value with an event and a refusal, keeping the last good state', async () => {
    const journal = await open();
    const accepted: number[] = [];
    const trust: DesiredTrust = { kind: 'pinned', coordinatorKey: coordinator.publicKey };
    const options = { hostId: 'h1', trust, journal, logger: pino({ level: 'silent' }), onAccepted: (d: { revision: number }) => accepted.push(d.revision) };
    const good = desired('shop', { web: service() }, { revision: 2 });
    const goodValue = signedValue(good, coordinator);
    assert.equal(await acceptDesired('h1.shop', goodValue, options, new Date()), 'accepted');
    assert.equal(await acceptDesired('h1.shop', goodValue, options, new Date()), 'unchanged', 're-delivery of the revision held is a silent no-op');
    assert.deepEqual(Uint8Array.from((await journal.signedDesired('shop')) ?? []), Uint8Array.from(goodValue), 'the journal keeps the signed envelope as received');

    const newer = { ...good, revision: 3, services: { web: service({ replicas: 2 }) } };
    const envelope = unpack(signedValue(newer, coordinator)) as { document: Uint8Array; signature: Uint8Array; signer: string };
    const tamperedDocument = encode({ ...newer, services: { web: service({ image: 'evil/image:1' }) } });
    const bad: [string, Uint8Array, RegExp][] = [
      ['random bytes', new Uint8Array([0xc1, 0xff, 0x00, 0x13]), /unsigned/],
      ['wrong shape', pack({ nope: 1 }), /unsigned/],
      ['unsigned document', encode(newer), /unsigned/],
      ['signed by another key', signedValue(newer, testSigner()), /wrong-key/],
      ['another key claiming to be the pinned one', pack({ ...unpack(signedValue(newer, testSigner())), signer: coordinator.publicKey }), /tampered/],
      ['tampered after signing', pack({ ...envelope, document: tamperedDocument }), /tampered/],
      ['another host', signedValue({ ...newer, hostId: 'h2' }, coordinator), /for host h2/],
      ['another project', signedValue({ ...newer, project: 'other' }, coordinator), /for project other/],
      ['replayed older revision', signedValue({ ...good, revision: 1 }, coordinator), /replayed: revision 1 is older than revision 2/],
      ['oversized', signedValue({ ...newer, services: { web: service({ env: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`BIG${i}`, 'x'.repeat(120 * 1024)])) }) } }, coordinator), /exceeds/],
    ];
    for (const [what, bytes, reason] of bad) {
      assert.equal(await acceptDesired('h1.shop', bytes, options, new Date()), 'rejected', what);
      const refusals = await journal.desiredRefusals();
      assert.equal(refusals.length, 1, what);
      assert.match(refusals[0]?.reason ?? '', reason, what);
    }
    const stored = await journal.desiredDocuments();
    assert.deepEqual(stored.map((d) => [d.project, d.revision]), [['shop', 2]]);
    assert.deepEqual(accepted, [2]);
    const failures = (await journal.readEvents()).events.filter((e) => e.type === 'failed');
    assert.equal(failures.length, bad.length);
    assert.ok(failures.every((e) => /rejected desired state on key h1\.shop/.test(e.message)));

    // The next good document clears the refusal.
    assert.equal(await acceptDesired('h1.shop', signedValue(newer, coordinator), options, new Date()), 'accepted');
    assert.deepEqual(await journal.desiredRefusals(), []);
    assert.deepEqual(accepted, [2, 3]);
  });

  it('refuses a document of a newer schema with an event naming the agent version it needs, and keeps the last good state', async () => {
    const journal = await open();
    const trust: DesiredTrust = { kind: 'pinned', coordinatorKey: coordinator.publicKey };
    const options = { hostId: 'h1', trust, journal, logger: pino({ level: 'silent' }), onAccepted: () => undefined };
    const good = desired('shop', { web: service() }, { revision: 2 });
    assert.equal(await acceptDesired('h1.shop', signedValue(good, coordinator), options, new Date()), 'accepted');
    // What a coordinator of the next schema would write: a field this agent does not know.
    const future = { ...good, revision: 3, schemaVersion: DESIRED_SCHEMA_VERSION + 1, minAgentVersion: '9.0.0', services: { web: { ...service(), a_future_option: 'on' } } };
    assert.equal(await acceptDesired('h1.shop', signedValue(future as unknown as HostDesired, coordinator), options, new Date()), 'rejected');
    const [refusal] = await journal.desiredRefusals();
    assert.match(refusal?.reason ?? '', /needs agent version ≥ 9\.0\.0/);
    const failed = (await journal.readEvents()).events.find((event) => event.type === 'failed');
    assert.match(failed?.message ?? '', /rejected desired state on key h1\.shop: written in desired-state schema \d+, which this agent .* needs agent version ≥ 9\.0\.0.*; keeping the last good state/);
    assert.equal((await journal.desiredDocuments()).find((document) => document.project === 'shop')?.revision, 2, 'the last good revision stays');
  });

  it('--allow-unsigned accepts an unsigned document and a signed one, but still refuses a broken signature', async () => {
    const journal = await open();
    const options = { hostId: 'h1', trust: { kind: 'unsigned-allowed' } as const, journal, logger: pino({ level: 'silent' }), onAccepted: () => undefined };
    assert.equal(await acceptDesired('h1.shop', encode(desired('shop', { web: service() }, { revision: 1 })), options, new Date()), 'accepted');
    assert.equal(await journal.signedDesired('shop'), undefined);
    const second = desired('shop', { web: service({ replicas: 2 }) }, { revision: 2 });
    assert.equal(await acceptDesired('h1.shop', signedValue(second, testSigner()), options, new Date()), 'accepted');
    const envelope = unpack(signedValue({ ...second, revision: 3 }, coordinator)) as Record<string, unknown>;
    assert.equal(await acceptDesired('h1.shop', pack({ ...envelope, document: encode({ ...second, revision: 4 }) }), options, new Date()), 'rejected');
    assert.deepEqual((await journal.desiredDocuments()).map((d) => d.revision), [2]);
  });

  // Replays across journals (shared/replay-window.ts): the journal has nothing to compare with, the
  // signing time against the server's storing time does. On the build before it, the old document
  // and the one without a signing time were both accepted by a new journal.
  it('a journal holding nothing of a key (a new data dir) refuses a signed document stored long after its signing, or without a signing time; takes one stored within the window', async () => {
    const journal = await open();
    const options = { hostId: 'h1', trust: { kind: 'pinned', coordinatorKey: coordinator.publicKey } as const, journal, logger: pino({ level: 'silent' }), onAccepted: () => undefined };
    const now = new Date();
    const minutes = (n: number) => new Date(now.getTime() + n * 60_000);
    const document = desired('shop', { web: service({ replicas: 3 }) }, { revision: 4 });
    const refused: [string, Uint8Array, Date, RegExp][] = [
      ['signed a day before it was stored (an old value written back)', signedValue(document, coordinator, minutes(-24 * 60)), now, /replayed: revision 4 was signed at .* but stored at .*, 24h later; a coordinator writes a document right after signing it/],
      ['signed 16 minutes before', signedValue(document, coordinator, minutes(-16)), now, /replayed: .*16m later/],
      ['signed without a signing time (a coordinator before schema 3)', signedValue(document, coordinator, null), now, /replay not ruled out: revision 4 carries no signing time .* journal holds nothing of the key/],
      ['signed an hour after it was stored', signedValue(document, coordinator, minutes(60)), now, /clock skew: revision 4 was signed at .*60m after the NATS server stored it/],
      ['a signing time that is no time', signedValue({ ...document, signedAt: 'yesterday' }, coordinator), now, /signing time "yesterday" is not a time/],
    ];
    for (const [what, value, storedAt, reason] of refused) {
      assert.equal(await acceptDesired('h1.shop', value, options, storedAt), 'rejected', what);
      assert.match((await journal.desiredRefusals())[0]?.reason ?? '', reason, what);
      assert.deepEqual(await journal.desiredDocuments(), [], `${what}: nothing stored`);
    }
    // Within the window, both ways (an apply's pipelined writes, a little skew): taken.
    assert.equal(await acceptDesired('h1.shop', signedValue(document, coordinator, minutes(-14)), options, now), 'accepted');
    assert.equal(await acceptDesired('h1.shop', signedValue({ ...document, revision: 5 }, coordinator, minutes(14)), options, now), 'accepted');
    // A key the journal knows: the revision check holds, so an older coordinator's document (no signing time) is taken.
    assert.equal(await acceptDesired('h1.shop', signedValue({ ...document, revision: 6 }, coordinator, null), options, now), 'accepted');
    // But a signed one stored long after its signing is refused whatever the revision.
    assert.equal(await acceptDesired('h1.shop', signedValue({ ...document, revision: 7 }, coordinator, minutes(-60)), options, now), 'rejected');
    assert.deepEqual((await journal.desiredDocuments()).map((d) => d.revision), [6]);
  });

  it('an emptied project that retention forgot is not revived by an older signed revision written back', async () => {
    const journal = await open();
    const options = { hostId: 'h1', trust: { kind: 'pinned', coordinatorKey: coordinator.publicKey } as const, journal, logger: pino({ level: 'silent' }), onAccepted: () => undefined };
    const day = 24 * 3600 * 1000;
    const signed = new Date(Date.now() - 10 * day);
    const running = signedValue(desired('shop', { web: service({ replicas: 2 }) }, { revision: 1 }), coordinator, signed);
    assert.equal(await acceptDesired('h1.shop', running, options, signed), 'accepted');
    const emptiedAt = new Date(signed.getTime() + 60_000);
    assert.equal(await acceptDesired('h1.shop', signedValue(desired('shop', {}, { revision: 2, allowEmpty: true }), coordinator, emptiedAt), options, emptiedAt), 'accepted');
    await journal.markApplied({ project: 'shop', revision: 2, appliedAt: emptiedAt.toISOString() });
    await journal.prune({ policy: DEFAULT_RETENTION, now: new Date(), outboxPublished: true, listLive: async () => ({ containers: { ids: new Set(), ownerTokens: new Set() }, networks: { ids: new Set(), ownerTokens: new Set() }, volumes: { ids: new Set(), ownerTokens: new Set() } }) });
    assert.deepEqual(await journal.desiredDocuments(), [], 'retention forgot the emptied project (7 days)');
    // Revision 1 written back now, as it was signed, and as an older coordinator would have signed it.
    assert.equal(await acceptDesired('h1.shop', running, options, new Date()), 'rejected');
    assert.match((await journal.desiredRefusals())[0]?.reason ?? '', /replayed: revision 1 was signed at .* 10d later/);
    assert.equal(await acceptDesired('h1.shop', signedValue(desired('shop', { web: service({ replicas: 2 }) }, { revision: 1 }), coordinator, null), options, new Date()), 'rejected');
    assert.match((await journal.desiredRefusals())[0]?.reason ?? '', /replay not ruled out/);
    assert.deepEqual(await journal.desiredDocuments(), [], 'the project stays forgotten: nothing to run');
  });

  it('a journal that cannot store a good document is no refusal: acceptDesired throws JournalError, so the watch delivers the value again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-accept-'));
    dirs.push(dir);
    const journal = await Journal.open(dir);
    const options = { hostId: 'h1', trust: { kind: 'pinned', coordinatorKey: coordinator.publicKey } as const, journal, logger: pino({ level: 'silent' }), onAccepted: () => undefined };
    await journal.close(); // every write now fails, as on a full or read-only disk
    const value = signedValue(desired('shop', { web: service() }, { revision: 2 }), coordinator);
    await assert.rejects(acceptDesired('h1.shop', value, options, new Date()), JournalError);
    const reopened = await Journal.open(dir);
    journals.push(reopened);
    assert.deepEqual(await reopened.desiredRefusals(), [], 'no refusal was recorded');
    assert.equal(await acceptDesired('h1.shop', value, { ...options, journal: reopened }, new Date()), 'accepted', 'delivered again, it is stored');
  });
});
