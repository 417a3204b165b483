import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createOperator, fromPublic, fromSeed } from '@nats-io/nkeys';
import { pack, unpack } from 'msgpackr';
import { SignatureError, type SignatureProblem } from '../../shared/errors.js';
import { openSignedDocument, signDocument, signingKeyOf, verifySignedDocument } from '../../shared/signed-document.js';
import { testSigner } from '../lib/signing.js';

function problemOf(run: () => unknown): SignatureProblem | 'none' {
  try {
    run();
    return 'none';
  } catch (error) {
    assert.ok(error instanceof SignatureError, `a SignatureError, not ${String(error)}`);
    return error.problem;
  }
}

describe('signed documents', () => {
  const coordinator = testSigner();
  const bytes = new TextEncoder().encode('the exact document bytes');

  it('verifies against the signer\'s public key and returns the exact bytes', () => {
    const value = signDocument(bytes, coordinator);
    assert.deepEqual(Uint8Array.from(verifySignedDocument(value, coordinator.publicKey)), bytes);
    assert.equal(openSignedDocument(value).signer, coordinator.publicKey);
    assert.equal(signingKeyOf(coordinator.seed).publicKey, coordinator.publicKey);
  });

  it('signs and verifies exactly as the nkeys package does (same key, same deterministic signature)', () => {
    for (let round = 0; round < 5; round += 1) {
      const pair = createOperator();
      const document = new TextEncoder().encode(`document ${round} `.repeat(round * 50 + 1));
      const ours = openSignedDocument(signDocument(document, signingKeyOf(pair.getSeed())));
      assert.equal(ours.signer, pair.getPublicKey());
      assert.equal(signingKeyOf(pair.getSeed()).publicKey, pair.getPublicKey());
      assert.deepEqual(Uint8Array.from(ours.signature), Uint8Array.from(fromSeed(pair.getSeed()).sign(document)), 'byte-identical to an nkeys signature');
      assert.equal(fromPublic(pair.getPublicKey()).verify(document, ours.signature), true);
      const theirs = pack({ document, signature: pair.sign(document), signer: pair.getPublicKey() });
      assert.deepEqual(Uint8Array.from(verifySignedDocument(theirs, pair.getPublicKey())), document);
    }
  });

  it('refuses unsigned values, another signer, and a signature that does not cover the bytes', () => {
    const value = signDocument(bytes, coordinator);
    const envelope = unpack(value) as Record<string, unknown>;
    assert.equal(problemOf(() => verifySignedDocument(bytes, coordinator.publicKey)), 'unsigned');
    assert.equal(problemOf(() => verifySignedDocument(pack({ document: bytes }), coordinator.publicKey)), 'unsigned');
    assert.equal(problemOf(() => verifySignedDocument(pack({ ...envelope, extra: 1 }), coordinator.publicKey)), 'unsigned');
    assert.equal(problemOf(() => verifySignedDocument(signDocument(bytes, testSigner()), coordinator.publicKey)), 'wrong-key');
    const stranger = unpack(signDocument(bytes, testSigner())) as Record<string, unknown>;
    assert.equal(problemOf(() => verifySignedDocument(pack({ ...stranger, signer: coordinator.publicKey }), coordinator.publicKey)), 'tampered');
    assert.equal(problemOf(() => verifySignedDocument(pack({ ...envelope, signer: 'not-a-key' }), 'not-a-key')), 'tampered');
  });

  it('keeps verifying right across more signers than it keeps parsed keys for', () => {
    const signers = Array.from({ length: 12 }, () => testSigner());
    for (let round = 0; round < 2; round += 1) {
      for (const [index, signer] of signers.entries()) {
        assert.deepEqual(Uint8Array.from(verifySignedDocument(signDocument(bytes, signer), signer.publicKey)), Uint8Array.from(bytes));
        // Another signer's signature under this (parsed and kept) key still fails.
        const other = unpack(signDocument(bytes, signers[(index + 1) % signers.length] ?? coordinator)) as Record<string, unknown>;
        assert.equal(problemOf(() => verifySignedDocument(pack({ ...other, signer: signer.publicKey }), signer.publicKey)), 'tampered');
      }
    }
  });

  it('property: changing any byte of the document or of the signature is detected', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (document, position, delta, inSignature) => {
        const value = signDocument(document, coordinator);
        assert.deepEqual(Uint8Array.from(verifySignedDocument(value, coordinator.publicKey)), Uint8Array.from(document));
        const envelope = unpack(value) as { document: Uint8Array; signature: Uint8Array; signer: string };
        const target = Uint8Array.from(inSignature ? envelope.signature : envelope.document);
        const at = position % target.length;
        target[at] = ((target[at] ?? 0) + delta) % 256;
        const changed = pack(inSignature ? { ...envelope, signature: target } : { ...envelope, document: target });
        assert.equal(problemOf(() => verifySignedDocument(changed, coordinator.publicKey)), 'tampered');
      }),
      { numRuns: 300 },
    );
  });
});
