import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestGuard } from '../../agent/fleet/request-guard.js';
import { Journal } from '../../agent/store/journal.js';
import { RequestRefusedError } from '../../shared/errors.js';
import { REQUEST_CLOCK_SKEW_MS, REQUEST_VALIDITY_MS, signRequest } from '../../shared/signed-request.js';
import { retryRequestSchema } from '../../shared/wire.js';
import { testSigner } from '../lib/signing.js';

// Signed retry, pull and exec requests are single-use across restarts: their nonces live in the journal while valid.
describe('signed requests\' nonces in the journal (real LevelDB)', () => {
  it('a request admitted before a restart is refused after it; expired nonces are deleted as new ones are kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-nonces-'));
    const coordinator = testSigner();
    const pinned = { kind: 'pinned', coordinatorKey: coordinator.publicKey } as const;
    const now = Date.now();
    const body = { correlationID: 'c', project: 'web' };
    const first = signRequest(body, 'h1', coordinator, now, '1'.repeat(32));
    try {
      let journal = await Journal.open(dir);
      assert.equal((await new RequestGuard('h1', pinned, () => journal.requestNonces()).admit(first, retryRequestSchema, 'retry request', now)).project, 'web');
      await journal.close();

      journal = await Journal.open(dir);
      const guard = new RequestGuard('h1', pinned, () => journal.requestNonces());
      await assert.rejects(guard.admit(first, retryRequestSchema, 'retry request', now + 1_000), (error: unknown) => error instanceof RequestRefusedError && /^replayed: nonce 1+ was used already$/.test(error.message));
      // Once the first has expired, admitting another deletes its nonce from the journal.
      const later = now + REQUEST_VALIDITY_MS + REQUEST_CLOCK_SKEW_MS + 1;
      await guard.admit(signRequest(body, 'h1', coordinator, later, '2'.repeat(32)), retryRequestSchema, 'retry request', later);
      assert.deepEqual([...(await journal.requestNonces()).remembered().keys()], ['2'.repeat(32)]);
      await journal.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
