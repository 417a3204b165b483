import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { composeYaml, toPlainValue, yamlExcerpt } from '../../coordinator/fleet-yaml.js';
import { MAX_YAML_NESTING } from '../../shared/limits.js';
import { hostileValue, mutatedTextOf } from '../lib/hostile-input.js';
import { LINEAR_BOUND, measureGrowth } from '../lib/growth.js';

function composed(text: string) {
  const result = composeYaml(text, new LineCounter());
  assert.equal(result.kind, 'document');
  return result.kind === 'document' ? result.doc : assert.fail('not composed');
}

const EXAMPLE = ['project: shop', 'services:', '  web:', '    image: nginx', '    command: ["nginx", "-g", "daemon off;"]', '    env: { A: 1, B: true, C: ~ }', ''].join('\n');

describe('composeYaml and toPlainValue', () => {
  it('give what yaml\'s own parseDocument and toJS give, for arbitrary YAML without duplicate keys', () => {
    const text = fc.oneof(
      hostileValue.map((value) => stringify(value) ?? ''),
      mutatedTextOf(EXAMPLE),
    );
    fc.assert(
      fc.property(text, (source) => {
        const reference = parseDocument(source, { uniqueKeys: true });
        const doc = composed(source);
        assert.deepEqual(
          doc.errors.map((error) => [error.code, error.pos]),
          reference.errors.filter((error) => error.code !== 'DUPLICATE_KEY').map((error) => [error.code, error.pos]),
        );
        if (reference.errors.length > 0) return;
        const plain = toPlainValue(doc);
        // Only what toJS silently gets wrong may differ: a key given twice, "__proto__".
        if (plain.problems.length > 0) return;
        assert.deepEqual(plain.value, reference.toJS());
      }),
      { numRuns: 2000 },
    );
  });

  it('stops at the first collection nested more than the limit, wherever the rest of the file goes', () => {
    const atLimit = `x: ${'['.repeat(MAX_YAML_NESTING - 1)}${']'.repeat(MAX_YAML_NESTING - 1)}\n`;
    assert.equal(composeYaml(atLimit, new LineCounter()).kind, 'document');
    const deep = `x: ${'['.repeat(MAX_YAML_NESTING)}${']'.repeat(MAX_YAML_NESTING)}\n`;
    assert.deepEqual(composeYaml(deep, new LineCounter()), { kind: 'too-deep', offset: 3 + MAX_YAML_NESTING - 1 });
    const block = `${Array.from({ length: MAX_YAML_NESTING + 1 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`;
    assert.equal(composeYaml(block, new LineCounter()).kind, 'too-deep');
    // Ten million brackets: a parser that read them all would take tens of seconds.
    const started = performance.now();
    assert.equal(composeYaml(`x: ${'['.repeat(10_000_000)}`, new LineCounter()).kind, 'too-deep');
    assert.ok(performance.now() - started < 1000, 'it stops early');
  });

  it('resolves an alias to the value of the last anchor of that name before it, shared, and counts its size as a copy', () => {
    const plain = toPlainValue(composed('a: &x [1, 2, 3]\nb: *x\nc: &x [4]\nd: *x\n'));
    assert.deepEqual(plain.problems, []);
    const value = plain.value as Record<string, unknown>;
    assert.deepEqual(value, { a: [1, 2, 3], b: [1, 2, 3], c: [4], d: [4] });
    assert.equal(value.a, value.b, 'the same value, as toJS gives it');
    const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`)].join('\n');
    assert.ok(toPlainValue(composed(bomb)).expandedSize > 10 ** 10, 'ten levels of ten aliases expand to 10^10 values');
  });

  it('reports what cannot become a plain object, at its offset: duplicate keys, unknown anchors, self-containing aliases, "__proto__", collection keys', () => {
    const problems = (text: string) => toPlainValue(composed(text)).problems.map(({ offset, message }) => [offset, message]);
    assert.deepEqual(problems('a: 1\nb: 2\na: 3\n'), [[10, 'duplicate key "a"']]);
    assert.deepEqual(problems('1: a\n"1": b\n'), [[5, 'duplicate key "1"']], 'keys that toJS makes equal are duplicates');
    assert.deepEqual(problems('a: *nope\n'), [[3, 'unknown anchor "*nope" (define "&nope" before using it)']]);
    assert.deepEqual(problems('a: &s {b: *s}\n'), [[10, 'the alias "*s" is inside what "&s" marks (a value cannot contain itself)']]);
    assert.deepEqual(problems('{__proto__: 1}\n'), [[1, 'the key "__proto__" is not allowed']]);
    assert.deepEqual(problems('? [a]\n: b\n'), [[2, 'a mapping key must be a plain value, not a list or mapping']]);
    // Keys given twice: one set per mapping, not a comparison with every earlier key, so the time
    // grows with the keys, not with their square.
    const growth = measureGrowth({
      label: 'duplicate keys',
      small: 2_000,
      prepare: (count) => ({ count, document: composed(Array.from({ length: 2 }, () => Array.from({ length: count }, (_, i) => `k${i}: 1`).join('\n')).join('\n')) }),
      run: ({ count, document }) => assert.equal(toPlainValue(document).problems.length, count),
    });
    assert.ok(growth.factor < LINEAR_BOUND, growth.summary);
  });
});

describe('yamlExcerpt', () => {
  it('is the excerpt yaml\'s prettyErrors prints, for every error of arbitrary broken text', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedTextOf(EXAMPLE), fc.string({ maxLength: 120 }), fc.string({ minLength: 80, maxLength: 300 }).map((s) => `key: ${s}\n  - [${s}`)), (text) => {
        const lineCounter = new LineCounter();
        const reference = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: false });
        for (const error of reference.errors) {
          if (error.pos[0] < 0) continue;
          const printed = /:\n\n([\s\S]*)\n$/.exec(error.message)?.[1] ?? '';
          assert.equal(yamlExcerpt(text, lineCounter, error.pos[0], error.pos[1]), printed, error.message);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
