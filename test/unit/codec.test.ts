import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unpack } from 'msgpackr';
import { z } from 'zod';
import { encode, validate } from '../../shared/codec.js';
import { SchemaError } from '../../shared/errors.js';

describe('codec', () => {
  it('leaves undefined properties out and writes undefined array items as nil, at any depth', () => {
    const bytes = encode({ a: undefined, b: [undefined, 1], c: { d: undefined, e: 'x' }, f: null });
    assert.deepEqual(unpack(bytes), { b: [null, 1], c: { e: 'x' }, f: null });
    // No msgpackr extension for undefined (fixext1 type 0: 0xd4 0x00 0x00) anywhere in the bytes.
    assert.equal(Buffer.from(bytes).includes(Buffer.from([0xd4, 0x00, 0x00])), false);
  });

  it('keeps a "__proto__" key as data and writes byte arrays as binary', () => {
    const value: Record<string, unknown> = {};
    Object.defineProperty(value, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
    value.bin = new Uint8Array([1, 2, 3]);
    const bytes = encode(value);
    assert.equal(Buffer.from(bytes).includes(Buffer.from('__proto__')), true, 'the key is written as data');
    // msgpackr's decoder renames the key rather than touch a prototype.
    const decoded = unpack(bytes) as Record<string, unknown>;
    assert.deepEqual(Object.keys(decoded).sort(), ['__proto_', 'bin']);
    assert.deepEqual(new Uint8Array(decoded.bin as Uint8Array), new Uint8Array([1, 2, 3]));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('names the first ten problems of an invalid value, each cut short, and counts the rest', () => {
    const schema = z.record(z.string(), z.number());
    const value = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`${'k'.repeat(i === 0 ? 1000 : 1)}${i}`, 'x']));
    assert.throws(() => validate(schema, value, 'the document'), (error: unknown) => {
      assert.ok(error instanceof SchemaError);
      assert.equal(error.issues.length, 5000, 'every issue is kept for code that reads them');
      assert.match(error.message, /^the document is invalid: k{300}…; k1: .*; and 4990 more$/);
      assert.ok(error.message.length < 1500, `${error.message.length} characters`);
      return true;
    });
  });
});
