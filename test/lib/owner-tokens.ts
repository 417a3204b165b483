import { issueOwnerToken, ownerTokenVerifier } from '../../agent/core/owner-token.js';
import type { LabelledIdentity } from '../../agent/core/snapshot.js';

/** A fixed owner secret for pure tests: the tokens they issue are real HMAC tokens. */
export const TEST_OWNER_SECRET = new Uint8Array(32).fill(7);

export const verifyTestToken = ownerTokenVerifier(TEST_OWNER_SECRET);

/** A token the test secret vouches for; the nonce is any base64url text (a fixture id does). */
export function testToken(identity: Omit<LabelledIdentity, 'ownerToken'>, nonce: string): string {
  return issueOwnerToken(TEST_OWNER_SECRET, identity, nonce.replace(/[^A-Za-z0-9_-]/g, '_'));
}
