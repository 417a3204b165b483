import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Action } from '../../shared/actions.js';
import { actionProjects } from '../../agent/core/action-projects.js';
import { backingOff, backoffAfter, failureTransitionEvents, nextFailureState, nextRetryAtMs, type FailurePolicy, type FailureState, type ProjectOutcome } from '../../agent/core/failure-state.js';

const policy: FailurePolicy = { maxAttempts: 5, backoffMinMs: 1_000, backoffMaxMs: 60_000 };

function failed(project: string, revision: number, reason = 'pull image x failed: not found', extra: Partial<Extract<ProjectOutcome, { result: 'failed' }>> = {}): ProjectOutcome {
  return { project, revision, result: 'failed', mode: 'converge', reason, engineUnreachable: false, ...extra };
}
function ok(project: string, revision: number): ProjectOutcome {
  return { project, revision, result: 'ok' };
}

/** Runs the outcomes one cycle each, at the given times, and collects state and transitions. */
function run(cycles: readonly { outcomes: readonly ProjectOutcome[]; nowMs: number; revisions?: Record<string, number> }[], start: FailureState = new Map()) {
  let state = start;
  const transitions = [];
  for (const cycle of cycles) {
    const revisions = new Map(Object.entries(cycle.revisions ?? { a: 1, b: 1 }));
    const step = nextFailureState(state, { revisions, outcomes: cycle.outcomes, nowMs: cycle.nowMs, policy });
    state = step.state;
    transitions.push(...step.transitions);
  }
  return { state, transitions };
}

describe('per-project failure state', () => {
  it('backs off 1, 2, 4, 8 s, rejects a converging revision on the 5th failure and says so once per change', () => {
    const { state, transitions } = run([0, 1, 2, 3, 4].map((i) => ({ outcomes: [failed('a', 1)], nowMs: i * 100_000 })));
    assert.deepEqual(transitions.map((t) => t.kind), ['failing', 'rejected']);
    assert.equal(state.has('a'), false, 'the rejection (kept in the journal) ends the streak');
    const four = run([0, 1, 2, 3].map((i) => ({ outcomes: [failed('a', 1)], nowMs: i * 100_000 })));
    assert.equal(four.state.get('a')?.attempts, 4);
    assert.equal(four.state.get('a')?.backoffMs, 8_000);
    assert.equal(four.state.get('a')?.retryAtMs, 300_000 + 8_000);
    assert.equal(four.state.get('a')?.since, new Date(0).toISOString());
  });

  it("one project's failures never count against another's, nor hold it", () => {
    const { state, transitions } = run([0, 1, 2, 3, 4].map((i) => ({ outcomes: [failed('a', 1), ok('b', 1)], nowMs: i * 100_000 })));
    assert.deepEqual(transitions.map((t) => `${t.kind}:${t.project}`), ['failing:a', 'rejected:a']);
    assert.equal(state.has('b'), false);
    const failing = run([{ outcomes: [failed('a', 1), ok('b', 1)], nowMs: 0 }]).state;
    assert.deepEqual([...backingOff(failing, 500)], ['a']);
  });

  it('the backoff grows to its cap and stays there while a maintained revision keeps failing (never back to 1 s)', () => {
    const cycles = Array.from({ length: 40 }, (_, i) => ({ outcomes: [failed('a', 1, 'pull failed', { mode: 'maintain' })], nowMs: i * 61_000 }));
    let state: FailureState = new Map();
    const delays: number[] = [];
    const kinds: string[] = [];
    for (const cycle of cycles) {
      const step = nextFailureState(state, { revisions: new Map([['a', 1]]), outcomes: cycle.outcomes, nowMs: cycle.nowMs, policy });
      state = step.state;
      delays.push(state.get('a')?.backoffMs ?? -1);
      kinds.push(...step.transitions.map((t) => t.kind));
    }
    assert.deepEqual(delays.slice(0, 8), [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    assert.ok(delays.slice(6).every((delay) => delay === 60_000), delays.join(','));
    assert.deepEqual(kinds, ['failing'], 'one event for the whole streak');
  });

  it('failures where the engine did not answer back off but never reject', () => {
    const cycles = Array.from({ length: 12 }, (_, i) => ({ outcomes: [failed('a', 1, 'engine away', { engineUnreachable: true })], nowMs: i * 100_000 }));
    const { state, transitions } = run(cycles);
    assert.equal(state.get('a')?.attempts, 12);
    assert.equal(state.get('a')?.counted, 0);
    assert.deepEqual(transitions.map((t) => t.kind), ['failing']);
  });

  it('a new reason is a change of state (one more event); success ends the streak with a recovery event', () => {
    const { state, transitions } = run([
      { outcomes: [failed('a', 1, 'one')], nowMs: 0 },
      { outcomes: [failed('a', 1, 'one')], nowMs: 10_000 },
      { outcomes: [failed('a', 1, 'two')], nowMs: 20_000 },
      { outcomes: [ok('a', 1)], nowMs: 30_000 },
    ]);
    assert.deepEqual(transitions.map((t) => `${t.kind}:${t.reason}`), ['failing:one', 'failing:two', 'recovered:two']);
    assert.equal(state.size, 0);
  });

  it('a new revision starts afresh; a project without desired state drops out', () => {
    const first = run([0, 1, 2, 3].map((i) => ({ outcomes: [failed('a', 1)], nowMs: i * 100_000 })));
    const renewed = run([{ outcomes: [failed('a', 2)], nowMs: 500_000, revisions: { a: 2 } }], first.state);
    assert.equal(renewed.state.get('a')?.attempts, 1);
    assert.equal(renewed.state.get('a')?.backoffMs, 1_000);
    assert.deepEqual(renewed.transitions.map((t) => t.kind), ['failing']);
    const gone = run([{ outcomes: [], nowMs: 600_000, revisions: {} }], first.state);
    assert.equal(gone.state.size, 0);
  });

  it('a held project (no outcome) keeps its streak as it was', () => {
    const first = run([{ outcomes: [failed('a', 1)], nowMs: 0 }]);
    const held = run([{ outcomes: [ok('b', 1)], nowMs: 100 }], first.state);
    assert.deepEqual(held.state.get('a'), first.state.get('a'));
    assert.equal(nextRetryAtMs(held.state), 1_000);
  });

  it('property: the backoff never shrinks within a streak and never exceeds the cap', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), (unreachable) => {
        let state: FailureState = new Map();
        let last = 0;
        for (const [i, away] of unreachable.entries()) {
          state = nextFailureState(state, { revisions: new Map([['a', 1]]), outcomes: [failed('a', 1, 'x', { mode: 'maintain', engineUnreachable: away })], nowMs: i, policy }).state;
          const delay = state.get('a')?.backoffMs ?? 0;
          if (delay < last || delay > policy.backoffMaxMs) return false;
          last = delay;
        }
        return true;
      }),
    );
    assert.equal(backoffAfter(10_000, policy), 60_000);
  });

  it('events: one per transition, the rejection saying how to lift it', () => {
    const events = failureTransitionEvents([{ kind: 'rejected', project: 'shop', revision: 3, reason: 'pull image x failed: not found', attempts: 5 }], 'h1');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'failed');
    assert.equal(events[0]?.project, 'shop');
    assert.match(events[0]?.message ?? '', /revision 3 rejected after 5 failed attempts: pull image x failed: not found; .*hostwright retry --host h1 --project shop/);
  });
});

describe('actionProjects', () => {
  const base = { phase: 'instances' as const, reason: 'r' };
  const create = (project: string, image: string, id: string): Action =>
    ({ ...base, id, kind: 'create', chain: `${project}/web/1`, key: { project, service: 'web', instance: 1 }, name: `${project}-web-1`, specHash: 'h', config: { image } }) as unknown as Action;
  it('an image pull belongs to every project whose create needs the image, and to no other', () => {
    const pull: Action = { ...base, id: 'a1', phase: 'images', kind: 'pull-image', chain: 'image:x:1', image: 'x:1' };
    const actions = [pull, create('shop', 'x:1', 'a2'), create('blog', 'x:1', 'a3'), create('wiki', 'y:1', 'a4')];
    const projectsOf = actionProjects(actions);
    assert.deepEqual(projectsOf(pull), ['blog', 'shop']);
    assert.deepEqual(projectsOf(actions[3]!), ['wiki']);
  });
});
