import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson } from '../../shared/canonical.js';
import { runtimeConfigSchema, type ServiceSpec } from '../../shared/fleet-spec.js';
import { describeFieldChange, diffDesired, diffService, flattenService, summarizeDiff, type FieldChange } from '../../shared/spec-diff.js';
import { desired, service } from '../lib/builders.js';

const SECRET_TEXT = ['s3cr3t-one', 's3cr3t-two'] as const;
const digestOf = (seed: number) => seed.toString(16).padStart(64, '0');

/** A service drawn from a few values per field: images, env (an inline secret among them), ports, labels, health, replicas, placement, secret files. */
const serviceArb: fc.Arbitrary<ServiceSpec> = fc
  .record({
    image: fc.constantFrom('hw/busybox:test', 'nginx:1.27', 'redis:7'),
    env: fc.dictionary(fc.constantFrom('MODE', 'DEBUG', 'DB_PASSWORD'), fc.oneof(fc.constantFrom('a', 'b', '1'), fc.constantFrom(...SECRET_TEXT).map((secret) => ({ secret }))), { maxKeys: 3 }),
    ports: fc.subarray(['80', '9000/udp', '9000']),
    labels: fc.dictionary(fc.constantFrom('tier', 'team'), fc.constantFrom('web', 'db'), { maxKeys: 2 }),
    healthcheck: fc.option(fc.record({ test: fc.constant(['CMD', 'true']), interval: fc.constantFrom('5s', '10s') }), { nil: undefined }),
    replicas: fc.integer({ min: 0, max: 3 }),
    placement: fc.option(fc.record({ hosts: fc.subarray(['h1', 'h2'], { minLength: 1 }) }), { nil: undefined }),
    secretDigest: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  })
  .map(({ healthcheck, placement, secretDigest, ...fields }) => {
    const spec = service({ ...fields, ...(healthcheck === undefined ? {} : { healthcheck }), ...(placement === undefined ? {} : { placement }) });
    return secretDigest === undefined ? spec : { ...spec, secrets: [{ name: 'db', kind: 'secret' as const, target: '/run/secrets/db', uid: '0', gid: '0', mode: 0o444, value: { digest: digestOf(secretDigest) } }] };
  });

/** Applies typed changes to a flattened spec: what the diff says must turn one into the other. */
function applyChanges(flat: Map<string, unknown>, changes: readonly FieldChange[]): Map<string, unknown> {
  const next = new Map(flat);
  for (const change of changes) {
    if (change.type === 'deleted') next.delete(change.field);
    else next.set(change.field, change.new);
  }
  return next;
}

const canonical = (flat: Map<string, unknown>) => canonicalJson(Object.fromEntries([...flat].sort(([a], [b]) => (a < b ? -1 : 1))));
const FORCING = new Set(Object.keys(runtimeConfigSchema.shape));

describe('typed diff of desired state (shared/spec-diff.ts)', () => {
  it('property: diff(a, b) applied to a gives b, names exactly the changed fields with their old and new values, and forces only for fields in the spec hash', () => {
    fc.assert(
      fc.property(serviceArb, serviceArb, (a, b) => {
        const before = flattenService(a);
        const after = flattenService(b);
        const changes = diffService(a, b);
        assert.equal(canonical(applyChanges(before, changes)), canonical(after));
        const changed = [...new Set([...before.keys(), ...after.keys()])].filter((path) => canonicalJson(before.get(path) ?? null) !== canonicalJson(after.get(path) ?? null) || before.has(path) !== after.has(path));
        assert.deepEqual(changes.map((change) => change.field), changed.sort());
        for (const change of changes) {
          assert.equal(canonicalJson(change.old), canonicalJson(before.get(change.field) ?? null), change.field);
          assert.equal(canonicalJson(change.new), canonicalJson(after.get(change.field) ?? null), change.field);
          assert.equal(change.type, before.has(change.field) ? (after.has(change.field) ? 'edited' : 'deleted') : 'added');
          assert.equal(change.forces, FORCING.has(change.field.split('.')[0] as string), change.field);
        }
        // No secret text, ever: inline secrets are digests, secret files name and digest.
        const shown = JSON.stringify(changes) + changes.map(describeFieldChange).join('\n');
        for (const secret of SECRET_TEXT) assert.ok(!shown.includes(secret), shown);
        assert.deepEqual(diffService(a, a), []);
      }),
      { numRuns: 300 },
    );
  });

  it('documents: services added, deleted and edited by name, replicas edited in place, the image forcing a replacement; write fields (revision, author, signing time) are no change', () => {
    const web = service({ image: 'nginx:1.27', env: { MODE: 'a', DB_PASSWORD: { secret: 'pw-one-1d9e' } } });
    const before = desired('shop', { web, cache: service() }, { revision: 3, correlationID: 'c-1', author: { key: 'OKEY', name: 'alice' } });
    const after = desired('shop', { web: { ...web, image: 'nginx:1.28', replicas: 2, env: { ...web.env, DB_PASSWORD: { secret: 'pw-two-7c0b' } } }, api: service() }, { revision: 4, correlationID: 'c-2', author: { key: 'OKEY', name: 'bob' } });
    const diff = diffDesired(before, after);
    assert.deepEqual(diff.services.map((change) => [change.service, change.type, change.forces]), [['api', 'added', true], ['cache', 'deleted', true], ['web', 'edited', true]]);
    const edited = diff.services.find((change) => change.service === 'web');
    assert.deepEqual(edited?.fields.map((change) => [change.field, change.type, change.forces]), [['env.DB_PASSWORD', 'edited', true], ['image', 'edited', true], ['replicas', 'edited', false]]);
    assert.deepEqual(edited?.fields.find((change) => change.field === 'image')?.old, 'nginx:1.27');
    assert.match(describeFieldChange(edited?.fields[0] as FieldChange), /^~ env\.DB_PASSWORD: \(secret sha256 [0-9a-f]{12}…\) => \(secret sha256 [0-9a-f]{12}…\) \(forces replacement\)$/);
    assert.ok(!JSON.stringify(diff).includes('pw-one-1d9e') && !JSON.stringify(diff).includes('pw-two-7c0b'));
    assert.deepEqual(diff.fields, []);
    assert.equal(summarizeDiff(diff), '+api -cache ~web (replaces)');
    assert.deepEqual(diffDesired(before, { ...before, revision: 9, signedAt: '2026-01-01T00:00:00.000Z', author: { key: 'OTHER' } }), { services: [], fields: [] });
    const scaled = diffDesired(before, { ...before, services: { ...before.services, cache: { ...service(), replicas: 3 } }, drift: 'report' });
    assert.equal(summarizeDiff(scaled), '~cache project: drift');
    assert.equal(scaled.services[0]?.forces, false);
  });
});
