import { pino, type Logger } from 'pino';
import { InvalidInputError } from '../shared/errors.js';

/**
 * The logger of a command a person reads (every command but `agent`, which logs JSON): silent, as the
 * command prints what matters in its own lines; `HOSTWRIGHT_LOG=<level>` asks for pino's JSON lines on stderr.
 */
export function cliLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env.HOSTWRIGHT_LOG;
  if (level === undefined || level === '') return pino({ level: 'silent' });
  if (!Object.hasOwn(pino.levels.values, level) && level !== 'silent') throw new InvalidInputError(`HOSTWRIGHT_LOG=${level}: expected one of ${[...Object.keys(pino.levels.values), 'silent'].join(', ')}`);
  return pino({ level }, pino.destination(2));
}
