import { resolve } from 'node:path';
import type { CliContext } from '../../../../shared/cli-config.js';
import { InvalidInputError } from '../../../../shared/errors.js';
import type { ContextSetOptions } from './options.js';

/** What --unset takes: the flag names of `context set`. */
export const UNSETTABLE = ['nats', 'creds', 'tls-ca', 'tls-cert', 'tls-key', 'signing-key', 'fleet-auth', 'as'] as const;

/** A path as the file keeps it: `~/…` as given (it follows the home directory), anything else absolute. */
export function storedPath(path: string, cwd: string): string {
  return path.startsWith('~/') ? path : resolve(cwd, path);
}

/**
 * The context after `context set`: given values replace the old, --unset removes, the rest stays.
 * Returns the raw shape, to be validated by the schema before anything is written. Pure.
 */
export function editedContext(existing: CliContext | undefined, options: ContextSetOptions, cwd: string): Record<string, unknown> {
  for (const key of options.unset ?? []) {
    if (!(UNSETTABLE as readonly string[]).includes(key)) throw new InvalidInputError(`context set --unset ${key}: expected one of ${UNSETTABLE.join(', ')}`);
  }
  const unset = new Set(options.unset ?? []);
  const path = (given: string | undefined, old: string | undefined, key: string) => (unset.has(key) ? undefined : given === undefined ? old : storedPath(given, cwd));
  const nats = options.nats ?? [];
  const servers = unset.has('nats') ? undefined : nats.length === 0 ? existing?.nats?.servers : nats.length === 1 ? nats[0] : [...nats];
  const tls = compact({ ca: path(options.tlsCa, existing?.nats?.tls?.ca, 'tls-ca'), cert: path(options.tlsCert, existing?.nats?.tls?.cert, 'tls-cert'), key: path(options.tlsKey, existing?.nats?.tls?.key, 'tls-key') });
  const creds = path(options.creds, existing?.nats?.creds, 'creds');
  if (servers === undefined && (creds !== undefined || tls !== undefined)) throw new InvalidInputError('context set: credentials and TLS belong to a NATS URL: give --nats URL too');
  return compact({
    nats: servers === undefined ? undefined : compact({ servers, creds, tls }),
    signing_key: path(options.signingKey, existing?.signing_key, 'signing-key'),
    fleet_auth: path(options.fleetAuth, existing?.fleet_auth, 'fleet-auth'),
    as: unset.has('as') ? undefined : (options.as ?? existing?.as),
  }) ?? {};
}

/** The object without its undefined entries; undefined when none is left. */
function compact(entries: Record<string, unknown>): Record<string, unknown> | undefined {
  const kept = Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
  return Object.keys(kept).length === 0 ? undefined : kept;
}
