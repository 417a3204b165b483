import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REPLAY_WINDOW_MS, replayRefusal } from '../../shared/replay-window.js';

const STORED = new Date('2026-03-01T12:00:00.000Z');
const signed = (offsetMs: number) => ({ revision: 7, signedAt: new Date(STORED.getTime() + offsetMs).toISOString() });

describe('the replay window', () => {
  it('takes a document stored within the window of its signing, either way, and refuses one just outside it', () => {
    for (const offset of [0, -REPLAY_WINDOW_MS, REPLAY_WINDOW_MS, -1000, 1000]) assert.equal(replayRefusal(signed(offset), STORED, false), undefined, `${offset} ms`);
    assert.match(replayRefusal(signed(-REPLAY_WINDOW_MS - 1), STORED, false) ?? '', /^replayed: revision 7 was signed at 2026-03-01T11:44:59\.999Z but stored at 2026-03-01T12:00:00\.000Z, 15m later/);
    assert.match(replayRefusal(signed(REPLAY_WINDOW_MS + 1), STORED, true) ?? '', /^clock skew: revision 7 was signed at .*, 15m after the NATS server stored it/);
    assert.match(replayRefusal(signed(-9 * 86_400_000), STORED, true) ?? '', /9d later/, 'a known key does not lift the window');
  });

  it('takes a document without a signing time only for a key the journal knows', () => {
    assert.equal(replayRefusal({ revision: 3 }, STORED, true), undefined);
    assert.match(replayRefusal({ revision: 3 }, STORED, false) ?? '', /^replay not ruled out: revision 3 carries no signing time .* run `hostwright apply` with a current coordinator/);
  });
});
