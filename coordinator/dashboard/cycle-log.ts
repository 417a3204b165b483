import type { DashboardCycle, DashboardCycleTuple } from '../../shared/dashboard-api.js';
import type { HostwrightEvent } from '../../shared/events.js';

/** Cycles kept per host: what the sparkline draws. */
export const CYCLES_KEPT = 30;

interface OpenCycle {
  readonly correlationID: string;
  readonly firstAt: number;
  lastAt: number;
  drift: number;
}

/**
 * A host's last reconcile cycles, told apart by their events' correlation id (every event of one
 * cycle carries it): a cycle lasts from its first event to its last, and counts its drift events.
 * Holds at most CYCLES_KEPT small records per host.
 */
export class CycleLog {
  readonly #byHost = new Map<string, OpenCycle[]>();

  /** Takes one event; returns whether the host's cycles changed. */
  add(event: HostwrightEvent): boolean {
    const at = Date.parse(event.timestamp);
    if (Number.isNaN(at)) return false;
    const cycles = this.#byHost.get(event.hostId) ?? [];
    let cycle = cycles.find((candidate) => candidate.correlationID === event.correlationID);
    if (!cycle) {
      cycle = { correlationID: event.correlationID, firstAt: at, lastAt: at, drift: 0 };
      cycles.push(cycle);
      cycles.sort((a, b) => a.firstAt - b.firstAt);
      if (cycles.length > CYCLES_KEPT) cycles.splice(0, cycles.length - CYCLES_KEPT);
      this.#byHost.set(event.hostId, cycles);
    }
    cycle.lastAt = Math.max(cycle.lastAt, at);
    if (event.type === 'drift_detected') cycle.drift += 1;
    return true;
  }

  cyclesOf(hostId: string): DashboardCycle[] {
    return (this.#byHost.get(hostId) ?? []).map((cycle) => ({ at: new Date(cycle.firstAt).toISOString(), durationMs: cycle.lastAt - cycle.firstAt, drift: cycle.drift }));
  }

  /** The same cycles as the fleet view carries them: [start ms, duration ms, drift]. */
  tuplesOf(hostId: string): DashboardCycleTuple[] {
    return (this.#byHost.get(hostId) ?? []).map((cycle) => [cycle.firstAt, cycle.lastAt - cycle.firstAt, cycle.drift] as const);
  }

  forget(hostId: string): void {
    this.#byHost.delete(hostId);
  }
}
