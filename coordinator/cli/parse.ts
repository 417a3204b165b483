import { parseDurationMs } from '../../shared/duration.js';
import { InvalidInputError } from '../../shared/errors.js';
import { MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS } from '../../shared/limits.js';

export function parseTimeout(text: string, flag: string): number {
  try {
    return parseDurationMs(text);
  } catch {
    throw new InvalidInputError(`${flag} ${text}: expected a duration such as 5s, 2m`);
  }
}

/** --heartbeat: from 1 s to 5 min, what a registration may announce (shared/wire.ts heartbeatMs). */
export function parseHeartbeat(text: string): number {
  const ms = parseTimeout(text, '--heartbeat');
  if (ms < MIN_HEARTBEAT_MS || ms > MAX_HEARTBEAT_MS) throw new InvalidInputError(`--heartbeat ${text}: expected from 1s to 5m`);
  return ms;
}

/** --image-grace as the agent takes it: absent keeps the default (1 h). */
export function imageGraceOf(options: { readonly imageGrace?: string }): { imageGraceMs?: number } {
  return options.imageGrace === undefined ? {} : { imageGraceMs: parseTimeout(options.imageGrace, '--image-grace') };
}
