import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { failedEvent, stampEvents } from '../../agent/host-events.js';
import { HOST_PROJECT, hostwrightEventSchema } from '../../shared/events.js';

describe('host events', () => {
  it('stamps every draft with its own id and the one host, time and correlation id', () => {
    const stamp = { hostId: 'h1', timestamp: '2025-01-01T00:00:00.000Z', correlationID: 'c1' };
    const events = stampEvents(
      [
        { type: 'applied', severity: 'info', project: 'shop', service: 'web', instance: 1, message: 'a1 create done' },
        { type: 'cleaned', severity: 'info', project: 'shop', message: 'removed' },
      ],
      stamp,
    );
    for (const event of events) assert.deepEqual(hostwrightEventSchema.parse(event), event);
    assert.deepEqual(events.map(({ hostId, timestamp, correlationID }) => ({ hostId, timestamp, correlationID })), [stamp, stamp]);
    assert.notEqual(events[0]?.id, events[1]?.id);
  });

  it('builds a failed event that the event schema accepts, an error with a fresh correlation id unless told', () => {
    const first = failedEvent({ hostId: 'h1', project: HOST_PROJECT, message: 'reconcile cycle failed' });
    const second = failedEvent({ hostId: 'h1', project: HOST_PROJECT, message: 'reconcile cycle failed' });
    assert.deepEqual(hostwrightEventSchema.parse(first), first);
    assert.equal(first.type, 'failed');
    assert.equal(first.severity, 'error');
    assert.notEqual(first.correlationID, second.correlationID);
    assert.notEqual(first.id, second.id);
    const told = failedEvent({ hostId: 'h2', project: 'shop', message: 'revision 3 rejected', severity: 'warning', correlationID: 'c9', timestamp: '2025-01-01T00:00:00.000Z' });
    assert.deepEqual({ ...told, id: '' }, { id: '', type: 'failed', severity: 'warning', hostId: 'h2', project: 'shop', message: 'revision 3 rejected', timestamp: '2025-01-01T00:00:00.000Z', correlationID: 'c9' });
  });
});
