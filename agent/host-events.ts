// Events as a host records them: a draft stamped with a fresh id, the host, the time and a correlation id.
import { randomUUID } from 'node:crypto';
import type { EventDraft, HostwrightEvent, Severity } from '../shared/events.js';
import type { DesiredAuthor } from '../shared/desired-author.js';
import type { HostDesired } from '../shared/host-desired.js';

/** What every event a host records carries besides its draft. */
export interface EventStamp {
  readonly hostId: string;
  readonly timestamp: string;
  readonly correlationID: string;
  /** By project: who wrote the revision this cycle works toward (cycleAuthors). */
  readonly authors?: ReadonlyMap<string, DesiredAuthor>;
}

/** Each draft as a recorded event: its own id (also the JetStream msg id), the host, one time and one correlation id. */
export function stampEvents(drafts: readonly EventDraft[], stamp: EventStamp): HostwrightEvent[] {
  return drafts.map((draft) => {
    const author = stamp.authors?.get(draft.project);
    return { ...draft, id: randomUUID(), hostId: stamp.hostId, timestamp: stamp.timestamp, correlationID: stamp.correlationID, ...(author === undefined ? {} : { author }) };
  });
}

/**
 * The authors of the revisions a cycle works toward, by project: those documents written by the
 * request the cycle's correlation id names (who did what; shared/desired-author.ts). Pure.
 */
export function cycleAuthors(desired: readonly HostDesired[], correlationID: string): ReadonlyMap<string, DesiredAuthor> {
  const authors = new Map<string, DesiredAuthor>();
  for (const document of desired) if (document.author !== undefined && document.correlationID === correlationID) authors.set(document.project, document.author);
  return authors;
}

/** What a `failed` event says and about what; outside a cycle, a fresh correlation id and the current time. */
export interface FailedEventDraft {
  readonly hostId: string;
  readonly project: string;
  readonly message: string;
  readonly severity?: Extract<Severity, 'warning' | 'error'>;
  readonly correlationID?: string;
  readonly timestamp?: string;
}

/** A `failed` event about a project or the host itself (`HOST_PROJECT`): a failed cycle, a rejected revision or request. */
export function failedEvent(draft: FailedEventDraft): HostwrightEvent {
  return {
    id: randomUUID(),
    type: 'failed',
    severity: draft.severity ?? 'error',
    hostId: draft.hostId,
    project: draft.project,
    message: draft.message,
    timestamp: draft.timestamp ?? new Date().toISOString(),
    correlationID: draft.correlationID ?? randomUUID(),
  };
}
