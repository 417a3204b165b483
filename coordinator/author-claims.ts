import { fromSeed } from '@nats-io/nkeys';
import { authorName, natsUserOfCreds, type AuthorClaims } from '../shared/desired-author.js';
import { readCredentials } from '../shared/nats-connection.js';

/**
 * Who a writing command says it is: the NATS user of its credentials (a .creds JWT's name, else the
 * seed's public key) and the operator's name (--as, else $USER). Reads the credentials file.
 */
export async function authorClaimsOf(credsFile: string | undefined, as: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<AuthorClaims> {
  const name = authorName(as ?? env.USER ?? env.LOGNAME);
  let natsUser: string | undefined;
  if (credsFile !== undefined) {
    const { text, seed } = await readCredentials(credsFile);
    natsUser = natsUserOfCreds(text, fromSeed(new TextEncoder().encode(seed)).getPublicKey());
  }
  return { ...(natsUser === undefined ? {} : { natsUser }), ...(name === undefined ? {} : { name }) };
}
