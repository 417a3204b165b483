import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { boundedArray, boundedString } from '../../shared/bounded.js';
import { validate } from '../../shared/codec.js';
import { SchemaError } from '../../shared/errors.js';
import { planRequestSchema } from '../../shared/wire.js';

// Found by the wire fuzzer: zod runs a length check after a failed type check on anything with a
// `length`, and a `length` that cannot be compared (an array holding a prototype-less object) threw
// a TypeError out of validation.
describe('bounded schema pieces under crafted values', () => {
  const crafted = { length: [Object.create(null) as object] };

  it('a non-string or non-list with an uncomparable length is a type error, not a TypeError', () => {
    assert.match(boundedString(10).safeParse(crafted).error?.issues[0]?.message ?? '', /expected string/);
    assert.match(boundedArray(z.string(), 3).safeParse(crafted).error?.issues[0]?.message ?? '', /expected array/);
    assert.equal(boundedString(3).safeParse('abcdef').error?.issues[0]?.message, 'at most 3 characters, got 6');
  });

  it('validate turns anything a crafted value throws inside a schema into a SchemaError', () => {
    const throwing = z.object({ a: z.string() }).refine(() => {
      throw new TypeError('Cannot convert object to primitive value');
    });
    assert.throws(() => validate(throwing, { a: 'x' }, 'a message'), (error: unknown) => error instanceof SchemaError && /a message is invalid: it could not be validated/.test(error.message));
    assert.throws(() => validate(planRequestSchema, { correlationID: 'c', candidate: { hostId: 'h1', project: 'p', revision: 1, services: { web: { image: 'x', command: [crafted] } } } }, 'plan request'), SchemaError);
  });
});
