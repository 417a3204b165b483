import { MAX_HEARTBEAT_MS } from './limits.js';

/**
 * Heartbeats a second the fleet's agents aim at together. Each agent beats every `--heartbeat`
 * (5 s by default) while the fleet is small; once the fleet's hosts beating that often would pass
 * this, each lengthens its period to hosts ÷ this many seconds (20 s at 10,000 hosts), as Nomad's
 * servers space their clients' heartbeats. Every reader takes a host as stale after three of the
 * periods it announced (coordinator/heartbeat-age.ts), so a longer period is never read as down.
 * At 500 a second, NATS stores and every watcher (`apply --wait`, rollouts, the dashboard) decodes
 * a quarter of what 10,000 hosts beating every 5 s would send (bench/RESULTS.md).
 */
export const FLEET_HEARTBEATS_PER_SECOND = 500;

/** How many beats an agent lets pass between two reads of the fleet's size. */
export const FLEET_SIZE_EVERY_BEATS = 10;

/**
 * Pure: an agent's next heartbeat period: its configured one, or, in a fleet of `fleetHosts`
 * hosts (undefined: not known), the whole seconds that keep the fleet within
 * FLEET_HEARTBEATS_PER_SECOND, at most MAX_HEARTBEAT_MS.
 */
export function heartbeatPeriodMs(configuredMs: number, fleetHosts: number | undefined): number {
  if (fleetHosts === undefined || !Number.isFinite(fleetHosts) || fleetHosts <= 0) return configuredMs;
  const spread = Math.ceil(fleetHosts / FLEET_HEARTBEATS_PER_SECOND) * 1_000;
  return Math.max(configuredMs, Math.min(spread, MAX_HEARTBEAT_MS));
}
