import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseFleetFile } from '../../coordinator/fleet-file.js';
import { InvalidInputError } from '../../shared/errors.js';
import { fleetFileSchema } from '../../shared/fleet-spec.js';
import { assertNoPollution, assertPlainTree, corruptedOf, fuzz, hostileValue, mutatedTextOf } from '../lib/hostile-input.js';

const RUNS = Number(process.env.HOSTWRIGHT_FUZZ_RUNS ?? 10_000);
/** A parse that takes longer than this is a hang for the purpose of this test. */
const HANG_MS = 10_000;

const EXAMPLE = readFileSync(new URL('../../../examples/fleet.yaml', import.meta.url), 'utf8');
const exampleValue: unknown = parseFleetFile(EXAMPLE, 'fleet.yaml');

/** Text that YAML cannot express through stringify: deep flow nesting, long scalars, anchors. */
const hostileYamlText = fc.oneof(
  fc.integer({ min: 50, max: 5_000 }).map((depth) => `project: p\nservices: ${'['.repeat(depth)}${']'.repeat(depth)}\n`),
  fc.integer({ min: 50, max: 5_000 }).map((depth) => `project: p\nservices: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`),
  fc.integer({ min: 10, max: 2_000 }).map((depth) => `project: p\nservices:\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`),
  fc.integer({ min: 100_000, max: 1_000_000 }).map((length) => `project: ${'p'.repeat(length)}\nservices: {}\n`),
  fc.integer({ min: 500, max: 2_000 }).map((count) => `project: p\nservices:\n${Array.from({ length: count }, (_, i) => `  s${i}: {image: i}`).join('\n')}\n`),
  fc.integer({ min: 2, max: 12 }).map((levels) => {
    // An alias bomb: each level references the previous one ten times.
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= levels; i += 1) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    return `project: p\nservices: {}\n${lines.join('\n')}\n`;
  }),
  // An alias chain (each anchor refers to the one before), a value that contains itself, a list past its limit.
  fc.integer({ min: 100, max: 5_000 }).map((length) => `project: p\nservices: {}\n${Array.from({ length }, (_, i) => (i === 0 ? 'x0: &a0 [1]' : `x${i}: &a${i} [*a${i - 1}]`)).join('\n')}\n`),
  fc.constantFrom('project: p\nservices: &s {web: {image: x, labels: *s}}\n', 'project: p\nservices:\n  web: &w\n    image: x\n    env: *w\n'),
  fc.integer({ min: 4_000, max: 200_000 }).map((count) => `project: p\nservices:\n  web: {image: x, command: [${'a,'.repeat(count)}]}\n`),
  fc.constantFrom('__proto__: {polluted: yes}\nproject: p\nservices: {}\n', 'project: p\nservices:\n  __proto__: {image: x}\n', 'project: p\nservices:\n  web:\n    image: x\n    env: {__proto__: {isAdmin: true}, constructor: {prototype: {polluted: 1}}}\n', '<<: {polluted: 1}\nproject: p\nservices: {}\n', '!!js/function "function(){}"\n'),
);

// About one input in a hundred is one of the slow extremes (deep, huge, many, alias bomb).
const fleetText = fc.oneof(
  { weight: 150, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 50, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 200, arbitrary: hostileValue.map((value) => stringify(value) ?? '') },
  { weight: 300, arbitrary: corruptedOf(exampleValue).map((value) => stringify(value) ?? '') },
  { weight: 300, arbitrary: mutatedTextOf(EXAMPLE) },
  { weight: 10, arbitrary: hostileYamlText },
);

describe('fleet file parser under hostile input', () => {
  it(`gives a valid fleet or an InvalidInputError naming the file, for ${RUNS} generated inputs, without hanging or polluting prototypes`, () => {
    let accepted = 0;
    let rejected = 0;
    fuzz(
      fleetText,
      (text) => {
        const started = performance.now();
        try {
          const fleet = parseFleetFile(text, 'fleet.yaml');
          assert.equal(fleetFileSchema.safeParse(fleet).success, true, 'an accepted fleet passes the schema');
          assertPlainTree(fleet);
          accepted += 1;
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
          assert.match(error.message, /^fleet\.yaml[: ]/);
          assert.ok(error.message.length < 20_000, `the error is readable (${error.message.length} characters)`);
          rejected += 1;
        }
        assert.ok(performance.now() - started < HANG_MS, 'parsing finished');
        assertNoPollution();
      },
      RUNS,
    );
    assert.equal(accepted + rejected, RUNS);
    // Both outcomes must occur, or the generators are not exercising the parser.
    assert.ok(accepted > 0 && rejected > 0, `accepted ${accepted}, rejected ${rejected}`);
  });
});
