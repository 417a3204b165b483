import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HostwrightEvent } from '../../shared/events.js';
import { closeWindows, limitEvents, type EventRateState } from '../../agent/core/event-rate-limit.js';

const limit = { perWindow: 3, windowMs: 60_000 };
let next = 0;
function event(fields: Partial<HostwrightEvent> = {}): HostwrightEvent {
  next += 1;
  return { id: `e${next}`, type: 'restarted', severity: 'warning', hostId: 'h1', project: 'shop', service: 'web', instance: 1, message: `restart ${next}`, timestamp: 't', correlationID: 'c', ...fields };
}

describe('event rate limit', () => {
  it('lets the first events of a kind through, counts the rest and sums them up once the window ends', () => {
    let state: EventRateState = new Map();
    const recorded: HostwrightEvent[] = [];
    for (let second = 0; second < 50; second++) {
      const step = limitEvents(state, [event()], second * 1_000, limit);
      state = step.state;
      recorded.push(...step.events);
    }
    assert.equal(recorded.length, 3);
    const closed = closeWindows(state, 60_000, limit);
    assert.equal(closed.events.length, 1);
    assert.match(closed.events[0]!.message, /^47 more like this in the last minute \(not recorded one by one; the last: restart \d+\)$/);
    assert.equal(closed.events[0]!.type, 'restarted');
    assert.equal(closed.events[0]!.service, 'web');
    assert.equal(closed.state.size, 0, 'an ended window leaves nothing behind');
  });

  it('other kinds (another instance, type or project) are counted apart', () => {
    const events = [event(), event(), event(), event({ instance: 2 }), event({ type: 'drift_detected' }), event({ project: 'blog' }), event()];
    const step = limitEvents(new Map(), events, 0, limit);
    assert.deepEqual(step.events.map((e) => e.id), events.slice(0, 6).map((e) => e.id));
  });

  it('a window that left nothing out ends without a summary; the next event of its kind opens a new window', () => {
    const first = limitEvents(new Map(), [event()], 0, limit);
    const later = limitEvents(first.state, [event(), event(), event()], 61_000, limit);
    assert.equal(later.events.length, 3, 'a fresh window');
    const storm = limitEvents(later.state, [event(), event()], 62_000, limit);
    assert.equal(storm.events.length, 0);
    const after = limitEvents(storm.state, [event()], 121_000, limit);
    assert.equal(after.events.length, 2, 'the summary of the ended window, then the new event');
    assert.match(after.events[0]!.message, /^2 more like this/);
  });
});
