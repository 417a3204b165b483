import { CST, Composer, Lexer, Parser, YAMLParseError, isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Alias, Document, LineCounter, Node as YamlNode, Pair } from 'yaml';
import { MAX_YAML_NESTING, MAX_YAML_NODES } from '../shared/limits.js';

/**
 * The YAML half of reading a fleet file, with its cost bounded by the text's size: nesting and
 * the number of values are checked while parsing (a hostile input stops early, before the
 * recursive composer runs), duplicate keys are found with one set per mapping, and aliases are
 * resolved once each, never by searching the document.
 */

export type ComposedYaml =
  | { readonly kind: 'document'; readonly doc: Document.Parsed }
  /** Nested more than MAX_YAML_NESTING collections deep at `offset`. */
  | { readonly kind: 'too-deep'; readonly offset: number }
  /** The value at `offset` is one more than MAX_YAML_NODES. */
  | { readonly kind: 'too-many-values'; readonly offset: number };

/** One YAML document composed from `text`, unless it nests too deep or holds too many values. */
export function composeYaml(text: string, lineCounter: LineCounter): ComposedYaml {
  const parser = new Parser(lineCounter.addNewLine);
  let stopped: Exclude<ComposedYaml, { kind: 'document' }> | undefined;
  let values = 0;
  function* tokens(): Generator<CST.Token> {
    // What Parser.parse does, with the limits checked after every lexeme.
    lineCounter.addNewLine(0);
    for (const lexeme of new Lexer().lex(text)) {
      const offset = parser.offset;
      yield* parser.next(lexeme);
      if (startsValue(lexeme) && ++values > MAX_YAML_NODES) {
        stopped = { kind: 'too-many-values', offset };
        return;
      }
      if (parser.stack.length > MAX_YAML_NESTING && collectionDepth(parser.stack) > MAX_YAML_NESTING) {
        stopped = { kind: 'too-deep', offset };
        return;
      }
    }
    yield* parser.end();
  }
  // uniqueKeys is checked in toPlainValue: the composer's own check compares each key with every earlier one.
  const composer = new Composer({ uniqueKeys: false, logLevel: 'error' });
  let doc: Document.Parsed | undefined;
  // yaml makes an Error per problem, and a broken file can have a million: no stack trace for them.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const next of composer.compose(tokens(), true, text.length)) {
      if (doc === undefined) {
        doc = next;
      } else {
        doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
        break;
      }
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (stopped !== undefined) return stopped;
  // compose(…, forceDoc: true) always yields a document, even for empty text.
  return { kind: 'document', doc: doc as Document.Parsed };
}

/** Lexemes that begin a scalar, an alias, a collection, a list item or a mapping entry. */
function startsValue(lexeme: string): boolean {
  switch (lexeme) {
    case CST.SCALAR:
    case '-':
    case '?':
    case ':':
    case '{':
    case '[':
      return true;
    default:
      return lexeme[0] === '*';
  }
}

function collectionDepth(stack: readonly CST.Token[]): number {
  let depth = 0;
  for (const token of stack) if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') depth += 1;
  return depth;
}

/** The source line at `start` with a caret under it, as yaml's prettyErrors prints it; '' for a blank line. */
export function yamlExcerpt(text: string, lineCounter: LineCounter, start: number, end?: number): string {
  const { line, col } = lineCounter.linePos(start);
  const lineStart = (n: number): number => lineCounter.lineStarts[n - 1] ?? text.length;
  let column = col - 1;
  let shown = text.substring(lineStart(line), lineStart(line + 1)).replace(/[\n\r]+$/, '');
  // At most 80 characters, keeping the column near the middle.
  if (column >= 60 && shown.length > 80) {
    const trimStart = Math.min(column - 39, shown.length - 79);
    shown = `…${shown.substring(trimStart)}`;
    column -= trimStart - 1;
  }
  if (shown.length > 80) shown = `${shown.substring(0, 79)}…`;
  // Pointing at the start of a line: the previous line gives the context.
  if (line > 1 && /^ *$/.test(shown.substring(0, column))) {
    let previous = text.substring(lineStart(line - 1), lineStart(line));
    if (previous.length > 80) previous = `${previous.substring(0, 79)}…\n`;
    shown = previous + shown;
  }
  if (!/[^ ]/.test(shown)) return '';
  const endPos = end === undefined ? undefined : lineCounter.linePos(end);
  const carets = endPos !== undefined && endPos.line === line && endPos.col > col ? Math.max(1, Math.min(endPos.col - col, 80 - column)) : 1;
  return `${shown}\n${' '.repeat(column)}${'^'.repeat(carets)}`;
}

export interface YamlProblem {
  readonly offset: number;
  readonly message: string;
  /** Show the source line (duplicate keys: the line says which mapping). */
  readonly excerpt?: boolean;
}

export interface PlainValue {
  /** What yaml's doc.toJS() gives: plain objects (every key an own property), arrays, scalars; aliases shared. */
  readonly value: unknown;
  /** Constructs that parse but cannot become a plain object: when not empty, `value` is not usable. */
  readonly problems: readonly YamlProblem[];
  /** About the size of the value with every alias written out in full, in characters. */
  readonly expandedSize: number;
  /** The anchored node each alias stands for. */
  readonly aliasTargets: ReadonlyMap<Alias, YamlNode>;
}

/**
 * Converts a composed document in one pass over its nodes. An alias is the very value of its
 * anchor (as with toJS), so its cost is counted in expandedSize rather than paid again here.
 */
export function toPlainValue(doc: Document.Parsed): PlainValue {
  const problems: YamlProblem[] = [];
  const anchors = new Map<string, YamlNode>();
  const aliasTargets = new Map<Alias, YamlNode>();
  const done = new Map<YamlNode, Converted>();
  const inProgress = new Set<YamlNode>();

  const convert = (node: unknown): Converted => {
    if (node === null || node === undefined) return { value: null, size: 1 };
    if (isAlias(node)) return convertAlias(node);
    if (!isScalar(node) && !isMap(node) && !isSeq(node)) return { value: null, size: 1 };
    if (node.anchor) anchors.set(node.anchor, node);
    inProgress.add(node);
    const converted = isScalar(node) ? convertScalar(node.value) : isMap(node) ? convertPairs(node.items) : convertItems(node.items);
    inProgress.delete(node);
    if (node.anchor) done.set(node, converted);
    return converted;
  };

  const convertAlias = (alias: Alias): Converted => {
    const target = anchors.get(alias.source);
    const offset = alias.range?.[0] ?? 0;
    if (target === undefined) {
      problems.push({ offset, message: `unknown anchor "*${alias.source}" (define "&${alias.source}" before using it)` });
      return { value: null, size: 1 };
    }
    aliasTargets.set(alias, target);
    const converted = done.get(target);
    if (converted === undefined || inProgress.has(target)) {
      problems.push({ offset, message: `the alias "*${alias.source}" is inside what "&${alias.source}" marks (a value cannot contain itself)` });
      return { value: null, size: 1 };
    }
    return converted;
  };

  const convertItems = (items: readonly unknown[]): Converted => {
    const list: unknown[] = [];
    let size = 1;
    for (const item of items) {
      // A single-pair flow mapping inside a list ("[a: b]") is a one-key mapping, as with toJS.
      const converted = isPair(item) ? convertPairs([item]) : convert(item);
      list.push(converted.value);
      size += converted.size;
    }
    return { value: list, size };
  };

  const convertPairs = (pairs: readonly unknown[]): Converted => {
    const mapping: Record<string, unknown> = {};
    let size = 1;
    for (const pair of pairs) {
      if (!isPair(pair)) continue;
      const key = keyOf(pair);
      const value = convert(pair.value);
      size += value.size;
      if (key === undefined) continue;
      size += key.length + 1;
      if (Object.hasOwn(mapping, key)) {
        problems.push({ offset: startOf(pair.key), message: `duplicate key ${JSON.stringify(shorten(key))}`, excerpt: true });
        continue;
      }
      // As toJS does: an inherited name ("constructor", "toString") becomes an own property too.
      if (key in mapping) Object.defineProperty(mapping, key, { value: value.value, writable: true, enumerable: true, configurable: true });
      else mapping[key] = value.value;
    }
    return { value: mapping, size };
  };

  /** The string a key becomes in a JavaScript object (toJS's rule), or undefined when it cannot be one. */
  const keyOf = (pair: Pair): string | undefined => {
    const key: unknown = pair.key;
    if (isMap(key) || isSeq(key)) {
      problems.push({ offset: startOf(key), message: 'a mapping key must be a plain value, not a list or mapping' });
      return undefined;
    }
    const converted = convert(key).value;
    if (converted !== null && typeof converted === 'object') {
      problems.push({ offset: startOf(key), message: 'a mapping key must be a plain value, not a list or mapping' });
      return undefined;
    }
    const text = converted === null ? '' : String(converted);
    // A JavaScript object cannot hold this key (it would be dropped without a word): say so.
    if (text === '__proto__') {
      problems.push({ offset: startOf(key), message: 'the key "__proto__" is not allowed' });
      return undefined;
    }
    return text;
  };

  const root = convert(doc.contents);
  return { value: root.value, problems, expandedSize: root.size, aliasTargets };
}

interface Converted {
  readonly value: unknown;
  readonly size: number;
}

function convertScalar(value: unknown): Converted {
  // toJS turns a bigint into a number unless asked to keep it.
  const plain = typeof value === 'bigint' ? Number(value) : value;
  return { value: plain, size: typeof plain === 'string' ? Math.max(1, plain.length) : 1 };
}

function startOf(node: unknown): number {
  if (isScalar(node) || isAlias(node) || isMap(node) || isSeq(node)) return node.range?.[0] ?? 0;
  return 0;
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
