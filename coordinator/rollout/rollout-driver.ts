import { decode, encode } from '../../shared/codec.js';
import { compareStrings } from '../../shared/compare.js';
import { errorMessage, HostwrightError } from '../../shared/errors.js';
import { isUnanswered } from '../../shared/nats-connection.js';
import type { HostDesired } from '../../shared/host-desired.js';
import type { HostReport } from '../../shared/host-report.js';
import type { StatusReport } from '../../shared/wire.js';
import { keysWithin, type FleetClient } from '../fleet-client.js';
import { asWrittenOver } from '../placement.js';
import { FINISHED_STATUSES, rolloutStateSchema, type RolloutState } from './rollout-state.js';
import { advanceRollout, type HostObservation } from './rollout-step.js';
import { sleep } from '../../shared/sleep.js';
import { FALLBACK_READ_MS, FleetReportWatch } from '../report-watch.js';

/** Rollout state in KV `hw_rollouts`, written with compare-and-set so two coordinators cannot both drive one. */
export class RolloutStore {
  constructor(private readonly client: FleetClient) {}

  async get(id: string): Promise<{ state: RolloutState; revision: number } | undefined> {
    const entry = await this.client.connection.rollouts.get(id);
    if (!entry || entry.operation !== 'PUT') return undefined;
    return { state: decode(rolloutStateSchema, entry.value, `rollout ${id}`), revision: entry.revision };
  }

  async create(state: RolloutState): Promise<number> {
    return this.client.connection.rollouts.create(state.id, encode(state));
  }

  /** undefined when someone else changed the rollout since `revision` (pause, abort, another driver). */
  async update(state: RolloutState, revision: number): Promise<number | undefined> {
    try {
      return await this.client.connection.rollouts.update(state.id, encode(state), revision);
    } catch {
      return undefined;
    }
  }

  async list(): Promise<RolloutState[]> {
    const states: RolloutState[] = [];
    for (const key of await keysWithin(this.client.connection, 'rollouts')) {
      const found = await this.get(key).catch(() => undefined);
      if (found) states.push(found.state);
    }
    return states.sort((a, b) => compareStrings(a.createdAt, b.createdAt));
  }

  /**
   * The rollout's state at each change, from a KV watch of its key (the current state first), until
   * it finishes, pauses or is deleted, or `signal` aborts. A re-read every FALLBACK_READ_MS stands in
   * for a watch whose consumer ended with a NATS node; a state may come twice.
   */
  async *follow(id: string, signal?: AbortSignal): AsyncGenerator<RolloutState> {
    const watch = await this.client.connection.rollouts.watch({ key: id });
    const entries = watch[Symbol.asyncIterator]();
    let pending = entries.next();
    try {
      while (!signal?.aborted) {
        const quiet = new AbortController();
        const timeout = sleep(FALLBACK_READ_MS, AbortSignal.any([quiet.signal, ...(signal ? [signal] : [])])).then(() => 'quiet' as const);
        const next = await Promise.race([pending, timeout]);
        quiet.abort();
        if (signal?.aborted) return;
        let state: RolloutState | undefined;
        if (next === 'quiet' || next.done === true) {
          if (next !== 'quiet') pending = new Promise(() => undefined); // The watch ended: re-reads alone from here.
          state = (await this.get(id))?.state;
        } else {
          pending = entries.next();
          state = next.value.operation === 'PUT' ? decode(rolloutStateSchema, next.value.value, `rollout ${id}`) : undefined;
        }
        if (state === undefined) return;
        yield state;
        if (FINISHED_STATUSES.includes(state.status) || state.status === 'paused') return;
      }
    } finally {
      watch.stop();
    }
  }

  /** Sets a new status with compare-and-set, retrying on a concurrent change. */
  async setStatus(id: string, change: (state: RolloutState) => RolloutState): Promise<RolloutState> {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const found = await this.get(id);
      if (!found) throw new HostwrightError(`no rollout ${id} (see \`hostwright rollout list\`)`);
      const next = change(found.state);
      if ((await this.update(next, found.revision)) !== undefined) return next;
    }
    throw new HostwrightError(`rollout ${id} keeps changing; try again`);
  }
}

export interface DriveOptions {
  /** The longest between two steps without a change of a status or heartbeat: gates on time (min healthy, deadlines) move on within it. */
  readonly pollMs: number;
  readonly signal?: AbortSignal;
  readonly onStep?: (state: RolloutState, previous: RolloutState) => void;
  /** The hosts' status reports each step read (what a follower shows of the pulls in flight). */
  readonly onReports?: (reports: readonly HostReport<StatusReport>[]) => void;
  /** NATS did not answer a step (a cluster electing leaders after a node died): it is tried again. */
  readonly onUnanswered?: (error: unknown) => void;
}

/** How long steps may go unanswered in a row before the driver gives up (the rollout stays in KV; `rollout resume` goes on). */
export const UNANSWERED_GIVE_UP_MS = 120_000;

/**
 * Drives a stored rollout until it finishes or pauses: observe, step, write, save. Every step is
 * saved before the next, so a coordinator killed at any point resumes from KV. A step NATS does
 * not answer is tried again after a pause: it starts from the state in KV, and its writes are
 * idempotent by content.
 */
export async function driveRollout(client: FleetClient, store: RolloutStore, id: string, options: DriveOptions): Promise<RolloutState> {
  let unansweredSince: number | undefined;
  // Steps are woken by the hosts' status and heartbeat changes (KV watches), not by re-reading every host each step.
  let watch: FleetReportWatch | undefined;
  try {
    for (;;) {
      let state: RolloutState;
      try {
        watch ??= await FleetReportWatch.open(client);
        state = await driveOneStep(client, store, id, watch, options);
        unansweredSince = undefined;
      } catch (error) {
        if (!isUnanswered(error)) throw error;
        unansweredSince ??= Date.now();
        if (Date.now() - unansweredSince > UNANSWERED_GIVE_UP_MS) throw new HostwrightError(`NATS has not answered the rollout for ${Math.round(UNANSWERED_GIVE_UP_MS / 1000)} s (${errorMessage(error)}); \`hostwright rollout resume ${id}\` goes on from where it stopped`, { cause: error });
        options.onUnanswered?.(error);
        await sleep(options.pollMs * 2, options.signal);
        continue;
      }
      if (isDone(state, options.signal)) return state;
      await watch.next(options.pollMs, options.signal);
    }
  } finally {
    watch?.stop();
  }
}

/** The driver stops here: the rollout finished or is paused, or the operator interrupted it. */
function isDone(state: RolloutState, signal: AbortSignal | undefined): boolean {
  return FINISHED_STATUSES.includes(state.status) || state.status === 'paused' || signal?.aborted === true;
}

/** One observe-step-write-save round; returns the rollout's state after it. */
async function driveOneStep(client: FleetClient, store: RolloutStore, id: string, watch: FleetReportWatch, options: DriveOptions): Promise<RolloutState> {
  const found = await store.get(id);
  if (!found) throw new HostwrightError(`no rollout ${id}`);
  const { state, revision } = found;
  if (isDone(state, options.signal)) return state;
  options.onReports?.(watch.statusReports());
  const observe = (hostId: string): HostObservation => {
    const reported = watch.statusOf(hostId);
    return { report: reported?.value, refusedReport: reported?.trust.verdict === 'refused' ? reported.trust.reason : undefined, heartbeat: watch.heartbeatOf(hostId) };
  };
  const step = advanceRollout(state, observe, new Date());
  let next = step.state;
  for (const write of step.writes) {
    const writtenRevision = await writeIdempotently(client, write.document, state.correlationID);
    next = { ...next, hosts: next.hosts.map((host) => (host.hostId === write.hostId ? { ...host, writtenRevision } : host)) };
  }
  if ((await store.update(next, revision)) === undefined) return state;
  options.onStep?.(next, state);
  return next;
}

/** Writes a document unless the host already has exactly this content; returns the revision the host must reach. */
export async function writeIdempotently(client: FleetClient, document: HostDesired, correlationID: string): Promise<number> {
  const current = (await client.desiredOf(document.project)).get(document.hostId);
  const written = asWrittenOver(current?.document, document);
  if (!written.changed) return written.document.revision;
  await client.writeDesired({ ...written.document, correlationID }, current?.kvRevision ?? 0);
  return written.document.revision;
}
