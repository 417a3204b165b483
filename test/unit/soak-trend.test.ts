import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { slope } from '../../bench/stats.js';

// The soak's trend figure (MiB a simulated day): what "flat after the first retention period" is judged by.
describe('soak trend (least-squares slope)', () => {
  it('is the gradient of a line, whatever its offset', () => {
    assert.equal(slope([0, 1, 2, 3].map((x) => ({ x, y: 100 + 0.5 * x }))), 0.5);
    assert.equal(slope([7, 8, 9].map((x) => ({ x, y: 42 - 2 * x }))), -2);
  });

  it('is about 0 for a sawtooth around a level, and 0 with fewer than two points or no spread', () => {
    const sawtooth = Array.from({ length: 200 }, (_, x) => ({ x, y: 110 + ((x % 10) - 4.5) }));
    assert.ok(Math.abs(slope(sawtooth)) < 0.01, `slope ${slope(sawtooth)}`);
    assert.equal(slope([{ x: 3, y: 5 }]), 0);
    assert.equal(slope([]), 0);
    assert.equal(slope([{ x: 1, y: 5 }, { x: 1, y: 9 }]), 0);
  });
});
