// Events as a host records them: a draft stamped with a fresh id, the host, the time and a correlation id.
import { randomUUID } from 'node:crypto';
import type { EventDraft, HostwrightEvent } from '../shared/events.js';

/** What every event a host records carries besides its draft. */
export interface EventStamp {
  readonly hostId: string;
  readonly timestamp: string;
  readonly correlationID: string;
}

/** Each draft as a recorded event: its own id (also the JetStream msg id), the host, one time and one correlation id. */
export function stampEvents(drafts: readonly EventDraft[], stamp: EventStamp): HostwrightEvent[] {
  return drafts.map((draft) => ({ ...draft, id: randomUUID(), hostId: stamp.hostId, timestamp: stamp.timestamp, correlationID: stamp.correlationID }));
}
