import { parseDurationMs } from '../../shared/duration.js';
import { InvalidInputError } from '../../shared/errors.js';

export function parseTimeout(text: string, flag: string): number {
  try {
    return parseDurationMs(text);
  } catch {
    throw new InvalidInputError(`${flag} ${text}: expected a duration such as 5s, 2m`);
  }
}

/** --image-grace as the agent takes it: absent keeps the default (1 h). */
export function imageGraceOf(options: { readonly imageGrace?: string }): { imageGraceMs?: number } {
  return options.imageGrace === undefined ? {} : { imageGraceMs: parseTimeout(options.imageGrace, '--image-grace') };
}
