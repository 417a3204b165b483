import { readFile } from 'node:fs/promises';
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Pair, YAMLError } from 'yaml';
import type { z } from 'zod';
import { formatPath } from '../shared/codec.js';
import { InvalidInputError, errorMessage } from '../shared/errors.js';
import { fleetFileSchema } from '../shared/fleet-spec.js';
import type { FleetFile } from '../shared/fleet-spec.js';

/**
 * Reads and validates a fleet file. Every failure (missing, unreadable, bad YAML, bad content)
 * is an InvalidInputError whose message points at the file, and where possible the line and column.
 */
export async function loadFleetFile(path: string): Promise<FleetFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new InvalidInputError(describeReadFailure(path, cause), { cause });
  }
  return parseFleetFile(text, path);
}

/**
 * Parses fleet file text; `sourceName` is the file name used in error messages.
 * Throws one InvalidInputError listing every problem as `<file>:<line>:<col> <path>: <message>`.
 */
export function parseFleetFile(text: string, sourceName: string): FleetFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${sourceName}:${line}:${col}`;
  };

  if (doc.errors.length > 0) {
    // The first YAML error usually causes the rest; a long cascade hides it.
    throw new InvalidInputError(firstLines(doc.errors.map((error) => describeYamlError(doc, error, sourceName)), MAX_YAML_ERRORS, 'YAML errors'));
  }
  const structureProblems = findUnsupportedYaml(doc).map((problem) => `${at(problem.offset)}: YAML syntax error: ${problem.message}`);
  if (structureProblems.length > 0) throw new InvalidInputError(firstLines(structureProblems, MAX_PROBLEMS, 'problems'));

  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (cause) {
    // Only resource limits remain here (e.g. an alias bomb): the document itself parsed.
    throw new InvalidInputError(`${sourceName}: YAML error: ${errorMessage(cause)}`, { cause });
  }
  if (raw === null || raw === undefined) {
    throw new InvalidInputError(`${sourceName} is empty: expected \`project:\` and \`services:\``);
  }

  const result = validateFleet(raw);
  if (result.success) return result.data;

  const problems = firstProblemPerPlace(result.error.issues.flatMap((issue) => flattenIssue(issue, [], raw)));
  const lines = problems
    .map((problem, index) => ({ index, offset: offsetOf(doc, problem.path, problem.key), problem }))
    .sort((a, b) => a.offset - b.offset || a.index - b.index)
    .map(({ offset, problem }) => `${at(offset)} ${formatPath(problem.path)}: ${problem.message}`);
  throw new InvalidInputError(firstLines([...new Set(lines)], MAX_PROBLEMS, 'problems'));
}

const MAX_YAML_ERRORS = 3;
const MAX_PROBLEMS = 25;

/** At most `limit` entries, then one line saying how many more there are. */
function firstLines(lines: readonly string[], limit: number, what: string): string {
  if (lines.length <= limit) return lines.join('\n');
  return [...lines.slice(0, limit), `… and ${lines.length - limit} more ${what} (fix the first ones and run again)`].join('\n');
}

function describeReadFailure(path: string, cause: unknown): string {
  const code = cause instanceof Error && 'code' in cause ? cause.code : undefined;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return `fleet file not found: ${path}`;
    case 'EISDIR':
      return `fleet file ${path} is a directory; expected a YAML file such as ${path.replace(/\/+$/, '')}/fleet.yaml`;
    case 'EACCES':
    case 'EPERM':
      return `cannot read fleet file ${path}: permission denied`;
    default:
      return `cannot read fleet file ${path}: ${errorMessage(cause)}`;
  }
}

// --- YAML-level problems -------------------------------------------------------------------

function describeYamlError(doc: Document, error: YAMLError, sourceName: string): string {
  const position = error.linePos?.[0];
  const location = position ? `${sourceName}:${position.line}:${position.col}` : sourceName;
  // prettyErrors appends " at line L, column C:" and a source excerpt with a caret; keep the excerpt.
  const pretty = /^([\s\S]*?) at line \d+, column \d+:?\n([\s\S]*)$/.exec(error.message);
  let what = pretty?.[1] ?? error.message;
  const excerpt = (pretty?.[2] ?? '').replace(/^\n+|\n+$/g, '');
  if (error.code === 'DUPLICATE_KEY') {
    const key = scalarKeyAt(doc, error.pos[0]);
    what = key === undefined ? 'duplicate key' : `duplicate key ${JSON.stringify(key)}`;
  } else if (error.code === 'MULTIPLE_DOCS') {
    what = 'a fleet file holds one YAML document; remove the extra "---"';
  }
  const indentedExcerpt = excerpt === '' ? '' : `\n${excerpt.split('\n').map((line) => `    ${line}`).join('\n')}`;
  return `${location}: YAML syntax error: ${what}${indentedExcerpt}`;
}

function scalarKeyAt(doc: Document, offset: number): string | undefined {
  let key: string | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        key = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return key;
}

interface YamlProblem {
  readonly offset: number;
  readonly message: string;
}

/** Constructs that parse but cannot become a plain object: collection keys, aliases to no anchor. */
function findUnsupportedYaml(doc: Document): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const anchorsSoFar = new Set<string>();
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        if (!anchorsSoFar.has(node.source)) problems.push({ offset: node.range?.[0] ?? 0, message: `unknown anchor "*${node.source}" (define "&${node.source}" before using it)` });
      } else if (node.anchor) {
        anchorsSoFar.add(node.anchor);
      }
    },
    Pair(_, pair) {
      if (isMap(pair.key) || isSeq(pair.key)) problems.push({ offset: pair.key.range?.[0] ?? 0, message: 'a mapping key must be a plain value, not a list or mapping' });
      // A JavaScript object cannot hold this key (it would be dropped without a word): say so.
      if (isScalar(pair.key) && pair.key.value === '__proto__') problems.push({ offset: pair.key.range?.[0] ?? 0, message: 'the key "__proto__" is not allowed' });
    },
  });
  return problems;
}

// --- Schema problems -------------------------------------------------------------------------

function validateFleet(raw: unknown): z.ZodSafeParseResult<FleetFile> {
  return fleetFileSchema.safeParse(raw, { error: describeRawIssue });
}

interface Problem {
  readonly path: readonly PropertyKey[];
  /** Set when the problem is a key of the mapping at `path`: the location is that key. */
  readonly key?: string;
  readonly message: string;
}

/** One problem per user-visible mistake: unknown keys one by one, unions resolved to the branch the user meant. */
function flattenIssue(issue: z.core.$ZodIssue, basePath: readonly PropertyKey[], raw: unknown): Problem[] {
  const path = [...basePath, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path, key, message: `unknown key ${JSON.stringify(key)}` }));
    case 'invalid_key': {
      const key = String(path.at(-1));
      const reasons = issue.issues.map((inner) => inner.message).join('; ');
      return [{ path: path.slice(0, -1), key, message: `invalid key ${JSON.stringify(key)}: ${reasons}` }];
    }
    case 'invalid_union':
      return flattenUnion(issue, path, raw);
    default:
      return [{ path, message: issue.message }];
  }
}

function flattenUnion(issue: z.core.$ZodIssue & { code: 'invalid_union' }, path: readonly PropertyKey[], raw: unknown): Problem[] {
  // A branch whose type matched (no complaint about the value itself) is what the user was writing.
  const isAboutWholeValue = (inner: z.core.$ZodIssue): boolean => inner.path.length === 0 && (inner.code === 'invalid_type' || inner.code === 'invalid_value');
  const matchingBranches = issue.errors.filter((branch) => !branch.some(isAboutWholeValue));
  const closest = matchingBranches.reduce<z.core.$ZodIssue[] | undefined>((best, branch) => (best === undefined || branch.length < best.length ? branch : best), undefined);
  if (closest !== undefined) return closest.flatMap((inner) => flattenIssue(inner, path, raw));

  const alternatives = issue.errors.flatMap((branch) => branch.filter(isAboutWholeValue).flatMap(describeExpected));
  if (alternatives.length === 0) return [{ path, message: issue.message }];
  const value = valueAt(raw, path);
  const message = value.found ? `expected ${joinAlternatives([...new Set(alternatives)])}, got ${describeValue(value.value)}` : 'required';
  return [{ path, message }];
}

function describeExpected(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'invalid_type') return [typeName(issue.expected)];
  if (issue.code === 'invalid_value') return issue.values.map((value) => JSON.stringify(value));
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

/**
 * Source offset for a problem at `path`: the value's node, or the key when the value is a block
 * collection or empty (so the line shows the name); a missing node points at its closest existing parent.
 */
function offsetOf(doc: Document, path: readonly PropertyKey[], key: string | undefined): number {
  let node: unknown = doc.contents;
  let keyOffset: number | undefined;
  for (const segment of path) {
    const child = childOf(doc, node, segment);
    if (child === undefined) return keyOffset ?? startOf(node);
    node = child.value;
    keyOffset = startOf(child.key, -1);
    if (keyOffset < 0) keyOffset = undefined;
  }
  if (key !== undefined) {
    const pair = pairOf(doc, node, key);
    if (pair !== undefined) return startOf(pair.key);
  }
  const pointsAtValue = (isScalar(node) && node.value !== null) || isAlias(node) || ((isMap(node) || isSeq(node)) && node.flow === true);
  return pointsAtValue || keyOffset === undefined ? startOf(node, keyOffset ?? 0) : keyOffset;
}

function childOf(doc: Document, parent: unknown, segment: PropertyKey): { key: unknown; value: unknown } | undefined {
  const collection = isAlias(parent) ? parent.resolve(doc) : parent;
  if (isSeq(collection) && typeof segment === 'number') {
    return segment < collection.items.length ? { key: undefined, value: collection.items[segment] } : undefined;
  }
  const pair = pairOf(doc, collection, segment);
  return pair === undefined ? undefined : { key: pair.key, value: pair.value };
}

function pairOf(doc: Document, parent: unknown, segment: PropertyKey): Pair | undefined {
  const collection = isAlias(parent) ? parent.resolve(doc) : parent;
  if (!isMap(collection)) return undefined;
  // toJS turns every key into a string, so compare as strings (a YAML key `1` is the path segment "1").
  return collection.items.find((pair) => isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(segment));
}

function startOf(node: unknown, fallback = 0): number {
  if (isScalar(node) || isAlias(node) || isMap(node) || isSeq(node)) return node.range?.[0] ?? fallback;
  return fallback;
}
