import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { z } from 'zod';
import { rolloutStateSchema } from '../../coordinator/rollout/rollout-state.js';
import { decode, encode } from '../../shared/codec.js';
import { SchemaError, SignatureError } from '../../shared/errors.js';
import { hostwrightEventSchema } from '../../shared/events.js';
import { hostDesiredSchema } from '../../shared/host-desired.js';
import { signDocument, verifySignedDocument } from '../../shared/signed-document.js';
import { hostRegistrationSchema, planReplySchema, planRequestSchema, statusReportSchema } from '../../shared/wire.js';
import { desired, service } from '../lib/builders.js';
import { testSigner } from '../lib/signing.js';
import { assertNoPollution, assertPlainTree, corruptedOf, extremeValue, fuzz, hostileValue, mutatedBytesOf } from '../lib/hostile-input.js';

const RUNS = Number(process.env.HOSTWRIGHT_FUZZ_RUNS ?? 10_000);
/** A decode that takes longer than this is a hang for the purpose of this test. */
const HANG_MS = 10_000;
const AT = '2026-01-01T00:00:00.000Z';

const document = desired('shop', { web: service({ replicas: 1, env: { MODE: 'web' }, ports: ['127.0.0.1:8080:80'] }), db: service() }, { correlationID: 'c-1' });

/** Every message a Hostwright process decodes from NATS, with a valid example of each. */
const DECODERS: readonly { readonly what: string; readonly schema: z.ZodType; readonly valid: unknown }[] = [
  { what: 'desired state (KV hw_desired)', schema: hostDesiredSchema, valid: document },
  { what: 'plan request (hw.rpc.<host>.plan)', schema: planRequestSchema, valid: { correlationID: 'c-1', candidate: document } },
  {
    what: 'plan reply',
    schema: planReplySchema,
    valid: {
      ok: true,
      hostId: 'h1',
      plan: {
        schema: 'hostwright.plan/v1',
        hostId: 'h1',
        observedAt: AT,
        observationFingerprint: 'f',
        projects: [{ project: 'shop', revision: 1, mode: 'converge' }],
        changes: true,
        diff: [{ kind: 'create', project: 'shop', service: 'web', instance: 0, name: 'shop-web-0', containerId: null, detail: 'missing' }],
        actions: [],
        blocked: [{ project: 'shop', gate: 'name-conflict', message: 'm' }],
        drift: [{ kind: 'missing', project: 'shop', service: 'web', instance: 0, action: 'repair', message: 'm' }],
      },
    },
  },
  { what: 'host registration (KV hw_hosts)', schema: hostRegistrationSchema, valid: { hostId: 'h1', labels: { role: 'web' }, agentVersion: '0.1.0', startedAt: AT, heartbeatAt: AT } },
  {
    what: 'status report (KV hw_status)',
    schema: statusReportSchema,
    valid: {
      hostId: 'h1',
      reportedAt: AT,
      agentVersion: '0.1.0',
      outboxDepth: 0,
      status: {
        hostId: 'h1',
        observedAt: AT,
        projects: [
          {
            project: 'shop',
            desiredRevision: 2,
            appliedRevision: 1,
            converged: false,
            pendingActions: 1,
            instances: [{ project: 'shop', service: 'web', instance: 0, name: 'shop-web-0', containerId: 'abc', state: 'running', health: 'healthy', specHash: 'h', drift: ['modified'] }],
            unowned: [{ project: 'shop', containerId: 'def', name: 'shop-web-9', reason: 'r' }],
            blocked: [],
            rejected: { revision: 2, reason: 'r' },
          },
        ],
      },
    },
  },
  { what: 'event (stream HW_EVENTS)', schema: hostwrightEventSchema, valid: { id: 'e-1', type: 'applied', severity: 'info', hostId: 'h1', project: 'shop', service: 'web', instance: 0, message: 'm', runtimeRef: 'abc', timestamp: AT, correlationID: 'c-1' } },
  {
    what: 'rollout state (KV hw_rollouts)',
    schema: rolloutStateSchema,
    valid: {
      schema: 'hostwright.rollout/v1',
      id: 'r-1',
      project: 'shop',
      correlationID: 'c-1',
      createdAt: AT,
      updatedAt: AT,
      options: { canary: 1, maxParallel: 2, minHealthyMs: 0, healthyDeadlineMs: 1000, maxFailures: 0, onFailure: 'pause', order: 'stop-first', skipOffline: false },
      waves: [['h1'], ['h2']],
      currentWave: 0,
      status: 'running',
      hosts: [{ hostId: 'h1', wave: 0, state: 'applying', previous: null, target: document, writtenRevision: 3, startedAt: AT }],
    },
  },
];

/** MessagePack headers that promise more than the buffer holds, or nest without end. */
const craftedBytes = fc.oneof(
  fc.constantFrom(
    Uint8Array.from([0xdf, 0xff, 0xff, 0xff, 0xff]), // map32 of 2^32-1 entries, no entries
    Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]), // array32 of 2^32-1 items
    Uint8Array.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), // str32 of 4 GiB
    Uint8Array.from([0xc6, 0x7f, 0xff, 0xff, 0xff]), // bin32 of 2 GiB
    Uint8Array.from([0xc9, 0x00, 0x00, 0x10, 0x00, 0x01]), // ext32 of an unknown type
    Uint8Array.from([0xd6, 0xff, 0x00, 0x00, 0x00, 0x00]), // timestamp ext
    Uint8Array.from([0xc1]), // never-used byte
    new Uint8Array(0),
  ),
  fc.integer({ min: 1_000, max: 200_000 }).map((depth) => Uint8Array.from([...new Uint8Array(depth).fill(0x91), 0xc0])), // [[[[nil]]]]
  fc.integer({ min: 1_000, max: 200_000 }).map((depth) => {
    const bytes = new Uint8Array(depth * 3 + 1).fill(0xc0);
    for (let i = 0; i < depth; i += 1) bytes.set([0x81, 0xa1, 0x61], i * 3); // {a: {a: ... nil}}
    return bytes;
  }),
);

function wireBytesFor(valid: unknown): fc.Arbitrary<Uint8Array> {
  const encoded = encode(valid);
  return fc.oneof(
    { weight: 100, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    { weight: 200, arbitrary: hostileValue.map(encode) },
    { weight: 300, arbitrary: corruptedOf(valid).map(encode) },
    { weight: 300, arbitrary: mutatedBytesOf(encoded) },
    { weight: 5, arbitrary: extremeValue.map(encode) },
    { weight: 5, arbitrary: craftedBytes },
  );
}

describe('wire decoders under hostile input', () => {
  for (const { what, schema, valid } of DECODERS) {
    it(`${what}: a valid value or a SchemaError for ${RUNS} generated inputs, without hanging or polluting prototypes`, () => {
      assert.deepEqual(decode(schema, encode(valid), what), schema.parse(valid), 'the valid example decodes');
      let accepted = 0;
      fuzz(
        wireBytesFor(valid),
        (bytes) => {
          const started = performance.now();
          try {
            const value: unknown = decode(schema, bytes, what);
            assert.equal(schema.safeParse(value).success, true, 'a decoded value passes its schema');
            assertPlainTree(value);
            accepted += 1;
          } catch (error) {
            if (!(error instanceof SchemaError)) throw error;
            assert.ok(error.message.startsWith(what), 'the error names the message');
          }
          assert.ok(performance.now() - started < HANG_MS, 'decoding finished');
          assertNoPollution();
        },
        RUNS,
      );
      // Some corrupted messages stay valid (a changed string); none would mean the generators miss the schema.
      assert.ok(accepted > 0 && accepted < RUNS, `accepted ${accepted} of ${RUNS}`);
    });
  }
});

describe('signed desired state under hostile input', () => {
  const coordinator = testSigner();
  const stranger = testSigner();
  const documentBytes = encode(document);
  const signed = signDocument(documentBytes, coordinator);
  const envelope = { document: documentBytes, signature: new Uint8Array(64), signer: coordinator.publicKey };
  const hostileSigned = fc.oneof(
    { weight: 100, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    { weight: 400, arbitrary: mutatedBytesOf(signed) },
    { weight: 200, arbitrary: corruptedOf(envelope).map(encode) },
    { weight: 100, arbitrary: wireBytesFor(document).map((bytes) => signDocument(bytes, stranger)) },
    { weight: 100, arbitrary: fc.uint8Array({ minLength: 64, maxLength: 64 }).map((signature) => encode({ document: documentBytes, signature, signer: coordinator.publicKey })) },
    { weight: 100, arbitrary: hostileValue.map(encode) },
  );

  it(`accepts only the coordinator's exact signed bytes among ${RUNS} generated values; everything else is a SignatureError or SchemaError`, () => {
    assert.deepEqual(decode(hostDesiredSchema, verifySignedDocument(signed, coordinator.publicKey), 'desired'), document);
    fuzz(
      hostileSigned,
      (bytes) => {
        const started = performance.now();
        try {
          const vouched = verifySignedDocument(bytes, coordinator.publicKey);
          // Unforgeable: whatever was mutated, a verified value carries exactly the signed bytes.
          assert.deepEqual(Buffer.from(vouched), Buffer.from(documentBytes));
          assert.deepEqual(decode(hostDesiredSchema, vouched, 'desired'), document);
        } catch (error) {
          if (!(error instanceof SignatureError) && !(error instanceof SchemaError)) throw error;
        }
        assert.ok(performance.now() - started < HANG_MS, 'verification finished');
        assertNoPollution();
      },
      RUNS,
    );
  });
});
