import { z } from 'zod';
import { MAX_DURATION_LENGTH, MAX_DURATION_MS } from './limits.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** A compose-style duration string ("500ms", "2s", "1m", "1h") of at most a day. */
export const durationSchema = z
  .string()
  .max(MAX_DURATION_LENGTH, { error: 'expected a duration such as "500ms", "2s", "1m"', abort: true })
  .regex(DURATION_PATTERN, { error: 'expected a duration such as "500ms", "2s", "1m"', abort: true })
  .refine((text) => parseDurationMs(text) <= MAX_DURATION_MS, `at most ${MAX_DURATION_MS / 3_600_000}h`);

export function parseDurationMs(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) throw new RangeError(`not a duration: ${JSON.stringify(text)} (expected e.g. "2s", "10m")`);
  const [, amount, unit] = match;
  return Math.round(Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]);
}
