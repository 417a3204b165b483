/**
 * Generators of hostile input for the fuzz tests: arbitrary values with prototype-pollution keys,
 * deep nesting, huge strings and wrong types, plus byte- and character-level mutations of valid
 * input. Pure; every generator is a fast-check arbitrary.
 */
import fc from 'fast-check';

/** Keys that mutate prototypes when a parser assigns them naively. */
export const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', '__defineGetter__', 'hasOwnProperty', 'toString', 'valueOf'] as const;

const hostileKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...POLLUTION_KEYS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('project', 'services', 'image', 'hostId', 'revision', 'env', 'ports', 'replicas', 'placement', 'ok', 'plan', 'candidate', 'status') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

const hostileScalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 64),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 16 }),
);

/** Any JSON-ish or MessagePack-ish value, with hostile keys, up to a moderate depth. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, hostileScalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(hostileKey, tie('value'), { maxKeys: 6 }),
})).value;

/** An array or object nested `depth` levels deep. */
export function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = kind === 'array' ? [value] : { services: value };
  return value;
}

/** A few extreme shapes every decoder must survive: deep nesting and huge strings. */
export const extremeValue: fc.Arbitrary<unknown> = fc.oneof(
  // Deeper trees are built as raw bytes by the decoder fuzz; encoders recurse too.
  fc.integer({ min: 100, max: 1_000 }).chain((depth) => fc.constantFrom(nested(depth, 'array'), nested(depth, 'object'))),
  fc.integer({ min: 100_000, max: 2_000_000 }).map((length) => ({ project: 'x'.repeat(length), services: { web: { image: 'y'.repeat(length) } } })),
  fc.integer({ min: 1_000, max: 50_000 }).map((count) => ({ project: 'p', services: Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, { image: 'i' }])) })),
);

/** Replaces the value at one random path of `valid` (a plain object tree) with a hostile one. */
export function corruptedOf(valid: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(valid);
  return fc.tuple(fc.constantFrom(...paths), hostileValue, fc.boolean()).map(([path, replacement, asKeyInjection]) => {
    const copy = structuredClone(valid) as Record<string, unknown>;
    if (path.length === 0) return replacement;
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], copy) as Record<string, unknown>;
    const last = path[path.length - 1] as string;
    if (asKeyInjection && typeof parent === 'object' && parent !== null && !Array.isArray(parent)) {
      // Own property named like a prototype key, as a hostile JSON/MessagePack map would carry it.
      Object.defineProperty(parent, POLLUTION_KEYS[last.length % POLLUTION_KEYS.length] as string, { value: replacement, enumerable: true, configurable: true, writable: true });
    } else {
      parent[last] = replacement;
    }
    return copy;
  });
}

function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  const paths = [prefix];
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const [key, child] of Object.entries(value)) paths.push(...pathsOf(child, [...prefix, key]));
  }
  return paths;
}

/** Flips, inserts, deletes or truncates bytes of a valid encoding. */
export function mutatedBytesOf(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.array(fc.tuple(fc.constantFrom('flip', 'insert', 'delete', 'truncate'), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((edits) => {
    let bytes = Array.from(valid);
    for (const [edit, at, byte] of edits) {
      const index = bytes.length === 0 ? 0 : at % bytes.length;
      if (edit === 'flip') bytes[index] = byte;
      else if (edit === 'insert') bytes.splice(index, 0, byte);
      else if (edit === 'delete') bytes.splice(index, 1);
      else bytes = bytes.slice(0, index);
    }
    return Uint8Array.from(bytes);
  });
}

/** Inserts, deletes or replaces characters of a valid text. */
export function mutatedTextOf(valid: string): fc.Arbitrary<string> {
  const piece = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(':', '- ', '\n', '  ', '{', '[', '&a ', '*a', '!!binary ', '<<: ', '"', "'", '#', '\t', '__proto__: ', '? '));
  return fc.array(fc.tuple(fc.constantFrom('insert', 'delete', 'replace'), fc.nat(), fc.nat({ max: 8 }), piece), { minLength: 1, maxLength: 5 }).map((edits) => {
    let text = valid;
    for (const [edit, at, length, inserted] of edits) {
      const index = text.length === 0 ? 0 : at % text.length;
      if (edit === 'insert') text = text.slice(0, index) + inserted + text.slice(index);
      else if (edit === 'delete') text = text.slice(0, index) + text.slice(index + length);
      else text = text.slice(0, index) + inserted + text.slice(index + length);
    }
    return text;
  });
}

/** Throws when any object in the tree has a prototype other than Object.prototype, Array.prototype or null. */
export function assertPlainTree(value: unknown, path = '(root)'): void {
  if (value === null || typeof value !== 'object') return;
  if (value instanceof Uint8Array || value instanceof Date) return;
  const proto: unknown = Object.getPrototypeOf(value);
  const expected = Array.isArray(value) ? Array.prototype : Object.prototype;
  if (proto !== expected && proto !== null) throw new Error(`${path} has a foreign prototype`);
  for (const [key, child] of Object.entries(value)) assertPlainTree(child, `${path}.${key}`);
}

/** Throws when a well-known prototype gained properties (pollution). */
export function assertNoPollution(): void {
  const probe: Record<string, unknown> = {};
  for (const key of ['polluted', 'isAdmin', 'image', 'hostId', 'services', 'x', '']) {
    if (key in probe && !Object.prototype.hasOwnProperty.call(Object.prototype, key)) throw new Error(`Object.prototype gained "${key}"`);
  }
  const own = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
  if (own !== PRISTINE_OBJECT_PROTOTYPE) throw new Error(`Object.prototype changed: ${own}`);
}

const PRISTINE_OBJECT_PROTOTYPE = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

/**
 * Runs `check` on `runs` generated inputs without shrinking (hostile inputs are large) and fails
 * with a short report: the seed to replay, the error, and the start of the input.
 */
export function fuzz<T>(arbitrary: fc.Arbitrary<T>, check: (input: T) => void, runs: number): void {
  // HOSTWRIGHT_FUZZ_SEED replays the run a failure reported.
  const seed = process.env.HOSTWRIGHT_FUZZ_SEED === undefined ? undefined : Number(process.env.HOSTWRIGHT_FUZZ_SEED);
  const details = fc.check(fc.property(arbitrary, check), { numRuns: runs, endOnFailure: true, ...(seed === undefined ? {} : { seed }) });
  if (!details.failed) return;
  const input = details.counterexample?.[0];
  const shown = typeof input === 'string' ? input : input instanceof Uint8Array ? Buffer.from(input).toString('hex') : String(input);
  const error = details.errorInstance instanceof Error ? `${details.errorInstance.name}: ${details.errorInstance.message}${process.env.HOSTWRIGHT_FUZZ_SEED === undefined ? '' : `\n${details.errorInstance.stack ?? ''}`}` : String(details.errorInstance);
  throw new Error(`fuzz failed after ${details.numRuns} inputs (replay with seed ${details.seed}): ${error.slice(0, 2_000)}\ninput (${shown.length} chars): ${JSON.stringify(shown.slice(0, 400))}`);
}
