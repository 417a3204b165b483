import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Alias, Document, Node as YamlNode, Pair, YAMLError, YAMLMap } from 'yaml';
import type { z } from 'zod';
import { formatPath } from '../shared/codec.js';
import { didYouMean } from '../shared/did-you-mean.js';
import { InvalidInputError, errorMessage } from '../shared/errors.js';
import { fleetFileSchema } from '../shared/fleet-spec.js';
import type { FleetFile } from '../shared/fleet-spec.js';
import { MAX_FLEET_FILE_BYTES, MAX_YAML_NESTING, MAX_YAML_NODES } from '../shared/limits.js';
import { readBounded } from '../shared/read-bounded.js';
import { knownKeysAt } from '../shared/schema-keys.js';
import { composeYaml, toPlainValue, yamlExcerpt } from './fleet-yaml.js';
import { normalizeFleetForms } from './service-forms.js';

/** What a YAML file is, for its messages: "fleet file", with what an empty one should hold. */
export interface YamlFileKind {
  /** "fleet file", "agent configuration file". */
  readonly what: string;
  /** What an empty file lacks, e.g. "expected `project:` and `services:`". */
  readonly whenEmpty: string;
  /** A name to suggest when the path is a directory ("fleet.yaml"). */
  readonly example: string;
}

const FLEET_FILE: YamlFileKind = { what: 'fleet file', whenEmpty: 'expected `project:` and `services:`', example: 'fleet.yaml' };

/**
 * Reads and validates a fleet file. Every failure (missing, unreadable, too large, bad YAML, bad
 * content) is an InvalidInputError whose message points at the file, and where possible the line and column.
 */
export async function loadFleetFile(path: string): Promise<FleetFile> {
  return parseFleetFile(await readYamlText(path, FLEET_FILE), path);
}

/** Reads a YAML file of another kind (the agent's configuration) and validates it with `schema`, with the fleet file's error reporting. */
export async function loadYamlFile<S extends z.ZodType>(path: string, schema: S, kind: YamlFileKind): Promise<z.infer<S>> {
  return parseYamlFile(await readYamlText(path, kind), path, schema, kind);
}

/** Parses YAML text against `schema`; problems are reported as parseFleetFile reports them. */
export function parseYamlFile<S extends z.ZodType>(text: string, sourceName: string, schema: S, kind: YamlFileKind): z.infer<S> {
  const source = parseYamlSource(text, sourceName, kind.what);
  if (source.value === null || source.value === undefined) throw new InvalidInputError(`${sourceName} is empty: ${kind.whenEmpty}`);
  const place = (path: readonly PropertyKey[], key?: string): Place => {
    const offset = source.offsetOf(path, key);
    return { at: source.at(offset), order: offset };
  };
  const result = schema.safeParse(source.value, { error: describeRawIssue });
  if (result.success) return result.data;
  throw new InvalidInputError(describeSchemaIssues(result.error.issues, source.value, place));
}

async function readYamlText(path: string, kind: YamlFileKind): Promise<string> {
  let read: Awaited<ReturnType<typeof readBounded>>;
  try {
    read = await readBounded(path, MAX_FLEET_FILE_BYTES);
  } catch (cause) {
    throw new InvalidInputError(describeReadFailure(path, cause, kind), { cause });
  }
  if ('tooLarge' in read) throw tooLarge(path, read.size === undefined ? `more than ${MAX_FLEET_FILE_BYTES} bytes` : `${read.size} bytes`, kind.what);
  return read.text;
}

/**
 * Parses fleet file text; `sourceName` is the file name used in error messages.
 * Throws one InvalidInputError listing every problem as `<file>:<line>:<col> <path>: <message>`.
 */
export function parseFleetFile(text: string, sourceName: string): FleetFile {
  const source = parseYamlSource(text, sourceName);
  if (source.value === null || source.value === undefined) {
    throw new InvalidInputError(`${sourceName} is empty: expected \`project:\` and \`services:\``);
  }
  // The everyday compose forms (a command string, `ports: [8080]`, `environment: [A=1]`) become the model's.
  const forms = normalizeFleetForms(source.value);
  const place = (path: readonly PropertyKey[], key?: string): Place => {
    const origin = forms.sourcePathOf(path, key);
    const offset = source.offsetOf(origin.path, origin.key);
    return { at: source.at(offset), order: offset };
  };
  if (forms.problems.length > 0) throw new InvalidInputError(describeProblems(forms.problems, place));
  const result = validateFleet(forms.value);
  if (result.success) return result.data;
  throw new InvalidInputError(describeSchemaIssues(result.error.issues, forms.value, place));
}

/** One YAML file read into a plain value, with the means to point at a path in it. */
export interface YamlSource {
  readonly name: string;
  /** The document's value; null or undefined for an empty file. */
  readonly value: unknown;
  /** The source offset of `path` (its key's when `key` is given), or of its closest existing parent. */
  offsetOf(path: readonly PropertyKey[], key?: string): number;
  /** `<file>:<line>:<col>` of an offset. */
  at(offset: number): string;
  /** Whether `path` exists in this file's mappings and lists. */
  has(path: readonly PropertyKey[]): boolean;
  /** Tags YAML does not know (`!reset`, `!override`), with their offsets: their values were read as plain ones. */
  readonly unknownTags: readonly { readonly offset: number; readonly tag: string }[];
}

/** Where a problem is shown: `at` is the `<file>:<line>:<col>` text, `order` sorts problems by place. */
export interface Place {
  readonly at: string;
  readonly order: number;
}

/** A problem found outside the schema (while normalising), with the path it is at. */
export interface PathProblem {
  readonly path: readonly PropertyKey[];
  /** Set when the problem is a key of the mapping at `path`: the location is that key. */
  readonly key?: string;
  readonly message: string;
}

/**
 * Parses YAML text with the fleet file's bounds (size, nesting, number of values, aliases);
 * every YAML-level failure is an InvalidInputError naming `sourceName`, line and column.
 */
export function parseYamlSource(text: string, sourceName: string, what = 'fleet file'): YamlSource {
  // Length first: a string longer than the limit in UTF-16 units is longer in UTF-8 bytes too.
  if (text.length > MAX_FLEET_FILE_BYTES || Buffer.byteLength(text, 'utf8') > MAX_FLEET_FILE_BYTES) throw tooLarge(sourceName, `${Buffer.byteLength(text, 'utf8')} bytes`, what);
  const lineCounter = new LineCounter();
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${sourceName}:${line}:${col}`;
  };

  const composed = composeYaml(text, lineCounter);
  if (composed.kind === 'too-deep') {
    throw new InvalidInputError(`${at(composed.offset)}: YAML syntax error: mappings and lists nested more than ${MAX_YAML_NESTING} levels deep`);
  }
  if (composed.kind === 'too-many-values') {
    throw new InvalidInputError(`${at(composed.offset)}: YAML syntax error: more than ${MAX_YAML_NODES} values, list items and mapping entries in one ${what}`);
  }
  const { doc } = composed;
  if (doc.errors.length > 0) {
    // The first YAML error usually causes the rest; a long cascade hides it.
    const shown = doc.errors.slice(0, MAX_YAML_ERRORS).map((error) => describeYamlError(error, text, lineCounter, sourceName, what));
    throw new InvalidInputError(firstLines(shown, MAX_YAML_ERRORS, 'YAML errors', doc.errors.length));
  }
  const plain = toPlainValue(doc);
  if (plain.problems.length > 0) {
    const described = plain.problems.slice(0, MAX_PROBLEMS).map((problem) => {
      const excerpt = problem.excerpt ? indented(yamlExcerpt(text, lineCounter, problem.offset)) : '';
      return `${at(problem.offset)}: YAML syntax error: ${problem.message}${excerpt}`;
    });
    throw new InvalidInputError(firstLines(described, MAX_PROBLEMS, 'problems', plain.problems.length));
  }
  // Each alias is a full copy once validated: what it expands to is bounded like the file itself.
  if (plain.expandedSize > MAX_FLEET_FILE_BYTES) throw tooLarge(sourceName, 'once its YAML aliases are written out, each a copy of what it refers to', what);
  const locator = new SourceLocator(doc, plain.aliasTargets);
  return {
    name: sourceName,
    value: plain.value,
    offsetOf: (path, key) => locator.offsetOf(path, key),
    at,
    has: (path) => valueAt(plain.value, path).found,
    unknownTags: doc.warnings.filter((warning) => warning.code === 'TAG_RESOLVE_FAILED').map((warning) => ({ offset: warning.pos[0], tag: text.slice(warning.pos[0], warning.pos[1]) })),
  };
}

/** The lines of an error for problems found while normalising, in source order. */
export function describeProblems(problems: readonly PathProblem[], place: (path: readonly PropertyKey[], key?: string) => Place): string {
  const lines = problems
    .map((problem, index) => ({ index, where: place(problem.path, problem.key), problem }))
    .sort((a, b) => a.where.order - b.where.order || a.index - b.index)
    .map(({ where, problem }) => `${where.at} ${describePath(problem.path)}: ${problem.message}`);
  return firstLines([...new Set(lines)], MAX_PROBLEMS, 'problems');
}

/** The lines of an error for a failed schema, one per user-visible mistake, in source order. */
export function describeSchemaIssues(issues: readonly z.core.$ZodIssue[], raw: unknown, place: (path: readonly PropertyKey[], key?: string) => Place, schema: z.core.$ZodType = fleetFileSchema): string {
  return describeProblems(firstProblemPerPlace(issues.flatMap((issue) => flattenIssue(issue, [], raw, schema))), place);
}

function tooLarge(sourceName: string, how: string, what = 'fleet file'): InvalidInputError {
  return new InvalidInputError(`${sourceName} is too large (${how}): a ${what} may hold at most ${MAX_FLEET_FILE_BYTES / (1024 * 1024)} MiB (${MAX_FLEET_FILE_BYTES} bytes)`);
}

const MAX_YAML_ERRORS = 3;
const MAX_PROBLEMS = 25;

/** At most `limit` entries, then one line saying how many more there are (of `total`, when only the first were described). */
function firstLines(lines: readonly string[], limit: number, what: string, total = lines.length): string {
  if (total <= limit) return lines.join('\n');
  return [...lines.slice(0, limit), `… and ${total - limit} more ${what} (fix the first ones and run again)`].join('\n');
}

function describeReadFailure(path: string, cause: unknown, kind: YamlFileKind): string {
  const code = cause instanceof Error && 'code' in cause ? cause.code : undefined;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return `${kind.what} not found: ${path}`;
    case 'EISDIR':
      return `${kind.what} ${path} is a directory; expected a YAML file such as ${path.replace(/\/+$/, '')}/${kind.example}`;
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${kind.what} ${path}: permission denied`;
    default:
      return `cannot read ${kind.what} ${path}: ${errorMessage(cause)}`;
  }
}

// --- YAML-level problems -------------------------------------------------------------------

function describeYamlError(error: YAMLError, text: string, lineCounter: LineCounter, sourceName: string, kind: string): string {
  const [start, end] = error.pos;
  // A position of -1 means the error has no place in the source (yaml's prettyErrors skips it too).
  if (start < 0) return `${sourceName}: YAML syntax error: ${shorten(error.message, 200)}`;
  const { line, col } = lineCounter.linePos(start);
  const message = error.code === 'MULTIPLE_DOCS' ? `a ${kind} holds one YAML document; remove the extra "---"` : shorten(error.message, 200);
  return `${sourceName}:${line}:${col}: YAML syntax error: ${message}${indented(yamlExcerpt(text, lineCounter, start, end))}`;
}

/** A source excerpt under an error line, indented by four spaces. */
function indented(excerpt: string): string {
  return excerpt === '' ? '' : `\n${excerpt.split('\n').map((line) => `    ${line}`).join('\n')}`;
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// --- Schema problems -------------------------------------------------------------------------

/** The model's schema with Hostwright's wording of zod's messages. */
export function validateFleet(raw: unknown): z.ZodSafeParseResult<FleetFile> {
  return fleetFileSchema.safeParse(raw, { error: describeRawIssue });
}

type Problem = PathProblem;

/** One problem per user-visible mistake: unknown keys one by one, unions resolved to the branch the user meant. */
function flattenIssue(issue: z.core.$ZodIssue, basePath: readonly PropertyKey[], raw: unknown, schema: z.core.$ZodType): Problem[] {
  const path = [...basePath, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path, key, message: `unknown key ${JSON.stringify(quoteLimit(key))}${didYouMean(key, knownKeysAt(schema, path))}` }));
    case 'invalid_key': {
      const key = String(path.at(-1));
      const reasons = issue.issues.map((inner) => inner.message).join('; ');
      return [{ path: path.slice(0, -1), key, message: `invalid key ${JSON.stringify(quoteLimit(key))}: ${reasons}` }];
    }
    case 'invalid_union':
      return flattenUnion(issue, path, raw, schema);
    default:
      return [{ path, message: issue.message }];
  }
}

function flattenUnion(issue: z.core.$ZodIssue & { code: 'invalid_union' }, path: readonly PropertyKey[], raw: unknown, schema: z.core.$ZodType): Problem[] {
  // A branch whose type matched (no complaint about the value itself) is what the user was writing.
  const isAboutWholeValue = (inner: z.core.$ZodIssue): boolean =>
    inner.path.length === 0 && (inner.code === 'invalid_type' || inner.code === 'invalid_value' || (inner.code === 'invalid_union' && inner.errors.every((branch) => branch.some(isAboutWholeValue))));
  const matchingBranches = issue.errors.filter((branch) => !branch.some(isAboutWholeValue));
  const closest = matchingBranches.reduce<z.core.$ZodIssue[] | undefined>((best, branch) => (best === undefined || branch.length < best.length ? branch : best), undefined);
  if (closest !== undefined) return closest.flatMap((inner) => flattenIssue(inner, path, raw, schema));

  const alternatives = issue.errors.flatMap((branch) => branch.filter(isAboutWholeValue).flatMap(describeExpected));
  if (alternatives.length === 0) return [{ path, message: issue.message }];
  const value = valueAt(raw, path);
  const message = value.found ? `expected ${joinAlternatives([...new Set(alternatives)])}, got ${describeValue(value.value)}` : 'required';
  return [{ path, message }];
}

function describeExpected(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'invalid_type') return [typeName(issue.expected)];
  if (issue.code === 'invalid_value') return issue.values.map((value) => JSON.stringify(value));
  // A union inside a union: its own alternatives.
  if (issue.code === 'invalid_union') return issue.errors.flatMap((branch) => branch.flatMap(describeExpected));
  return [issue.message];
}

/** Later checks on a value that failed an earlier one mostly restate it (an empty image also "has spaces"): keep the first. */
function firstProblemPerPlace(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const place = `${formatPath(problem.path)}\u0000${problem.key ?? ''}`;
    if (seen.has(place)) return false;
    seen.add(place);
    return true;
  });
}

/** Readable text for zod's built-in messages; messages written in the schema take precedence over this. */
function describeRawIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `expected ${typeName(issue.expected)}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `expected ${joinAlternatives(issue.values.map((value) => JSON.stringify(value)))}, got ${describeValue(issue.input)}`;
    case 'too_small':
      return describeBound(issue.origin, 'at least', 'more than', issue.minimum, issue.inclusive, issue.input);
    case 'too_big':
      return describeBound(issue.origin, 'at most', 'less than', issue.maximum, issue.inclusive, issue.input);
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}, got ${describeValue(issue.input)}`;
    case 'invalid_format':
      return `has the wrong format${issue.pattern === undefined ? '' : ` (expected to match ${issue.pattern})`}`;
    default:
      return undefined;
  }
}

function describeBound(origin: string, inclusiveWord: string, exclusiveWord: string, limit: number | bigint, inclusive: boolean | undefined, input: unknown): string {
  const bound = `${inclusive === false ? exclusiveWord : inclusiveWord} ${String(limit)}`;
  switch (origin) {
    case 'array':
      return Number(limit) === 1 && inclusiveWord === 'at least' ? 'must not be empty' : `must have ${bound} items`;
    case 'string':
      return Number(limit) === 1 && inclusiveWord === 'at least' ? 'must not be empty' : `must be ${bound} characters long`;
    default:
      return `must be ${bound}, got ${describeValue(input)}`;
  }
}

function typeName(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'a boolean';
    case 'array':
    case 'tuple':
      return 'a list';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'null':
      return 'an empty value';
    default:
      return expected;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' && !Number.isFinite(value)) return `${String(value)} (not a finite number)`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function joinAlternatives(alternatives: readonly string[]): string {
  if (alternatives.length <= 1) return alternatives[0] ?? 'nothing';
  return `${alternatives.slice(0, -1).join(', ')} or ${alternatives.at(-1) ?? ''}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = raw;
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return { found: true, value };
}

// --- Locating a path in the YAML source ------------------------------------------------------

/** Finds the source offset of a problem's path; each mapping's keys are indexed once, on first use. */
class SourceLocator {
  readonly #pairs = new Map<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly aliasTargets: ReadonlyMap<Alias, YamlNode>,
  ) {}

  /**
   * Source offset for a problem at `path`: the value's node, or the key when the value is a block
   * collection or empty (so the line shows the name); a missing node points at its closest existing parent.
   */
  offsetOf(path: readonly PropertyKey[], key: string | undefined): number {
    let node: unknown = this.doc.contents;
    let keyOffset: number | undefined;
    for (const segment of path) {
      const child = this.#childOf(node, segment);
      if (child === undefined) return keyOffset ?? startOf(node);
      node = child.value;
      keyOffset = startOf(child.key, -1);
      if (keyOffset < 0) keyOffset = undefined;
    }
    if (key !== undefined) {
      const pair = this.#pairOf(node, key);
      if (pair !== undefined) return startOf(pair.key);
    }
    const pointsAtValue = (isScalar(node) && node.value !== null) || isAlias(node) || ((isMap(node) || isSeq(node)) && node.flow === true);
    return pointsAtValue || keyOffset === undefined ? startOf(node, keyOffset ?? 0) : keyOffset;
  }

  #childOf(parent: unknown, segment: PropertyKey): { key: unknown; value: unknown } | undefined {
    const collection = this.#resolved(parent);
    if (isSeq(collection) && typeof segment === 'number') {
      return segment < collection.items.length ? { key: undefined, value: collection.items[segment] } : undefined;
    }
    const pair = this.#pairOf(collection, segment);
    return pair === undefined ? undefined : { key: pair.key, value: pair.value };
  }

  #pairOf(parent: unknown, segment: PropertyKey): Pair | undefined {
    const collection = this.#resolved(parent);
    if (!isMap(collection)) return undefined;
    let index = this.#pairs.get(collection);
    if (index === undefined) {
      index = new Map();
      // toJS turns every key into a string, so index by string (a YAML key `1` is the path segment "1").
      for (const pair of collection.items) if (isPair(pair) && isScalar(pair.key) && !index.has(String(pair.key.value))) index.set(String(pair.key.value), pair);
      this.#pairs.set(collection, index);
    }
    return index.get(String(segment));
  }

  #resolved(node: unknown): unknown {
    return isAlias(node) ? this.aliasTargets.get(node) : node;
  }
}

function startOf(node: unknown, fallback = 0): number {
  if (isScalar(node) || isAlias(node) || isMap(node) || isSeq(node)) return node.range?.[0] ?? fallback;
  return fallback;
}

/** formatPath with long keys cut short, so that an error line stays readable. */
function describePath(path: readonly PropertyKey[]): string {
  return formatPath(path.map((segment) => (typeof segment === 'string' ? quoteLimit(segment) : segment)));
}

function quoteLimit(text: string): string {
  return text.length > 64 ? `${text.slice(0, 40)}…` : text;
}
