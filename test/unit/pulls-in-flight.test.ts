import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ActionOf } from '../../shared/actions.js';
import { PullsInFlight } from '../../agent/pulls-in-flight.js';
import { PullProgressLines, pullProgressLine } from '../../coordinator/cli/render/pull-view.js';
import type { ActionReport } from '../../agent/cycle.js';

const pull = (id: string, image: string): ActionOf<'pull-image'> => ({ kind: 'pull-image', id, phase: 'images', chain: `pull:${image}`, reason: 'image missing', image, projects: ['shop'] });
const finished = (action: ActionOf<'pull-image'>, outcome: ActionReport['outcome']): ActionReport => ({ action, outcome, message: 'm', containerId: undefined, durationMs: 5 });

describe('pulls in flight', () => {
  it('a pull appears when it starts, follows its progress, and goes when it ended, whatever the outcome', () => {
    const pulls = new PullsInFlight(() => new Date('2026-12-04T10:00:00Z'));
    const a = pull('a1', 'registry.example/app:2');
    const b = pull('a2', 'registry.example/db:16');
    assert.equal(pulls.update({ type: 'action-started', action: a }), true);
    assert.equal(pulls.update({ type: 'action-started', action: b }), true);
    assert.equal(pulls.update({ type: 'action-progress', action: a, detail: { layers: 3, layersDone: 1, bytes: 10, totalBytes: 40 } }), true);
    assert.deepEqual(pulls.list(), [
      { image: 'registry.example/app:2', projects: ['shop'], layers: 3, layersDone: 1, bytes: 10, totalBytes: 40, since: '2026-12-04T10:00:00.000Z' },
      { image: 'registry.example/db:16', projects: ['shop'], layers: 0, layersDone: 0, bytes: 0, totalBytes: 0, since: '2026-12-04T10:00:00.000Z' },
    ]);
    assert.equal(pulls.update({ type: 'action-finished', report: finished(a, 'failed') }), true);
    assert.deepEqual(pulls.list().map((p) => p.image), ['registry.example/db:16']);
    // Another action's progress changes nothing.
    assert.equal(pulls.update({ type: 'action-finished', report: finished(a, 'done') }), false);
  });

  it('a new plan clears what the last one left (a result that could not be written)', () => {
    const pulls = new PullsInFlight();
    pulls.update({ type: 'action-started', action: pull('a1', 'x:1') });
    assert.equal(pulls.update({ type: 'planned', plan: { projects: [], actions: [] } as never, runnable: [], blocks: [] }), true);
    assert.deepEqual(pulls.list(), []);
    assert.equal(pulls.update({ type: 'planned', plan: { projects: [], actions: [] } as never, runnable: [], blocks: [] }), false);
  });

  it('progress lines: each pull\'s first at once, then at most one every two seconds; names shown printable', () => {
    const lines: string[] = [];
    const view = new PullProgressLines((line) => lines.push(line));
    const since = '2026-12-04T10:00:00.000Z';
    const at = (seconds: number) => Date.parse(since) + seconds * 1000;
    const inFlight = { image: 'app:2\u001b[31m', projects: ['shop'], layers: 2, layersDone: 1, bytes: 5 * 1024 * 1024, totalBytes: 20 * 1024 * 1024, since };
    view.show('h1', [inFlight], at(0));
    view.show('h1', [inFlight], at(1));
    view.show('h2', [inFlight], at(1));
    view.show('h1', [{ ...inFlight, bytes: 10 * 1024 * 1024 }], at(2.5));
    view.show('h1', undefined, at(3));
    assert.deepEqual(lines, [
      'h1: pulling app:2\\x1b[31m: 5.0 MB of 20.0 MB, 1/2 layer(s), 0s',
      'h2: pulling app:2\\x1b[31m: 5.0 MB of 20.0 MB, 1/2 layer(s), 1s',
      'h1: pulling app:2\\x1b[31m: 10.0 MB of 20.0 MB, 1/2 layer(s), 3s',
    ]);
    assert.equal(pullProgressLine('h1', { ...inFlight, image: 'a:1', layers: 0, totalBytes: 0, bytes: 0 }, at(0)), 'h1: pulling a:1: 0.0 MB, starting, 0s');
  });
});
