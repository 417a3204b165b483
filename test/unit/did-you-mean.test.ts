import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { closest, didYouMean, editDistance } from '../../shared/did-you-mean.js';

describe('editDistance', () => {
  it('counts inserts, deletes, substitutions and swaps of neighbours, ignoring case', () => {
    assert.equal(editDistance('image', 'image'), 0);
    assert.equal(editDistance('imagee', 'image'), 1);
    assert.equal(editDistance('imgae', 'image'), 1);
    assert.equal(editDistance('Image', 'image'), 0);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('is symmetric and zero only between equal strings (case aside)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        assert.equal(editDistance(a, b), editDistance(b, a));
        assert.equal(editDistance(a, b) === 0, a.toLowerCase() === b.toLowerCase());
        assert.ok(editDistance(a, b) <= Math.max(a.length, b.length));
      }),
    );
  });
});

describe('closest', () => {
  const keys = ['image', 'environment', 'env_file', 'ports', 'replicas', 'restart', 'healthcheck'];

  it('suggests the candidate a typo most likely meant', () => {
    assert.equal(closest('enviroment', keys), 'environment');
    assert.equal(closest('replica', keys), 'replicas');
    assert.equal(closest('prots', keys), 'ports');
    assert.equal(closest('h8', ['h1', 'h2', 'h7', 'web']), 'h1');
  });

  it('suggests nothing when no candidate is close, or when only the input itself is known', () => {
    assert.equal(closest('colour', keys), undefined);
    assert.equal(closest('x', ['y']), undefined);
    assert.equal(closest('image', ['image']), undefined);
    assert.equal(closest('anything', []), undefined);
  });

  it('gives the same answer whatever the order of the candidates', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.uniqueArray(fc.string({ maxLength: 8 }), { maxLength: 8 }), (input, candidates) => {
        assert.equal(closest(input, candidates), closest(input, [...candidates].reverse()));
      }),
    );
  });

  it('words the suggestion for the end of a message', () => {
    assert.equal(didYouMean('imagee', keys), '; did you mean "image"?');
    assert.equal(didYouMean('colour', keys), '');
  });
});
