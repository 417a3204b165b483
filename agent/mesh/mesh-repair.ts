import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '../../shared/errors.js';
import { HOST_PROJECT, type EventDraft, type HostwrightEvent } from '../../shared/events.js';
import type { MeshLive } from '../../shared/mesh.js';
import { failedEvent, stampEvents } from '../host-events.js';
import type { MeshAgent } from './mesh-agent.js';
import { describeMeshAction, type MeshAction } from './mesh-state.js';

// Mesh drift repair: the interface, its addresses, peers, routes and forward rule are compared with
// the held mesh document on a period (and after each reconcile cycle), and whatever differs is
// brought back through the same level-based reconcile a new document uses. A repair is an event.

/** How often the live mesh is compared with its document when nothing else asks. */
export const MESH_REPAIR_MS = 10_000;
/** After a cycle the mesh is checked too, but not more often than this (a burst of cycles is one check). */
const AFTER_CYCLE_GAP_MS = 1_000;

/** Pure: the event saying what of the mesh differed from its document and was put back. */
export function meshRepairEvent(actions: readonly MeshAction[], interfaceName: string, revision: number | undefined): EventDraft {
  const revisionText = revision === undefined ? '' : ` (revision ${revision})`;
  return {
    type: 'drift_detected',
    severity: 'warning',
    project: HOST_PROJECT,
    runtimeRef: interfaceName,
    message: `mesh interface ${interfaceName} differed from its mesh document${revisionText}; repaired: ${actions.map((action) => describeMeshAction(action, interfaceName)).join('; ')}`,
  };
}

export interface MeshRepairOptions {
  readonly hostId: string;
  readonly mesh: MeshAgent;
  readonly periodMs?: number;
  /** Records events (the journal: they reach the fleet through the outbox like every other). */
  readonly record: (events: readonly HostwrightEvent[]) => Promise<void>;
  readonly logger: Logger;
}

export class MeshRepair {
  readonly #options: MeshRepairOptions;
  #timer: NodeJS.Timeout | undefined;
  /** The check in flight: a second caller shares it rather than observing the host twice. */
  #inFlight: Promise<readonly MeshAction[]> | undefined;
  /** One `failed` event per streak of failed repairs; the log has every attempt. */
  #failing = false;
  #lastCheckAt = 0;
  #live: MeshLive | undefined;

  constructor(options: MeshRepairOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.check(), this.#options.periodMs ?? MESH_REPAIR_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The outcome of the last check, for the registration (undefined: none yet, or no document held). */
  get live(): MeshLive | undefined {
    return this.#live;
  }

  /** After a reconcile cycle: a check, unless one ran within the last second. */
  afterCycle(): void {
    if (Date.now() - this.#lastCheckAt >= AFTER_CYCLE_GAP_MS) void this.check();
  }

  /** Compares and repairs now; resolves to the steps taken (none when the mesh is as its document says, or the host holds none). */
  check(): Promise<readonly MeshAction[]> {
    this.#inFlight ??= this.#check().finally(() => {
      this.#inFlight = undefined;
      this.#lastCheckAt = Date.now();
    });
    return this.#inFlight;
  }

  async #check(): Promise<readonly MeshAction[]> {
    const { mesh, hostId, logger } = this.#options;
    try {
      const result = await mesh.repair();
      this.#failing = false;
      const checkedAt = new Date().toISOString();
      const revision = mesh.current?.revision;
      if (result === undefined || revision === undefined) return [];
      const repaired = result.actions.length > 0 ? { at: checkedAt, steps: result.actions.length } : this.#live?.revision === revision ? this.#live.repaired : undefined;
      this.#live = { revision, inSync: true, checkedAt, ...(repaired === undefined ? {} : { repaired }) };
      if (result.actions.length === 0) return [];
      const draft = meshRepairEvent(result.actions, mesh.link.interfaceName, mesh.current?.revision);
      logger.warn({ actions: result.actions.map((action) => action.kind) }, draft.message);
      await this.#options.record(stampEvents([draft], { hostId, timestamp: new Date().toISOString(), correlationID: randomUUID() })).catch((error: unknown) => logger.error({ error: errorMessage(error) }, 'the mesh repair event could not be recorded'));
      return result.actions;
    } catch (error) {
      logger.error({ error: errorMessage(error) }, 'the mesh interface could not be brought back to its mesh document; tried again at the next check');
      const revision = mesh.current?.revision;
      if (revision !== undefined) this.#live = { revision, inSync: false, checkedAt: new Date().toISOString(), error: errorMessage(error).slice(0, 500) };
      if (!this.#failing) {
        this.#failing = true;
        await this.#options.record([failedEvent({ hostId, project: HOST_PROJECT, message: `mesh interface ${mesh.link.interfaceName} could not be repaired: ${errorMessage(error)}; tried again every ${Math.round((this.#options.periodMs ?? MESH_REPAIR_MS) / 1000)} s` })]).catch(() => undefined);
      }
      return [];
    }
  }
}
