import { z } from 'zod';

const UNIT_BYTES = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 } as const;
const BYTE_SIZE_PATTERN = /^(\d+(?:\.\d+)?)(b|k|kb|m|mb|g|gb)$/i;
/** More than any host has: a size above it is a typo (a unit too many). */
const MAX_BYTES = 2 ** 50;

/**
 * A byte size as compose writes one: a whole number of bytes, or an amount with a unit of b, k,
 * m, g (kb, mb, gb alike, powers of 1024, any case): "512m", "1gb", 268435456.
 */
export const byteSizeSchema = z.union([z.number().int().min(0), z.string()]).superRefine((value, ctx) => {
  if (typeof value === 'string' && !BYTE_SIZE_PATTERN.test(value.trim())) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as "512m", "1g" or a number of bytes (units b, k, m, g, kb, mb, gb), got ${JSON.stringify(value)}` });
    return;
  }
  if (parseByteSize(value) > MAX_BYTES) ctx.addIssue({ code: 'custom', message: `at most ${MAX_BYTES} bytes (1 PiB)` });
});
export type ByteSize = z.infer<typeof byteSizeSchema>;

/** The number of bytes; throws RangeError on a text the schema refuses. */
export function parseByteSize(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = BYTE_SIZE_PATTERN.exec(value.trim());
  if (!match) throw new RangeError(`not a byte size: ${JSON.stringify(value)}`);
  const [, amount, unit] = match;
  return Math.round(Number(amount) * UNIT_BYTES[(unit as string).toLowerCase() as keyof typeof UNIT_BYTES]);
}

/** Bytes for people: "812 B", "4.2 MiB", "1.3 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
