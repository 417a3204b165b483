// Events storms, from any cause (a crash-looping container, a flapping health check, a failure
// repeating), are cut per kind of event: the first few pass, the rest become one summary event.
import type { HostwrightEvent } from '../../shared/events.js';

export interface EventRateLimit {
  /** Events of one kind (type, project, service, instance) recorded per window; the rest are counted. */
  readonly perWindow: number;
  readonly windowMs: number;
}

export const DEFAULT_EVENT_RATE_LIMIT: EventRateLimit = { perWindow: 10, windowMs: 60_000 };

interface RateWindow {
  readonly startMs: number;
  readonly admitted: number;
  readonly suppressed: number;
  /** The last event left out: the summary takes its kind and quotes its message. */
  readonly last: HostwrightEvent | undefined;
}

/** Per kind of event, its current window; a window ends (and leaves the map) once windowMs have passed. */
export type EventRateState = ReadonlyMap<string, RateWindow>;

export interface RateLimited {
  readonly state: EventRateState;
  /** What to record: the summaries of windows that ended, then the events admitted, in order. */
  readonly events: readonly HostwrightEvent[];
}

/** Pure: the events to record now, and the state after them. */
export function limitEvents(state: EventRateState, events: readonly HostwrightEvent[], nowMs: number, limit: EventRateLimit): RateLimited {
  const closed = closeWindows(state, nowMs, limit);
  const windows = new Map(closed.state);
  const admitted: HostwrightEvent[] = [];
  for (const event of events) {
    // An exec session's events are its audit record: each is kept (sessions are admin-only, signed and single-use).
    if (event.type === 'exec') {
      admitted.push(event);
      continue;
    }
    const key = eventKind(event);
    const window = windows.get(key) ?? { startMs: nowMs, admitted: 0, suppressed: 0, last: undefined };
    if (window.admitted < limit.perWindow) {
      admitted.push(event);
      windows.set(key, { ...window, admitted: window.admitted + 1 });
    } else {
      windows.set(key, { ...window, suppressed: window.suppressed + 1, last: event });
    }
  }
  return { state: windows, events: [...closed.events, ...admitted] };
}

/** Pure: ends the windows older than windowMs, with one summary event for each that left events out. */
export function closeWindows(state: EventRateState, nowMs: number, limit: EventRateLimit): RateLimited {
  const windows = new Map<string, RateWindow>();
  const summaries: HostwrightEvent[] = [];
  for (const [key, window] of state) {
    if (nowMs - window.startMs < limit.windowMs) {
      windows.set(key, window);
      continue;
    }
    if (window.last !== undefined && window.suppressed > 0) summaries.push(summaryEvent(window.last, window.suppressed, nowMs, limit));
  }
  return { state: windows, events: summaries };
}

function summaryEvent(last: HostwrightEvent, suppressed: number, nowMs: number, limit: EventRateLimit): HostwrightEvent {
  const span = limit.windowMs === 60_000 ? 'the last minute' : `the last ${Math.round(limit.windowMs / 1000)} s`;
  // The id derives from the last event's (itself unique), so a summary stays one message on the stream.
  return { ...last, id: `${last.id}.more`, timestamp: new Date(nowMs).toISOString(), message: `${suppressed} more like this in ${span} (not recorded one by one; the last: ${last.message})` };
}

function eventKind(event: HostwrightEvent): string {
  return [event.type, event.project, event.service ?? '', event.instance ?? ''].join('\u0000');
}
