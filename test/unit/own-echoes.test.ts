import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ECHO_WINDOW_MS, OwnEchoes } from '../../agent/core/own-echoes.js';

describe('own echoes', () => {
  it("an action's own events are echoes; other events on the same container are not", () => {
    const echoes = new OwnEchoes(() => 1_000);
    echoes.expect('c1', 'create');
    echoes.expect('c1', 'start');
    assert.equal(echoes.isEcho('c1', 'create'), true);
    assert.equal(echoes.isEcho('c1', 'start'), true);
    // The container died after our start: that is news.
    assert.equal(echoes.isEcho('c1', 'die'), false);
    assert.equal(echoes.isEcho('c2', 'start'), false, 'another container');
  });

  it('a stop expects kill, die and stop; a start after it is not ours', () => {
    const echoes = new OwnEchoes(() => 1_000);
    echoes.expect('c1', 'stop');
    for (const action of ['kill', 'die', 'stop']) assert.equal(echoes.isEcho('c1', action), true, action);
    assert.equal(echoes.isEcho('c1', 'start'), false);
    echoes.expect('c1', 'remove');
    assert.equal(echoes.isEcho('c1', 'destroy'), true);
  });

  it('actions that cause no container event expect none', () => {
    const echoes = new OwnEchoes(() => 1_000);
    echoes.expect('c1', 'await-healthy');
    echoes.expect('c1', 'pull-image');
    assert.equal(echoes.isEcho('c1', 'health_status: healthy'), false);
    assert.equal(echoes.isEcho('c1', 'start'), false);
  });

  it(`an echo is expected for ${ECHO_WINDOW_MS} ms after its action, then forgotten`, () => {
    let now = 1_000;
    const echoes = new OwnEchoes(() => now);
    echoes.expect('c1', 'start');
    now += ECHO_WINDOW_MS;
    assert.equal(echoes.isEcho('c1', 'start'), true);
    now += 1;
    assert.equal(echoes.isEcho('c1', 'start'), false);
    // A later action starts a new window with only its own events.
    echoes.expect('c1', 'stop');
    assert.equal(echoes.isEcho('c1', 'start'), false);
    assert.equal(echoes.isEcho('c1', 'die'), true);
  });
});
