import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareStrings } from '../../shared/compare.js';

describe('compareStrings', () => {
  it('orders by code unit, not by the locale: capitals first, accents after z, NUL before all', () => {
    assert.deepEqual(['b', 'é', 'B', 'a', 'a\u0000b', 'z', 'a-b', 'a'].sort(compareStrings), ['B', 'a', 'a', 'a\u0000b', 'a-b', 'b', 'z', 'é']);
  });

  it('is zero only for equal strings and antisymmetric', () => {
    assert.equal(compareStrings('web', 'web'), 0);
    assert.equal(compareStrings('web', 'api'), 1);
    assert.equal(compareStrings('api', 'web'), -1);
  });
});
