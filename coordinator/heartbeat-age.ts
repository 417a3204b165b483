import { MAX_HEARTBEAT_MS } from '../shared/limits.js';

/**
 * How old a host's heartbeat is by this machine's clock. A heartbeat further ahead than the skew
 * allowance says nothing about whether the host is alive now (its clock is wrong, or the value is
 * forged), so it counts as stale like a missing one, and is shown as clock skew rather than as an age.
 */
export type HeartbeatAge =
  | { readonly kind: 'never' }
  | { readonly kind: 'unreadable' }
  | { readonly kind: 'future'; readonly aheadMs: number }
  | { readonly kind: 'past'; readonly ageMs: number };

/** How far ahead of this clock a heartbeat may be and still count as now: the clocks of two NTP-synced machines differ by far less. */
export const HEARTBEAT_SKEW_MS = 5_000;

/** Pure: the time comes in as `now` (ms since the epoch). */
export function heartbeatAge(heartbeatAt: string | undefined, now: number): HeartbeatAge {
  if (heartbeatAt === undefined || heartbeatAt === '') return { kind: 'never' };
  const at = Date.parse(heartbeatAt);
  if (Number.isNaN(at)) return { kind: 'unreadable' };
  if (at - now > HEARTBEAT_SKEW_MS) return { kind: 'future', aheadMs: at - now };
  return { kind: 'past', ageMs: Math.max(0, now - at) };
}

/** A host whose heartbeat is older than this is stale, whatever its period (its agent's `--heartbeat`, 5 s by default). */
export const STALE_AFTER_MS = 15_000;

/** Heartbeats a host may miss before it reads stale. */
export const MISSED_HEARTBEATS = 3;

/** What a registration says of the host's liveness: when it last beat, and how often it beats (absent from an older agent: the floor alone applies). */
export interface Heartbeat {
  readonly heartbeatAt?: string | null;
  readonly heartbeatMs?: number;
}

/**
 * Pure: how long a host may be silent before it reads stale: three of its own heartbeat periods,
 * and never less than the floor. An agent run with `--heartbeat 30s` is stale after 90 s, not
 * after the 15 s that suit the default period.
 */
export function staleAfterMsOf(heartbeatMs: number | undefined, floorMs = STALE_AFTER_MS): number {
  // A registration's schema bounds the period; the bound is applied here too, for a value read around it.
  return heartbeatMs === undefined || !Number.isFinite(heartbeatMs) ? floorMs : Math.max(floorMs, MISSED_HEARTBEATS * Math.min(heartbeatMs, MAX_HEARTBEAT_MS));
}

/** Pure: stale by the host's own period (staleAfterMsOf) and its heartbeat's age (isStaleHeartbeat). */
export function isStaleHost(host: Heartbeat | undefined, now: number, floorMs = STALE_AFTER_MS): boolean {
  return isStaleHeartbeat(host?.heartbeatAt ?? undefined, now, staleAfterMsOf(host?.heartbeatMs, floorMs));
}

/** Stale: no heartbeat, one that is not a time, one from the future, or one older than staleAfterMs. */
export function isStaleHeartbeat(heartbeatAt: string | undefined, now: number, staleAfterMs: number): boolean {
  const age = heartbeatAge(heartbeatAt, now);
  return age.kind !== 'past' || age.ageMs > staleAfterMs;
}

/** The age as `hosts` and `status` show it: `12s ago`, `5m ago`, `3h ago`, or what is wrong with it. */
export function describeHeartbeatAge(heartbeatAt: string | undefined, now: number): string {
  const age = heartbeatAge(heartbeatAt, now);
  switch (age.kind) {
    case 'never':
      return 'never';
    case 'unreadable':
      return 'not a time';
    case 'future':
      return `${roughly(age.aheadMs)} in the future: clock skew?`;
    case 'past':
      return `${roughly(age.ageMs)} ago`;
  }
}

function roughly(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
