import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pullPolicySchema } from '../../shared/fleet-spec.js';
import { repullDue } from '../../agent/core/pull-policy.js';
import { desired, service } from '../lib/builders.js';
import { planRound, snapshotOf } from '../lib/simulated-runtime.js';

const NOW = '2026-12-04T12:00:00.000Z';
const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.parse(NOW) - ms).toISOString();

describe('pull policies', () => {
  it('accepts compose\'s names and refuses others with the list', () => {
    for (const policy of ['always', 'missing', 'if_not_present', 'never', 'daily', 'weekly', 'every_12h', 'every_30m', 'every_2d']) assert.equal(pullPolicySchema.safeParse(policy).success, true, policy);
    const wrong = pullPolicySchema.safeParse('every_day');
    assert.equal(wrong.success, false);
    assert.equal(pullPolicySchema.safeParse('build').success, false, 'Hostwright builds nothing');
  });

  it('pulls a present image again as the policy says, never a digest-pinned one', () => {
    assert.equal(repullDue('missing', 'app:1', undefined, NOW), false);
    assert.equal(repullDue('never', 'app:1', undefined, NOW), false);
    assert.equal(repullDue('always', 'app:1', ago(1000), NOW), true);
    assert.equal(repullDue('daily', 'app:1', ago(23 * HOUR), NOW), false);
    assert.equal(repullDue('daily', 'app:1', ago(25 * HOUR), NOW), true);
    assert.equal(repullDue('daily', 'app:1', undefined, NOW), true, 'no pull recorded: due');
    assert.equal(repullDue('weekly', 'app:1', ago(6 * 24 * HOUR), NOW), false);
    assert.equal(repullDue('every_30m', 'app:1', ago(31 * 60_000), NOW), true);
    assert.equal(repullDue('every_30m', 'app:1', ago(29 * 60_000), NOW), false);
    assert.equal(repullDue('always', `app@sha256:${'a'.repeat(64)}`, undefined, NOW), false);
  });

  it('plans a re-pull in converge mode only, with the projects that need it and the reason', () => {
    const docs = [desired('shop', { web: service({ image: 'app:1', pull_policy: 'daily' }) })];
    const snapshot = snapshotOf([], { images: ['app:1'] });
    const pulls = { lastPulledAt: new Map([['app:1', ago(25 * HOUR)]]), now: NOW };
    const converge = planRound({ desired: docs, snapshot, owners: new Map(), modes: new Map([['shop', 'converge']]), pulls }).plan;
    const pull = converge.actions[0];
    assert.equal(pull?.kind, 'pull-image');
    assert.deepEqual(pull?.kind === 'pull-image' ? [pull.image, pull.projects, pull.reason] : [], ['app:1', ['shop'], `pull_policy: daily (last pulled ${ago(25 * HOUR)})`]);
    const maintain = planRound({ desired: docs, snapshot, owners: new Map(), modes: new Map([['shop', 'maintain']]), pulls }).plan;
    assert.equal(maintain.actions.filter((action) => action.kind === 'pull-image').length, 0);
    const recent = planRound({ desired: docs, snapshot, owners: new Map(), modes: new Map([['shop', 'converge']]), pulls: { ...pulls, lastPulledAt: new Map([['app:1', ago(HOUR)]]) } }).plan;
    assert.equal(recent.actions.filter((action) => action.kind === 'pull-image').length, 0);
  });
});
