import { parseDurationMs } from '../../shared/duration.js';
import { InvalidInputError } from '../../shared/errors.js';

export function parseTimeout(text: string, flag: string): number {
  try {
    return parseDurationMs(text);
  } catch {
    throw new InvalidInputError(`${flag} ${text}: expected a duration such as 5s, 2m`);
  }
}

/** --heartbeat: from 1 s to 24 h, what a registration may announce (shared/wire.ts heartbeatMs). */
export function parseHeartbeat(text: string): number {
  const ms = parseTimeout(text, '--heartbeat');
  if (ms < 1_000 || ms > 86_400_000) throw new InvalidInputError(`--heartbeat ${text}: expected from 1s to 24h`);
  return ms;
}

/** --image-grace as the agent takes it: absent keeps the default (1 h). */
export function imageGraceOf(options: { readonly imageGrace?: string }): { imageGraceMs?: number } {
  return options.imageGrace === undefined ? {} : { imageGraceMs: parseTimeout(options.imageGrace, '--image-grace') };
}
