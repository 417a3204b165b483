import { pullPolicyIntervalMs, type PullPolicy } from '../../shared/fleet-spec.js';

/**
 * Whether a policy pulls an image again although it is present: `always` at every converge, the
 * time-based ones (daily, weekly, every_<duration>) when the last pull Hostwright recorded is older
 * than their interval (or unknown). A digest-pinned reference never changes, so it never re-pulls.
 */
export function repullDue(policy: PullPolicy, image: string, lastPulledAt: string | undefined, now: string): boolean {
  if (image.includes('@')) return false;
  const interval = pullPolicyIntervalMs(policy);
  if (interval === undefined) return false;
  if (interval === 0 || lastPulledAt === undefined) return true;
  return Date.parse(now) - Date.parse(lastPulledAt) >= interval;
}

/** A policy under which the tag's image may move on the host: its instances follow it ("image moved"). */
export function followsTag(policy: PullPolicy): boolean {
  return pullPolicyIntervalMs(policy) !== undefined;
}
