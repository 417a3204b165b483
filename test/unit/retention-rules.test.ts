import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goneRecords, olderThan, type LiveSet, type OwnedRecordShape } from '../../agent/store/retention.js';

const HOUR = 3600_000;

function live(tokens: readonly string[] = [], ids: readonly string[] = []): LiveSet {
  return { ids: new Set(ids), ownerTokens: new Set(tokens) };
}

function record(fields: Partial<OwnedRecordShape> & { ownerToken: string }): OwnedRecordShape {
  return { intentSeq: 1, removed: false, objectId: `id-${fields.ownerToken}`, group: 'p/web/1', latest: false, ...fields };
}

function drop(records: readonly OwnedRecordShape[], listed: LiveSet, goneSince: Map<string, number>, now: number, keep: (r: OwnedRecordShape) => boolean = () => false): string[] {
  return goneRecords(records, (r) => r, listed, goneSince, now, HOUR, keep).map((r) => r.ownerToken);
}

// The gone-record rule (pure): what it may drop, and what it never does.
describe('retention: records of gone objects', () => {
  it('drops a gone record only when a later pass, goneMs on, still finds it gone', () => {
    const records = [record({ ownerToken: 'old', intentSeq: 1 }), record({ ownerToken: 'new', intentSeq: 2, latest: true })];
    const since = new Map<string, number>();
    assert.deepEqual(drop(records, live(['new']), since, 0), [], 'the first pass only notes it');
    assert.deepEqual(drop(records, live(['new']), since, HOUR - 1), [], 'not yet an hour');
    assert.deepEqual(drop(records, live(['new']), since, HOUR), ['old']);
  });

  it('a record seen again (listed by token or id) starts over', () => {
    const records = [record({ ownerToken: 'old' }), record({ ownerToken: 'new', intentSeq: 2, latest: true })];
    const since = new Map<string, number>();
    drop(records, live(), since, 0);
    assert.deepEqual(drop(records, live([], ['id-old']), since, HOUR), [], 'listed by id');
    assert.deepEqual(drop(records, live(), since, 2 * HOUR), [], 'gone again: noted anew');
    assert.deepEqual(drop(records, live(), since, 3 * HOUR), ['old']);
  });

  it('keeps the latest of a group unless its object was removed by Hostwright and the whole group goes', () => {
    const since = new Map<string, number>();
    const missing = [record({ ownerToken: 'a' }), record({ ownerToken: 'b', intentSeq: 2, latest: true })];
    drop(missing, live(), since, 0);
    assert.deepEqual(drop(missing, live(), since, HOUR), ['a'], 'b was not removed by Hostwright: the diff reports it missing');
    const removed = [record({ ownerToken: 'c', group: 'g2' }), record({ ownerToken: 'd', group: 'g2', intentSeq: 2, latest: true, removed: true })];
    drop(removed, live(), since, 0);
    assert.deepEqual(drop(removed, live(), since, HOUR).sort(), ['c', 'd']);
  });

  it('never drops a record the caller keeps (an open intent names it)', () => {
    const since = new Map<string, number>();
    const records = [record({ ownerToken: 'open' }), record({ ownerToken: 'z', intentSeq: 2, latest: true })];
    const keep = (r: OwnedRecordShape) => r.ownerToken === 'open';
    drop(records, live(), since, 0, keep);
    assert.deepEqual(drop(records, live(), since, 10 * HOUR, keep), []);
  });

  it('property: never drops a listed record, a kept one, or a latest one whose object was not removed', () => {
    const arbitrary = fc.array(fc.record({ group: fc.constantFrom('g1', 'g2', 'g3'), removed: fc.boolean(), listed: fc.boolean(), kept: fc.boolean(), withId: fc.boolean() }), { maxLength: 12 });
    fc.assert(
      fc.property(arbitrary, fc.array(fc.integer({ min: 0, max: 5 * HOUR }), { minLength: 1, maxLength: 4 }), (specs, times) => {
        const records = specs.map((spec, index) => record({ ownerToken: `t${index}`, intentSeq: index, group: spec.group, removed: spec.removed, objectId: spec.withId ? `id${index}` : undefined }));
        const latestOf = new Map<string, number>();
        records.forEach((r, index) => latestOf.set(r.group, index));
        const shaped = records.map((r, index) => ({ ...r, latest: latestOf.get(r.group) === index }));
        const listed = live(shaped.filter((_, index) => specs[index]?.listed).map((r) => r.ownerToken));
        const since = new Map<string, number>();
        let now = 0;
        for (const step of times) {
          now += step;
          for (const token of drop(shaped, listed, since, now, (r) => specs[Number(r.ownerToken.slice(1))]?.kept === true)) {
            const index = Number(token.slice(1));
            const spec = specs[index];
            const shape = shaped[index];
            assert.ok(spec && shape);
            assert.equal(spec.listed, false, 'a listed record is never dropped');
            assert.equal(spec.kept, false, 'a kept record is never dropped');
            if (shape.latest) assert.equal(shape.removed, true, 'a latest record goes only if Hostwright removed its object');
          }
        }
      }),
    );
  });

  it('an unreadable time counts as old', () => {
    const now = new Date('2026-12-04T12:00:00Z');
    assert.equal(olderThan('2026-12-04T11:00:00Z', 2 * HOUR, now), false);
    assert.equal(olderThan('2026-12-04T09:00:00Z', 2 * HOUR, now), true);
    assert.equal(olderThan('not a time', 2 * HOUR, now), true);
  });
});
