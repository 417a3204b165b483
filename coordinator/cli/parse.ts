import { parseDurationMs } from '../../shared/duration.js';
import { InvalidInputError } from '../../shared/errors.js';

export function parseTimeout(text: string, flag: string): number {
  try {
    return parseDurationMs(text);
  } catch {
    throw new InvalidInputError(`${flag} ${text}: expected a duration such as 5s, 2m`);
  }
}
