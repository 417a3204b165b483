import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { parseComposeFiles } from '../../coordinator/compose/compose-file.js';
import { composeSchemaCheck } from '../../coordinator/compose/compose-schema.js';
import { InvalidInputError } from '../../shared/errors.js';
import { fleetFileSchema } from '../../shared/fleet-spec.js';
import { assertNoPollution, assertPlainTree, corruptedOf, fuzz, hostileValue, mutatedTextOf } from '../lib/hostile-input.js';

const RUNS = Number(process.env.HOSTWRIGHT_FUZZ_RUNS ?? 6_000);
/** A read that takes longer than this is a hang for the purpose of this test. */
const HANG_MS = 10_000;

const CORPUS = fileURLToPath(new URL('../../../test/compose-corpus/', import.meta.url));
const corpusTexts = readdirSync(CORPUS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((entry) => readdirSync(join(CORPUS, entry.name)).filter((name) => /compose.*\.ya?ml$/.test(name)).map((name) => readFileSync(join(CORPUS, entry.name, name), 'utf8')))
  .sort();
const corpusValues = corpusTexts.map((text) => parse(text) as unknown);
const schemaCheck = composeSchemaCheck();

/** Compose-shaped text YAML cannot write through stringify: aliases, merge keys, depth, odd keys. */
const hostileComposeText = fc.oneof(
  fc.integer({ min: 2, max: 12 }).map((levels) => {
    // A billion-laughs alias bomb: each level refers to the one before ten times.
    const lines = ['x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i <= levels; i += 1) lines.push(`x-a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    return `${lines.join('\n')}\nservices:\n  web:\n    image: x\n    command: *a${levels}\n`;
  }),
  fc.integer({ min: 2, max: 40 }).map((levels) => {
    // Merge keys, each mapping merging the one before (and itself refered to many times).
    const lines = ['x-m0: &m0 {image: x, environment: {A: "1"}}'];
    for (let i = 1; i <= levels; i += 1) lines.push(`x-m${i}: &m${i} {<<: [*m${i - 1}, *m${i - 1}], k${i}: v}`);
    return `${lines.join('\n')}\nservices:\n  web: {<<: *m${levels}}\n  api: {<<: [*m${levels}, *m0]}\n`;
  }),
  fc.integer({ min: 50, max: 3_000 }).map((depth) => `services:\n  web:\n    image: x\n    x-deep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`),
  fc.integer({ min: 10, max: 500 }).map((depth) => `services:\n  web:\n    image: x\n    environment: {A: "${'${B:-'.repeat(depth)}x${'}'.repeat(depth)}"}\n`),
  fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }).map((keys) => `services:\n${keys.map((key, i) => `  ${JSON.stringify(key)}:\n    image: x${i}\n    labels: {${JSON.stringify(key)}: ${JSON.stringify(key)}}\n    environment: [${JSON.stringify(`${key}=1`)}]`).join('\n')}\n`),
  fc.constantFrom(
    'services:\n  __proto__: {image: x}\n',
    'services:\n  web: {image: x, environment: {__proto__: {isAdmin: true}, constructor: {prototype: {polluted: 1}}}}\n',
    '<<: {polluted: 1}\nservices: {}\n',
    'services:\n  web: {<<: 1, image: x}\n',
    'services:\n  web: &w {image: x, labels: *w}\n',
    'services:\n  web: {image: x, ports: ["1-65535:1-65535"]}\n',
    'services:\n  web: {image: x, expose: ["1-65535"]}\n',
    'services:\n  web: {image: x, command: "a \\"b"}\n',
    'services:\n  web: {image: "$", environment: ["=1", "A"]}\n',
    'services:\n  web: {image: x, deploy: {placement: {constraints: ["node.labels. == x"]}}}\n',
    'services:\n  web: {image: x, depends_on: {__proto__: {}}}\n',
  ),
);

const composeText = fc.oneof(
  { weight: 100, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 100, arbitrary: hostileValue.map((value) => stringify({ services: value }) ?? '') },
  { weight: 300, arbitrary: fc.constantFrom(...corpusValues).chain((value) => corruptedOf(value)).map((value) => stringify(value) ?? '') },
  { weight: 400, arbitrary: fc.constantFrom(...corpusTexts).chain((text) => mutatedTextOf(text)) },
  { weight: 30, arbitrary: hostileComposeText },
);

describe('compose reader under hostile input', () => {
  it(`gives a valid fleet or an InvalidInputError naming the file, for ${RUNS} generated inputs, without hanging or polluting prototypes`, () => {
    let accepted = 0;
    let rejected = 0;
    fuzz(
      fc.tuple(composeText, fc.option(composeText, { freq: 8 })),
      ([text, override]) => {
        const started = performance.now();
        const files = [{ name: 'compose.yaml', text }, ...(override === null ? [] : [{ name: 'compose.override.yaml', text: override }])];
        try {
          const { fleet } = parseComposeFiles(files, {
            directory: '/srv/fuzz',
            environment: { TAG: 'v1', POSTGRES_PASSWORD: 'pw' },
            dotenv: { name: '.env', text: 'APP_IMAGE=busybox\nDOTENV_VALUE=x\n' },
            readEnvFile: () => 'A=1\nB="two words"\n',
            profiles: ['debug'],
            // Only a key the files use may be left out: build where the text names it.
            ignoreUnsupported: /\bbuild\b/.test(text + (override ?? '')) ? ['build'] : [],
            schemaCheck,
          });
          assert.equal(fleetFileSchema.safeParse(fleet).success, true, 'an accepted fleet passes the schema');
          assertPlainTree(fleet);
          accepted += 1;
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
          assert.match(error.message, /^(compose\.yaml|compose\.override\.yaml|\.env)[: ]/);
          assert.ok(error.message.length < 20_000, `the error is readable (${error.message.length} characters)`);
          rejected += 1;
        }
        assert.ok(performance.now() - started < HANG_MS, 'reading finished');
        assertNoPollution();
      },
      RUNS,
    );
    assert.equal(accepted + rejected, RUNS);
    // Both outcomes must occur, or the generators are not exercising the reader.
    assert.ok(accepted > 0 && rejected > 0, `accepted ${accepted}, rejected ${rejected}`);
  });
});
