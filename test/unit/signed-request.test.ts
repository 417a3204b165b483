import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RequestGuard } from '../../agent/fleet/request-guard.js';
import { encode } from '../../shared/codec.js';
import { RequestRefusedError } from '../../shared/errors.js';
import { REQUEST_CLOCK_SKEW_MS, REQUEST_VALIDITY_MS, sealRefusal, signRequest } from '../../shared/signed-request.js';
import { retryRequestSchema } from '../../shared/wire.js';
import { testSigner } from '../lib/signing.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const nonce = (n: number) => n.toString(16).padStart(32, '0');
const body = { correlationID: 'c-1', project: 'web' };

async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'admitted';
  } catch (error) {
    assert.ok(error instanceof RequestRefusedError, `a RequestRefusedError, not ${String(error)}`);
    return error.message;
  }
}

describe('signed retry and pull requests', () => {
  const coordinator = testSigner();
  const pinned = { kind: 'pinned', coordinatorKey: coordinator.publicKey } as const;

  it('a pinned agent admits a request signed for it once, within its validity, and refuses everything else', async () => {
    const guard = new RequestGuard('h1', pinned);
    const signed = signRequest(body, 'h1', coordinator, NOW, nonce(1));
    assert.equal((await guard.admit(signed, retryRequestSchema, 'retry request', NOW + 1_000)).project, 'web');
    assert.match(await refusal(() => guard.admit(signed, retryRequestSchema, 'retry request', NOW + 2_000)), /^replayed: nonce 0+1 was used already$/);
    assert.match(await refusal(() => guard.admit(encode(body), retryRequestSchema, 'retry request', NOW)), /^unsigned retry request: .*pass --signing-key/);
    assert.match(await refusal(() => guard.admit(signRequest(body, 'h1', testSigner(), NOW, nonce(2)), retryRequestSchema, 'retry request', NOW)), /^wrong-key retry request: /);
    assert.match(await refusal(() => guard.admit(signRequest(body, 'h2', coordinator, NOW, nonce(3)), retryRequestSchema, 'retry request', NOW)), /^the request is for host h2, not h1$/);
    assert.match(await refusal(() => guard.admit(signRequest(body, 'h1', coordinator, NOW - REQUEST_VALIDITY_MS - REQUEST_CLOCK_SKEW_MS - 1, nonce(4)), retryRequestSchema, 'retry request', NOW)), /^expired at /);
    assert.match(await refusal(() => guard.admit(signRequest(body, 'h1', coordinator, NOW + REQUEST_CLOCK_SKEW_MS + 1, nonce(5)), retryRequestSchema, 'retry request', NOW)), /longer than a request may be/);
    // An unsigned body that names a seal is still unsigned.
    assert.match(await refusal(() => guard.admit(encode({ ...body, seal: { hostId: 'h1', nonce: nonce(6), expiresAt: new Date(NOW + 1_000).toISOString() } }), retryRequestSchema, 'retry request', NOW)), /^unsigned /);
  });

  it('a nonce is forgotten only once no request carrying it can be valid', async () => {
    const guard = new RequestGuard('h1', pinned);
    const signed = signRequest(body, 'h1', coordinator, NOW, nonce(7));
    await guard.admit(signed, retryRequestSchema, 'retry request', NOW);
    // Right up to the end of its validity (and the clock skew allowed) it is a replay, after that it has expired: never admitted twice.
    for (const later of [NOW + REQUEST_VALIDITY_MS, NOW + REQUEST_VALIDITY_MS + REQUEST_CLOCK_SKEW_MS]) assert.match(await refusal(() => guard.admit(signed, retryRequestSchema, 'retry request', later)), /^replayed/);
    assert.match(await refusal(() => guard.admit(signed, retryRequestSchema, 'retry request', NOW + REQUEST_VALIDITY_MS + REQUEST_CLOCK_SKEW_MS + 1)), /^expired/);
  });

  it('with --allow-unsigned an unsigned request runs as before; a seal it carries is still checked', async () => {
    const guard = new RequestGuard('h1', { kind: 'unsigned-allowed' });
    assert.equal((await guard.admit(encode(body), retryRequestSchema, 'retry request', NOW)).project, 'web');
    const signed = signRequest(body, 'h1', testSigner(), NOW, nonce(8));
    assert.equal((await guard.admit(signed, retryRequestSchema, 'retry request', NOW)).project, 'web');
    assert.match(await refusal(() => guard.admit(signed, retryRequestSchema, 'retry request', NOW)), /^replayed/);
  });

  it('a guard over the nonces an earlier run kept refuses what that run admitted (a restarted agent is not replayed)', async () => {
    const kept = new Map<string, number>();
    const store = { remembered: () => kept, remember: async (nonceValue: string, until: number) => void kept.set(nonceValue, until) };
    const signed = signRequest(body, 'h1', coordinator, NOW, nonce(10));
    assert.equal((await new RequestGuard('h1', pinned, async () => store).admit(signed, retryRequestSchema, 'retry request', NOW)).project, 'web');
    assert.ok(kept.has(nonce(10)), 'remembered before the request runs');
    assert.match(await refusal(() => new RequestGuard('h1', pinned, async () => store).admit(signed, retryRequestSchema, 'retry request', NOW + 1_000)), /^replayed/);
  });

  it('sealRefusal: whatever the times, a request is admitted only within [expiry - validity - skew, expiry + skew] and only on its host', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10 * REQUEST_VALIDITY_MS, max: 10 * REQUEST_VALIDITY_MS }), fc.constantFrom('h1', 'h2'), (offset, hostId) => {
        const expiresAt = NOW + REQUEST_VALIDITY_MS;
        const now = NOW + offset;
        const admitted = sealRefusal({ hostId, nonce: nonce(9), expiresAt: new Date(expiresAt).toISOString() }, 'h1', now, () => false) === undefined;
        assert.equal(admitted, hostId === 'h1' && now <= expiresAt + REQUEST_CLOCK_SKEW_MS && expiresAt <= now + REQUEST_VALIDITY_MS + REQUEST_CLOCK_SKEW_MS);
      }),
    );
  });
});
