import { Packr, unpack } from 'msgpackr';
import type { z } from 'zod';
import { SchemaError } from './errors.js';

/**
 * Plain MessagePack (no records extension) so any decoder can read the bytes. msgpackr would
 * write `undefined` as an extension other decoders do not know: an undefined property is left
 * out (an absent key says the same) and an undefined array item is written as nil.
 */
// skipValues is an option of msgpackr's Packr (1.10+) that its type declarations do not list.
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, skipValues: [undefined] } as ConstructorParameters<typeof Packr>[0]);

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes and validates; bad bytes or a wrong shape become a SchemaError, never a crash. */
export function decode<T extends z.ZodType>(schema: T, bytes: Uint8Array, what: string): z.infer<T> {
  let raw: unknown;
  try {
    raw = unpack(bytes);
  } catch (cause) {
    throw new SchemaError(`${what}: not valid MessagePack`, [], { cause });
  }
  return validate(schema, raw, what);
}

export function validate<T extends z.ZodType>(schema: T, raw: unknown, what: string): z.infer<T> {
  let result;
  try {
    result = schema.safeParse(raw);
  } catch (cause) {
    // A value crafted to throw inside validation (a getter, a `length` that cannot be compared) is
    // as invalid as any other: the caller gets the SchemaError it handles, never a stray TypeError.
    throw new SchemaError(`${what} is invalid: it could not be validated (${cause instanceof Error ? cause.message : String(cause)})`, [], { cause });
  }
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    // A document with thousands of bad values still gets a message a person (and a log line) can take.
    const shown = issues.slice(0, MAX_ISSUES_SHOWN).map((issue) => (issue.length > MAX_ISSUE_LENGTH ? `${issue.slice(0, MAX_ISSUE_LENGTH)}…` : issue));
    if (issues.length > MAX_ISSUES_SHOWN) shown.push(`and ${issues.length - MAX_ISSUES_SHOWN} more`);
    throw new SchemaError(`${what} is invalid: ${shown.join('; ')}`, issues);
  }
  return result.data;
}

const MAX_ISSUES_SHOWN = 10;
const MAX_ISSUE_LENGTH = 300;

/** `services.web.ports[0]` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(root)' : text;
}
