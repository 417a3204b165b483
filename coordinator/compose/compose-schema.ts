import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { didYouMean } from '../../shared/did-you-mean.js';
import type { FormProblem } from '../service-forms.js';

// The Compose Specification's published JSON schema (draft-07, as the dclint package ships it),
// checked with ajv; each error becomes a problem at its path, for the reader's file:line messages.

export type ComposeSchemaCheck = (value: unknown) => FormProblem[];

/** Compiles the schema once; the check it returns may be used for any number of files. */
export function composeSchemaCheck(): ComposeSchemaCheck {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  // verbose: an error carries the schema it failed, whose properties an unknown key is compared with.
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, verbose: true });
  const validate: ValidateFunction = ajv.compile(schema);
  return (value) => {
    // ajv compares list items with fast-deep-equal, which calls an item's own `valueOf`: such a key is refused first.
    const shadowing = shadowingKeys(value);
    if (shadowing.length > 0) return shadowing;
    return validate(value) ? [] : problemsOf(validate.errors ?? []);
  };
}

const BUILT_IN_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Keys of mappings inside lists (at any depth) that are names of Object.prototype ("valueOf", "toString"): no compose key is one. */
function shadowingKeys(root: unknown): FormProblem[] {
  const problems: FormProblem[] = [];
  const seen = new Set<object>();
  const walk = (node: unknown, path: readonly PropertyKey[], inList: boolean): void => {
    if (node === null || typeof node !== 'object' || seen.has(node) || problems.length > 25) return;
    seen.add(node);
    if (Array.isArray(node)) {
      for (const [index, item] of node.entries()) walk(item, [...path, index], true);
      return;
    }
    for (const [key, item] of Object.entries(node)) {
      if (inList && BUILT_IN_NAMES.has(key)) problems.push({ path, key, message: `unknown key ${JSON.stringify(key)} (not in the Compose Specification)` });
      walk(item, [...path, key], inList);
    }
  };
  walk(root, [], false);
  return problems;
}

/** One problem per place, the most specific first: a oneOf's summary only when nothing more precise was said. */
function problemsOf(errors: readonly ErrorObject[]): FormProblem[] {
  const byPath = new Map<string, FormProblem>();
  const specific = errors.filter((error) => error.keyword !== 'oneOf' && error.keyword !== 'anyOf' && error.keyword !== 'if');
  for (const error of specific.length > 0 ? specific : errors) {
    const path = pointerPath(error.instancePath);
    const problem = describe(error, path);
    const place = `${path.join('\u0000')}\u0000${problem.key ?? ''}`;
    // Alternatives of a oneOf say "must be string", "must be object" … at one place: keep them together.
    const known = byPath.get(place);
    if (known === undefined) byPath.set(place, problem);
    else if (error.keyword === 'type' && known.message.startsWith('must be ') && !known.message.includes(problem.message.slice('must be '.length))) {
      byPath.set(place, { ...known, message: `${known.message} or ${problem.message.slice('must be '.length)}` });
    }
  }
  return [...byPath.values()];
}

function describe(error: ErrorObject, path: readonly PropertyKey[]): FormProblem {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      return { path, key, message: `unknown key ${JSON.stringify(key)} (not in the Compose Specification${didYouMean(key, schemaProperties(error.parentSchema))})` };
    }
    case 'required':
      return { path, message: `${String(params.missingProperty)}: required` };
    case 'type':
      return { path, message: `must be ${Array.isArray(params.type) ? params.type.join(' or ') : String(params.type)}` };
    case 'enum':
      return { path, message: `expected one of ${(Array.isArray(params.allowedValues) ? params.allowedValues : []).map((value) => JSON.stringify(value)).join(', ')}` };
    default:
      return { path, message: error.message ?? error.keyword };
  }
}

/** The keys a failed JSON schema names in its properties. */
function schemaProperties(schema: unknown): string[] {
  if (schema === null || typeof schema !== 'object' || !('properties' in schema)) return [];
  const properties = schema.properties;
  return properties !== null && typeof properties === 'object' ? Object.keys(properties) : [];
}

/** "/services/web/ports/0" as a path; list indexes as numbers. */
function pointerPath(pointer: string): PropertyKey[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}
