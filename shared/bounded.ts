import { z } from 'zod';

// Schema pieces that refuse an oversized value before looking inside it (the limits are in limits.ts).

/** A string of at most `max` characters; a longer one is refused before any pattern runs over it. */
export function boundedString(max: number): z.ZodString {
  // `when`: only a string is measured. Zod runs a check after a failed type check on anything with
  // a `length`, and comparing a crafted `length` (an array of prototype-less objects) throws.
  return z.string().max(max, { error: (issue) => `at most ${max} characters, got ${lengthOf(issue.input)}`, abort: true, ...onlyWhen((value) => typeof value === 'string') });
}

/** A list of at most `max` elements; a longer one is refused before its elements are checked. */
export function boundedArray<T extends z.ZodType>(element: T, max: number): z.ZodArray<T> {
  return z.array(element).max(max, { error: (issue) => `at most ${max} elements, got ${lengthOf(issue.input)}`, abort: true, ...onlyWhen(Array.isArray) });
}

/** A mapping of at most `max` entries (`what` names them); a larger one is refused before its entries are checked. */
export function boundedRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V, max: number, what: string) {
  return z
    .unknown()
    .check((ctx) => {
      const entries = ctx.value !== null && typeof ctx.value === 'object' && !Array.isArray(ctx.value) ? Object.keys(ctx.value).length : 0;
      if (entries > max) ctx.issues.push({ code: 'too_big', origin: 'object', maximum: max, inclusive: true, input: ctx.value, message: `at most ${max} ${what}, got ${entries}`, continue: false });
    })
    .pipe(z.record(key, value));
}

function lengthOf(input: unknown): string {
  return typeof input === 'string' || Array.isArray(input) ? String(input.length) : 'more';
}

/** A check's `when` (zod 4 runs it before the check; its params type does not list it for length checks). */
function onlyWhen(test: (value: unknown) => boolean): object {
  return { when: (payload: { value: unknown }) => test(payload.value) };
}
