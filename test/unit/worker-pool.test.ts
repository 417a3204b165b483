import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runBounded } from '../../shared/worker-pool.js';

/** Resolves on the next turn of the event loop, so that lanes interleave. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runBounded', () => {
  it('returns the results in the items order, whatever order the calls end in', async () => {
    const results = await runBounded([30, 10, 20, 0], 3, async (ms, index) => {
      for (let i = 0; i < ms; i += 1) await turn();
      return `${index}:${ms}`;
    });
    assert.deepEqual(results, ['0:30', '1:10', '2:20', '3:0']);
  });

  it('keeps at most limit calls in flight and runs every item once', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await runBounded(Array.from({ length: 25 }, (_, i) => i), 4, async (item) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await turn();
      seen.push(item);
      inFlight -= 1;
    });
    assert.equal(most, 4);
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 25 }, (_, i) => i));
  });

  it('takes no item after a call throws, waits for the calls in flight, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = runBounded([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      for (let i = 0; i < (item === 0 ? 5 : 1); i += 1) await turn();
      if (item === 2) throw new Error('item 2 failed');
      finished.push(item);
    });
    await assert.rejects(run, /item 2 failed/);
    assert.deepEqual(started, [0, 1, 2]);
    assert.deepEqual(finished, [1, 0], 'item 0, in flight when 2 failed, finished before the pool returned');
  });

  it('handles no items and a limit below one', async () => {
    assert.deepEqual(await runBounded([], 4, async () => 1), []);
    assert.deepEqual(await runBounded(['a', 'b'], 0, async (item) => item.toUpperCase()), ['A', 'B']);
  });
});
