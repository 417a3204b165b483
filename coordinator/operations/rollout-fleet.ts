import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '../../shared/errors.js';
import type { FleetFile } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import type { PullInFlight } from '../../shared/host-status.js';
import { updateOrderExceptions, type UpdateOrderException } from '../../shared/update-order.js';
import type { FleetClient } from '../fleet-client.js';
import { phasesOf } from '../fleet-moves.js';
import { allPulled, prePullFleet, type HostPullOutcome } from '../fleet-pull.js';
import { targetsFor } from '../fleet-session.js';
import { rolloutMoveOrder } from '../move-phases.js';
import { driveRollout, RolloutStore } from '../rollout/rollout-driver.js';
import { FINISHED_STATUSES, type RolloutOptions, type RolloutState } from '../rollout/rollout-state.js';
import { startRollout } from '../rollout/rollout-step.js';

/** How often a rollout is stepped at the latest without a change of a host's status or heartbeat (its gates run on time too). */
export const ROLLOUT_STEP_MS = 500;

export interface StartRolloutInput {
  readonly fleet: FleetFile;
  /** The rollout's options, with `maxFailures` as a count (2) or a ratio of the changed hosts (0.25). */
  readonly options: Omit<RolloutOptions, 'maxFailures'> & { readonly maxFailures: string };
  readonly allowUnregistered?: readonly string[];
  /** Every host of the rollout pulls its images before the first one switches, within `timeoutMs`. */
  readonly prePull?: { readonly timeoutMs: number };
  /** Store the rollout and stop: `rollout status` follows it, `rollout resume` drives it. */
  readonly detach?: boolean;
  readonly signal?: AbortSignal;
}

/** What a rollout tells as it goes (rendered by cli/render/rollout-view.ts). */
export type RolloutProgress =
  | { readonly type: 'update-order'; readonly rollout: string; readonly exception: UpdateOrderException }
  | { readonly type: 'pre-pull'; readonly rollout: string; readonly project: string; readonly hosts: number }
  | { readonly type: 'pulls'; readonly rollout: string; readonly hostId: string; readonly pulls: readonly PullInFlight[] | undefined }
  | { readonly type: 'pre-pulled'; readonly rollout: string; readonly outcomes: readonly HostPullOutcome[] }
  | { readonly type: 'started'; readonly state: RolloutState }
  | { readonly type: 'step'; readonly state: RolloutState; readonly previous: RolloutState }
  | { readonly type: 'unanswered'; readonly rollout: string; readonly error: unknown };

/** How a rollout run ended: its pre-pull failed (nothing stored or changed), it was stored and left (detach), or it was driven until it finished, paused or was interrupted. */
export type RolloutRunResult =
  | { readonly kind: 'pre-pull-failed'; readonly outcomes: readonly HostPullOutcome[] }
  | { readonly kind: 'detached'; readonly state: RolloutState }
  | { readonly kind: 'driven'; readonly state: RolloutState };

/** `rollout -f fleet.yaml`: stores a new rollout of the fleet file (a move's giving hosts in waves after its receiving ones) and drives it. */
export async function startFleetRollout(client: FleetClient, input: StartRolloutInput, onProgress: (progress: RolloutProgress) => void = () => {}): Promise<RolloutRunResult> {
  client.requireSigner('rollout');
  const store = new RolloutStore(client);
  const correlationID = randomUUID();
  const { project, targets } = await targetsFor(client, input.fleet, correlationID, { allowUnregistered: input.allowUnregistered ?? [] });
  const active = (await store.list()).find((r) => r.project === project && !FINISHED_STATUSES.includes(r.status));
  if (active) throw new InvalidInputError(`rollout ${active.id} of project ${project} is ${active.status}; \`hostwright rollout resume ${active.id}\` or \`hostwright rollout abort ${active.id}\` first`);
  const existing = await client.desiredOf(project);
  // A move goes make-before-break: its giving hosts in waves after its receiving ones (docs/rollout.md, "Moves").
  const phases = phasesOf(targets.map((target) => ({ target, plan: undefined, error: undefined })), existing, await client.statuses(), project);
  const after = rolloutMoveOrder(phases);
  const changed = targets.filter((t) => t.changed || phases.receiving.has(t.hostId));
  const { maxFailures: failures, ...options } = input.options;
  const maxFailures = failures.includes('.') ? Math.floor(Number(failures) * changed.length) : Number(failures);
  const state = startRollout({
    id: `${project}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomUUID().slice(0, 6)}`,
    project,
    correlationID,
    now: new Date(),
    options: { ...options, maxFailures },
    targets: changed.map((t) => ({ hostId: t.hostId, target: withOrder(t.document, options.order), previous: existing.get(t.hostId)?.document ?? null, ...(after.has(t.hostId) ? { after: after.get(t.hostId) } : {}) })),
  });
  // Before anything changes: a service asked to update start-first that will run stop-first.
  for (const exception of updateOrderExceptions(state.hosts.map((host) => host.target))) onProgress({ type: 'update-order', rollout: state.id, exception });
  if (input.prePull) {
    // As Kamal does: every host of the rollout has its images before the first one switches.
    onProgress({ type: 'pre-pull', rollout: state.id, project, hosts: changed.length });
    const outcomes = await prePullFleet(client, changed.map((t) => t.document), correlationID, input.prePull.timeoutMs, (hostId, pulls) => onProgress({ type: 'pulls', rollout: state.id, hostId, pulls }));
    if (!allPulled(outcomes)) return { kind: 'pre-pull-failed', outcomes };
    onProgress({ type: 'pre-pulled', rollout: state.id, outcomes });
  }
  await store.create(state);
  return followRollout(client, state, { ...(input.detach === undefined ? {} : { detach: input.detach }), ...(input.signal === undefined ? {} : { signal: input.signal }) }, onProgress);
}

/** Drives a stored rollout (started, or resumed) until it finishes, pauses, or `signal` aborts; with `detach`, only says it started. */
export async function followRollout(client: FleetClient, state: RolloutState, options: { readonly detach?: boolean; readonly signal?: AbortSignal }, onProgress: (progress: RolloutProgress) => void = () => {}): Promise<RolloutRunResult> {
  onProgress({ type: 'started', state });
  if (options.detach) return { kind: 'detached', state };
  const rolling = new Set(state.hosts.map((host) => host.hostId));
  const final = await driveRollout(client, new RolloutStore(client), state.id, {
    pollMs: ROLLOUT_STEP_MS,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onStep: (next, previous) => onProgress({ type: 'step', state: next, previous }),
    onReports: (reports) => {
      for (const report of reports) if (report.value && rolling.has(report.hostId)) onProgress({ type: 'pulls', rollout: state.id, hostId: report.hostId, pulls: report.value.status.pulls });
    },
    onUnanswered: (error) => onProgress({ type: 'unanswered', rollout: state.id, error }),
  });
  return { kind: 'driven', state: final };
}

function withOrder(document: HostDesired, order: RolloutOptions['order']): HostDesired {
  return order === 'start-first' ? { ...document, updateOrder: order } : document;
}
