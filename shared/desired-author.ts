import { z } from 'zod';
import { boundedString } from './bounded.js';

/**
 * Who wrote a desired document (schema 5): the key that signed it, the NATS user the write came
 * through, and the name the operator gave (`--as`, else $USER). The key is proved by the
 * signature; the user and the name are what that coordinator said, signed with it.
 */
export const desiredAuthorSchema = z.strictObject({
  /** The signing key's public key (an nkeys operator key, O…). */
  key: boundedString(64),
  /** The NATS user: a .creds JWT's name, else the user's public nkey (U…); absent without credentials. */
  natsUser: boundedString(128).optional(),
  /** The name given with --as, or $USER. */
  name: boundedString(64).optional(),
});
export type DesiredAuthor = z.infer<typeof desiredAuthorSchema>;

/** What a coordinator says about itself besides its key: the NATS user and the name. */
export type AuthorClaims = Omit<DesiredAuthor, 'key'>;

/** The desired-state schema that added `author` (shared/desired-schema.ts). */
export const AUTHOR_SCHEMA = 5;

/** An operator's name as it may be recorded: printable, at most 64 characters. Pure. */
export function authorName(given: string | undefined): string | undefined {
  const name = given?.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 64);
  return name === undefined || name === '' ? undefined : name;
}

/**
 * The NATS user of a credentials file's text: the `name` of a .creds file's user JWT, else the
 * public key of its user seed (derived by the caller, which holds the nkeys library). Pure.
 */
export function natsUserOfCreds(text: string, seedPublicKey: string): string {
  const jwt = /-----BEGIN NATS USER JWT-----\s*([A-Za-z0-9_.-]+)\s*------END NATS USER JWT------/.exec(text)?.[1];
  const payload = jwt?.split('.')[1];
  if (payload !== undefined) {
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { name?: unknown };
      if (typeof claims.name === 'string' && claims.name !== '') return claims.name.slice(0, 128);
    } catch {
      // Not a JWT we can read: the seed's public key names the user just as well.
    }
  }
  return seedPublicKey;
}

/** One line: "alice (nats coordinator, key OABC…WXYZ)", or "-" for a document written before authors. Pure. */
export function describeAuthor(author: DesiredAuthor | undefined): string {
  if (author === undefined) return '-';
  const key = `key ${shortKey(author.key)}`;
  const user = author.natsUser === undefined ? undefined : `nats ${author.natsUser.length > 20 ? shortKey(author.natsUser) : author.natsUser}`;
  return `${author.name ?? '?'} (${[user, key].filter((part) => part !== undefined).join(', ')})`;
}

function shortKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 6)}…${key.slice(-4)}` : key;
}
