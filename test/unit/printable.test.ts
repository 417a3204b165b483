import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { printable, printableJson } from '../../coordinator/cli/render/printable.js';

// Written out by range, independently of the implementation's Unicode classes: what must never reach a terminal raw.
// eslint-disable-next-line no-control-regex -- control characters are what this test looks for
const CONTROL_OR_INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|\udb40[\udc01\udc20-\udc7f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isShown = (text: string) => !CONTROL_OR_INVISIBLE.test(text) && !LONE_SURROGATE.test(text);

describe('printable', () => {
  it('shows a terminal escape sequence instead of sending it', () => {
    assert.equal(printable('disk full\u001b[2K\u001b[1A\u001b[32mall good\u001b]0;pwned\u0007'), 'disk full\\x1b[2K\\x1b[1A\\x1b[32mall good\\x1b]0;pwned\\x07');
  });

  it('writes line breaks, carriage returns and tabs as \\n, \\r and \\t, other C0 controls and DEL as \\xHH', () => {
    assert.equal(printable('a\nb\rc\td'), 'a\\nb\\rc\\td');
    assert.equal(printable('\u0000\u0008\u000b\u000c\u001f\u007f'), '\\x00\\x08\\x0b\\x0c\\x1f\\x7f');
  });

  it('shows C1 controls (an 8-bit CSI starts a sequence on its own) as \\xHH', () => {
    assert.equal(printable('\u0080\u0085\u009b31m\u009d0;t\u009c\u009f'), '\\x80\\x85\\x9b31m\\x9d0;t\\x9c\\x9f');
  });

  it('shows bidi overrides and isolates, zero-width characters, the BOM and line separators as \\uHHHH', () => {
    assert.equal(printable('ok \u202eexe.txt'), 'ok \\u202eexe.txt');
    assert.equal(printable('\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069'), '\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069');
    assert.equal(printable('we\u200bb\u200c\u200d\u200e\u200f\ufeff\u2028\u2029'), 'we\\u200bb\\u200c\\u200d\\u200e\\u200f\\ufeff\\u2028\\u2029');
    assert.equal(printable('\u061c\u2060\u00ad'), '\\u061c\\u2060\\xad');
  });

  it('shows invisible tag characters and lone surrogates', () => {
    assert.equal(printable('a\u{e0041}\u{e007f}'), 'a\\u{e0041}\\u{e007f}');
    assert.equal(printable('x\ud800y\udfff'), 'x\\ud800y\\udfff');
  });

  it('leaves printable text as it is: accents, CJK, emoji, backslashes', () => {
    for (const text of ['', 'web-1 (hw/busybox:test)', 'café naïve', '東京 서울', '🚀 ok 👍🏽', 'C:\\path\\x1b is text', 'tab-less  spaces']) assert.equal(printable(text), text);
  });

  it('with multiline keeps line breaks and tabs, and still escapes a carriage return and escape sequences', () => {
    assert.equal(printable('fleet.yaml:3:1: bad\n    \tweb:\r\u001b[2K', { multiline: true }), 'fleet.yaml:3:1: bad\n    \tweb:\\r\\x1b[2K');
  });

  it('property: the output of any string holds no control or invisible formatting character', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => isShown(printable(text))), { numRuns: 2000 });
    // Lone surrogates and the rare ranges, which a uniform draw of code points seldom hits.
    const risky = fc.constantFrom('\u001b', '\n', '\r', '\t', '\u007f', '\u009b', '\u202e', '\u2066', '\u200b', '\ufeff', '\u2028', '\ud800', '\udc00', '\u{e0041}', 'a', '中');
    fc.assert(fc.property(fc.array(risky, { maxLength: 20 }), (parts) => isShown(printable(parts.join('')))), { numRuns: 2000 });
  });

  it('property: printable text comes back unchanged, and an escaped value is not escaped again', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }).filter(isShown), (text) => printable(text) === text), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => printable(printable(text)) === printable(text)), { numRuns: 2000 });
  });
});

describe('printableJson', () => {
  it('writes the characters JSON.stringify leaves raw (DEL, C1, bidi, zero-width, separators) as \\u escapes', () => {
    const value = { message: 'a\u007f\u009b31m\u202eb\u200b\ufeff\u2028\u{e0041}', escaped: '\u001b[2K\n' };
    assert.equal(JSON.stringify(value).includes('\u009b'), true, 'JSON.stringify leaves an 8-bit CSI raw');
    assert.equal(printableJson(value), '{"message":"a\\u007f\\u009b31m\\u202eb\\u200b\\ufeff\\u2028\\udb40\\udc41","escaped":"\\u001b[2K\\n"}');
  });

  it('keeps the indentation of JSON.stringify and, for plain values, its exact text', () => {
    const value = { schema: 'hostwright.plan/v1', hosts: ['h1', '東京'], n: 1 };
    assert.equal(printableJson(value, 2), JSON.stringify(value, null, 2));
  });

  it('property: parses to the same value, and holds no raw control or invisible character but its own line breaks', () => {
    const value = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.array(fc.string({ unit: 'binary', maxLength: 10 }), { maxLength: 3 })), { maxKeys: 4 });
    fc.assert(
      fc.property(value, fc.constantFrom(undefined, 2), (document, indent) => {
        const json = printableJson(document, indent);
        assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(document)));
        return isShown(json.replaceAll('\n', ''));
      }),
      { numRuns: 1000 },
    );
  });
});
