import type { FormProblem, Path } from '../service-forms.js';
import { rebuildTree } from './rebuild-tree.js';

// Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty),
// `${VAR-default}` (unset), `${VAR:?error}`, `${VAR?error}`, `${VAR:+other}`, `${VAR+other}`, and
// `$$` for a literal "$"; a "$" that starts no variable is kept. A default may itself hold variables. An unset variable without a default
// is the empty string, with a warning, as compose does.

/** A variable's value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

export interface InterpolationResult {
  readonly value: unknown;
  readonly problems: readonly FormProblem[];
  /** Variables used without a value or a default (each once). */
  readonly unset: readonly string[];
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
/** Nested `${…}` deeper than this is refused: no real file needs it, and the parser recurses. */
const MAX_NESTING = 16;

class InterpolationError extends Error {
  override name = 'InterpolationError';
}

/** Interpolates every string value of `value` (keys are left as written, as compose leaves them). */
export function interpolateTree(value: unknown, lookup: Lookup, at: Path = []): InterpolationResult {
  const problems: FormProblem[] = [];
  const unset = new Set<string>();
  const result = rebuildTree(value, at, {
    scalar: (node, path) => {
      if (typeof node !== 'string') return node;
      try {
        return interpolateString(node, lookup, unset);
      } catch (error) {
        if (!(error instanceof InterpolationError)) throw error;
        problems.push({ path, message: error.message });
        return node;
      }
    },
  });
  return { value: result, problems, unset: [...unset].sort() };
}

/** One string interpolated; throws InterpolationError for a malformed template or a `:?`/`?` that fires. */
export function interpolateString(text: string, lookup: Lookup, unset: Set<string> = new Set()): string {
  if (!text.includes('$')) return text;
  const { value, end } = parseTemplate(text, 0, lookup, unset, 0, false);
  if (end !== text.length) throw new InterpolationError(`unexpected "}" in ${quoted(text)}`);
  return value;
}

/** Reads text from `start` up to the end (or, inside `${…}`, up to its closing brace). */
function parseTemplate(text: string, start: number, lookup: Lookup, unset: Set<string>, depth: number, inBraces: boolean): { value: string; end: number } {
  let out = '';
  let i = start;
  while (i < text.length) {
    const char = text[i];
    if (inBraces && char === '}') return { value: out, end: i };
    if (char !== '$') {
      out += char;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const braced = parseBraced(text, i + 2, lookup, unset, depth + 1);
      out += braced.value;
      i = braced.end + 1;
      continue;
    }
    NAME.lastIndex = i + 1;
    const name = NAME.exec(text)?.[0];
    if (name === undefined) {
      // A "$" that starts no variable ("$ ", "$1", a trailing "$") stays as written, as compose keeps it.
      out += '$';
      i += 1;
      continue;
    }
    out += valueOf(name, lookup, unset);
    i += 1 + name.length;
  }
  if (inBraces) throw new InterpolationError(`missing "}" in ${quoted(text)}`);
  return { value: out, end: i };
}

function parseBraced(text: string, start: number, lookup: Lookup, unset: Set<string>, depth: number): { value: string; end: number } {
  if (depth > MAX_NESTING) throw new InterpolationError(`variables nested more than ${MAX_NESTING} deep in ${quoted(text)}`);
  NAME.lastIndex = start;
  const name = NAME.exec(text)?.[0];
  if (name === undefined) throw new InterpolationError(`expected a variable name after "\${" in ${quoted(text)}`);
  let i = start + name.length;
  if (i >= text.length) throw new InterpolationError(`missing "}" in ${quoted(text)}`);
  if (text[i] === '}') return { value: valueOf(name, lookup, unset), end: i };
  const operator = text.startsWith(':-', i) || text.startsWith(':?', i) || text.startsWith(':+', i) ? text.slice(i, i + 2) : ['-', '?', '+'].includes(text[i] ?? '') ? (text[i] as string) : undefined;
  if (operator === undefined) throw new InterpolationError(`unexpected ${JSON.stringify(text[i] ?? 'end')} after \${${name} in ${quoted(text)} (expected "}", ":-", "-", ":?", "?", ":+" or "+")`);
  i += operator.length;
  // The alternative is read (and its variables checked) whether or not it is used, as compose does.
  const rest = parseTemplate(text, i, lookup, new Set(), depth, true);
  const current = lookup(name);
  const isSet = current !== undefined;
  const isSetNonEmpty = isSet && current !== '';
  switch (operator) {
    case ':-':
      return { value: isSetNonEmpty ? current : rest.value, end: rest.end };
    case '-':
      return { value: isSet ? current : rest.value, end: rest.end };
    case ':+':
      return { value: isSetNonEmpty ? rest.value : '', end: rest.end };
    case '+':
      return { value: isSet ? rest.value : '', end: rest.end };
    default: {
      const required = operator === ':?' ? isSetNonEmpty : isSet;
      if (!required) throw new InterpolationError(`required variable ${name} is ${isSet ? 'empty' : 'not set'}${rest.value === '' ? '' : `: ${rest.value}`}`);
      return { value: current as string, end: rest.end };
    }
  }
}

function valueOf(name: string, lookup: Lookup, unset: Set<string>): string {
  const value = lookup(name);
  if (value === undefined) {
    unset.add(name);
    return '';
  }
  return value;
}

function quoted(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
