import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionResultEvent, plannedEvents } from '../../agent/core/action-events.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { planReport } from '../../agent/plan-report.js';
import { savedPlan } from '../../coordinator/fleet-plan.js';
import { renderPlan } from '../../coordinator/cli/render/plan-view.js';
import { parseFleetFile } from '../../coordinator/fleet-file.js';
import { desiredContentHash } from '../../coordinator/placement.js';
import { maskedRollout, type RolloutState } from '../../coordinator/rollout/rollout-state.js';
import { resolveEnv } from '../../agent/runtime/secret-env-resolver.js';
import { RuntimeError } from '../../shared/errors.js';
import { MAX_ARG_LENGTH } from '../../shared/limits.js';
import { maskServices, secretDigest, unmaskServices } from '../../shared/secret-env.js';
import { desired, service } from '../lib/builders.js';
import { ownedFixture, ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';

const SECRET = 'hunter2-correct-horse-battery';

describe('secret env values', () => {
  const withSecret = (value: string) => service({ env: { PLAIN: 'visible', DB_PASSWORD: { secret: value }, API_KEY: { secret_file: '/run/secrets/api-key' } } });

  it('the fleet file takes { secret } and { secret_file } values; a relative secret file is an error with its path', () => {
    const fleet = parseFleetFile(`project: shop\nservices:\n  web:\n    image: hw/busybox:test\n    env:\n      DB_PASSWORD: { secret: "${SECRET}" }\n      API_KEY: { secret_file: /run/secrets/api-key }\n      PORT: 8080\n`, 'fleet.yaml');
    assert.deepEqual(fleet.services.web?.env, { DB_PASSWORD: { secret: SECRET }, API_KEY: { secret_file: '/run/secrets/api-key' }, PORT: '8080' });
    assert.throws(() => parseFleetFile('project: shop\nservices:\n  web:\n    image: x\n    env: { K: { secret_file: relative/path } }\n', 'fleet.yaml'), /services\.web\.env\.K/);
  });

  it('the plan (JSON and human), its events and a saved plan never contain the value', () => {
    const document = desired('shop', { web: withSecret(SECRET) });
    const round = planRound({ desired: [document], snapshot: snapshotOf([], { images: ['hw/busybox:test'] }), owners: ownersOf([]) });
    assert.ok(round.plan.actions.some((a) => a.kind === 'create'), 'the plan creates the container');
    const report = planReport({ correlationID: 'c1', dryRun: true, ...round, results: [], failed: false, status: undefined });
    const json = JSON.stringify(report);
    assert.ok(!json.includes(SECRET), 'plan --json');
    assert.ok(json.includes(secretDigest(SECRET)), 'the plan shows the digest, so a change is visible');
    assert.ok(json.includes('/run/secrets/api-key'), 'a secret file shows its path (the value never crossed the wire)');
    assert.ok(!renderPlan(report).includes(SECRET), 'human plan');
    const events = [...plannedEvents(round.plan, round.runnable), ...round.plan.actions.map((action) => actionResultEvent(action, { ok: true, message: 'created', containerId: 'c1' }))];
    assert.ok(!JSON.stringify(events).includes(SECRET), 'events');
    const target = { hostId: 'h1', document, kvRevision: 0, changed: true };
    assert.ok(!JSON.stringify(savedPlan('shop', 'c1', [{ target, plan: report, error: undefined }])).includes(SECRET), 'saved plan file');
    const rollout = { hosts: [{ hostId: 'h1', wave: 0, state: 'pending', previous: document, target: document }] } as unknown as RolloutState;
    assert.ok(!JSON.stringify(maskedRollout(rollout)).includes(SECRET), 'rollout --json');
  });

  it('a changed secret changes the spec hash (and replaces the container) without showing either value', () => {
    assert.notEqual(specHashOf(withSecret(SECRET)), specHashOf(withSecret(`${SECRET}!`)));
    const { container, record } = ownedFixture({ project: 'shop', service: 'web', instance: 1 }, withSecret(SECRET), { id: 'c1' });
    const changed = desired('shop', { web: withSecret('rotated-value-42') });
    const round = planRound({ desired: [changed], snapshot: snapshotOf([container], { images: ['hw/busybox:test'] }), owners: ownersOf([record]) });
    const report = planReport({ correlationID: 'c2', dryRun: true, ...round, results: [], failed: false, status: undefined });
    assert.deepEqual(report.diff.map((d) => [d.kind, d.detail]), [['replace', 'spec changed: env (forces replacement)']]);
    const json = JSON.stringify(report);
    assert.ok(!json.includes(SECRET) && !json.includes('rotated-value-42'));
  });

  it('masking keeps both hashes, and a saved plan\'s digests are restored from a document that holds the values', () => {
    const document = desired('shop', { web: withSecret(SECRET) });
    const masked = maskServices(document);
    assert.equal(desiredContentHash(masked), desiredContentHash(document));
    assert.equal(specHashOf(masked.services.web!), specHashOf(document.services.web!));
    assert.deepEqual(unmaskServices(masked, document), { document, missing: [] });
    assert.deepEqual(unmaskServices(masked, undefined).missing, ['web.env.DB_PASSWORD']);
  });
});

describe('secret files', () => {
  it(`are read up to ${MAX_ARG_LENGTH} bytes (one trailing newline dropped); a larger or endless file is refused by name, unread`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwright-secret-'));
    try {
      const atLimit = join(dir, 'at-limit');
      await writeFile(atLimit, `${'s'.repeat(MAX_ARG_LENGTH)}\n`);
      assert.equal((await resolveEnv({ KEY: { secret_file: atLimit } })).KEY, 's'.repeat(MAX_ARG_LENGTH));
      const tooLarge = join(dir, 'too-large');
      await writeFile(tooLarge, 's'.repeat(MAX_ARG_LENGTH + 3));
      const oneOver = join(dir, 'one-over');
      await writeFile(oneOver, `${'s'.repeat(MAX_ARG_LENGTH + 1)}\n`);
      for (const path of [tooLarge, oneOver, '/dev/zero']) {
        await assert.rejects(resolveEnv({ KEY: { secret_file: path } }), (error: unknown) => {
          assert.ok(error instanceof RuntimeError);
          assert.equal(error.message, `env KEY: secret file ${path} on this host holds more than ${MAX_ARG_LENGTH} bytes, the most an env value may have`);
          return true;
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
