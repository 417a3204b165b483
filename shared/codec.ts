import { pack, unpack } from 'msgpackr';
import type { z } from 'zod';
import { SchemaError } from './errors.js';

/** Plain MessagePack (no records extension) so any decoder can read the bytes. */
export function encode(value: unknown): Uint8Array {
  return pack(withoutUndefined(value));
}

/** msgpackr writes `undefined` as an extension other decoders do not know; absent keys say the same. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : withoutUndefined(item)));
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    const copy: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      // defineProperty: a plain assignment to "__proto__" would replace the copy's prototype.
      if (entry !== undefined) Object.defineProperty(copy, key, { value: withoutUndefined(entry), enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  return value;
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
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw new SchemaError(`${what} is invalid: ${issues.join('; ')}`, issues);
  }
  return result.data;
}

/** `services.web.ports[0]` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(root)' : text;
}
