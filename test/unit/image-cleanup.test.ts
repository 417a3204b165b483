import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { selectImageRemovals, unreferencedMarks, type HostImage, type ImageCleanupInput, type PullRecordView } from '../../agent/core/image-cleanup.js';
import { describeAction } from '../../shared/actions.js';
import { planRound, snapshotOf } from '../lib/simulated-runtime.js';

const NOW = '2026-12-04T12:00:00.000Z';
const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.parse(NOW) - ms).toISOString();

const V1: HostImage = { id: 'sha256:aaa1', references: ['app:v1'] };
const V2: HostImage = { id: 'sha256:aaa2', references: ['app:v2'] };
const V3: HostImage = { id: 'sha256:aaa3', references: ['app:v3'] };
const pulled = (reference: string, imageId: string, unreferencedFor?: number, digest?: string): PullRecordView => ({ reference, imageId, ...(digest ? { digest } : {}), ...(unreferencedFor === undefined ? {} : { unreferencedSince: ago(unreferencedFor) }) });

function input(fields: Partial<ImageCleanupInput>): ImageCleanupInput {
  return { images: [V1, V2, V3], pulls: [pulled('app:v1', V1.id, 2 * HOUR), pulled('app:v2', V2.id), pulled('app:v3', V3.id)], referenced: new Set(['app:v2', 'app:v3']), usedImageIds: new Set(), now: NOW, graceMs: HOUR, ...fields };
}
const removedIds = (fields: Partial<ImageCleanupInput>) => selectImageRemovals(input(fields)).map((removal) => removal.imageId);

describe('image cleanup selection', () => {
  it('removes a pulled image no revision names once its grace period is over; keeps the current and previous revisions\' images', () => {
    const removals = selectImageRemovals(input({}));
    assert.deepEqual(removals, [{ imageId: V1.id, references: ['app:v1'], unreferencedSince: ago(2 * HOUR) }]);
  });

  it('keeps an image within its grace period, and one never seen unreferenced', () => {
    assert.deepEqual(removedIds({ pulls: [pulled('app:v1', V1.id, HOUR - 1)] }), []);
    assert.deepEqual(removedIds({ pulls: [pulled('app:v1', V1.id, HOUR)] }), [V1.id], 'exactly the grace period is enough');
    assert.deepEqual(removedIds({ pulls: [pulled('app:v1', V1.id)] }), []);
  });

  it('keeps an image a revision names again, by any spelling of its reference', () => {
    assert.deepEqual(removedIds({ referenced: new Set(['app:v1']) }), []);
    const hub: HostImage = { id: 'sha256:bbb', references: ['docker.io/library/busybox:latest'] };
    assert.deepEqual(removedIds({ images: [hub], pulls: [pulled('busybox:latest', hub.id, 2 * HOUR)], referenced: new Set(['busybox:latest']) }), []);
    assert.deepEqual(removedIds({ images: [hub], pulls: [pulled('busybox:latest', hub.id, 2 * HOUR)], referenced: new Set() }), [hub.id]);
  });

  it('never removes an image it did not pull, or whose reference was pulled or tagged by hand to another image since', () => {
    assert.deepEqual(removedIds({ pulls: [] }), [], 'no pull record');
    assert.deepEqual(removedIds({ pulls: [{ reference: 'app:v1', unreferencedSince: ago(2 * HOUR) }] }), [], 'a record without the image id proves nothing');
    assert.deepEqual(removedIds({ pulls: [pulled('app:v1', 'sha256:other', 2 * HOUR)] }), [], 'docker pull / docker tag moved app:v1 to this image since');
  });

  it('never removes an image with a tag Hostwright did not pull', () => {
    const tagged: HostImage = { ...V1, references: ['app:v1', 'mine:keep'] };
    assert.deepEqual(removedIds({ images: [tagged] }), []);
    // Two references, both pulled by Hostwright and both unreferenced: the image goes with both.
    const both: HostImage = { ...V1, references: ['app:v1', 'app:old'] };
    assert.deepEqual(selectImageRemovals(input({ images: [both], pulls: [pulled('app:v1', V1.id, 2 * HOUR), pulled('app:old', V1.id, 3 * HOUR)] })), [{ imageId: V1.id, references: ['app:old', 'app:v1'], unreferencedSince: ago(2 * HOUR) }]);
    // The grace period counts from the last of them.
    assert.deepEqual(removedIds({ images: [both], pulls: [pulled('app:v1', V1.id, 2 * HOUR), pulled('app:old', V1.id, 60_000)] }), []);
  });

  it('accepts the repo digest its pull got, and no other', () => {
    const digested: HostImage = { ...V1, references: ['app:v1', 'app@sha256:d1'] };
    assert.deepEqual(removedIds({ images: [digested], pulls: [pulled('app:v1', V1.id, 2 * HOUR, 'sha256:d1')] }), [V1.id]);
    assert.deepEqual(removedIds({ images: [digested], pulls: [pulled('app:v1', V1.id, 2 * HOUR, 'sha256:d0')] }), []);
    assert.deepEqual(removedIds({ images: [{ ...V1, references: ['app@sha256:d1'] }], pulls: [pulled('app:v1', V1.id, 2 * HOUR, 'sha256:d1')] }), [], 'no tag left: not what a recorded pull left');
  });

  it('never removes an image a container uses, owned or not', () => {
    assert.deepEqual(removedIds({ usedImageIds: new Set([V1.id]) }), []);
  });

  it('notes when a pulled reference stops being named, and clears it when it is named again', () => {
    const pulls = [pulled('app:v1', V1.id), pulled('app:v2', V2.id, 10), pulled('app:v3', V3.id, 10), pulled('app:v4', 'sha256:aaa4', 10)];
    assert.deepEqual(unreferencedMarks(pulls, new Set(['app:v2', 'app:v3']), NOW), [
      { reference: 'app:v1', unreferencedSince: NOW },
      { reference: 'app:v2', unreferencedSince: undefined },
      { reference: 'app:v3', unreferencedSince: undefined },
    ]);
  });
});

describe('image cleanup in the plan', () => {
  it('removes images last, as host actions, and plan says which', () => {
    const round = planRound({ desired: [], snapshot: snapshotOf([], { images: ['app:v1'] }), owners: new Map(), imageRemovals: [{ imageId: 'sha256:0123456789abcdef', references: ['app:v1'], unreferencedSince: ago(2 * HOUR) }] });
    const action = round.plan.actions.at(-1);
    assert.ok(action?.kind === 'remove-image');
    assert.equal(action.phase, 'teardown');
    assert.equal(describeAction(action), 'remove image app:v1 [0123456789ab]');
    assert.match(action.reason, /no revision has named it since/);
    assert.deepEqual(round.runnable.map((runnable) => runnable.kind), ['remove-image'], 'no gate holds a cleanup back');
  });
});
