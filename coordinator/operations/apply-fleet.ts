import type { FleetFile } from '../../shared/fleet-spec.js';
import type { FleetApplyJson } from '../../shared/fleet-apply-json.js';
import type { SavedPlan } from '../../shared/fleet-plan-json.js';
import { HostwrightError, InvalidInputError } from '../../shared/errors.js';
import type { GateBlock, PullInFlight } from '../../shared/host-status.js';
import { unmaskServices } from '../../shared/secret-env.js';
import type { FleetClient } from '../fleet-client.js';
import { stalePlanReasons, type HostProgress } from '../fleet-apply.js';
import { actingHosts, readPhases, writeFleetChange, type MoveProgress } from '../fleet-moves.js';
import { collectPlans, type HostPlan } from '../fleet-plan.js';
import { targetsFor } from '../fleet-session.js';
import { waitForHosts } from '../fleet-wait.js';
import { moveOrderJson } from '../move-phases.js';

/** What to apply: a fleet file, or exactly a plan saved with `plan --out` (refused if any host moved since). */
export type ApplySource =
  | { readonly kind: 'fleet'; readonly fleet: FleetFile; readonly pruneVolumes?: boolean; readonly allowUnregistered?: readonly string[] }
  | { readonly kind: 'saved'; readonly plan: SavedPlan };

export interface ApplyFleetInput {
  readonly source: ApplySource;
  /** How long hosts have to answer (at most 5 s of it), a move's receiving hosts to take over, and, with `wait`, every host to converge. */
  readonly timeoutMs: number;
  /** Wait until every host written converged, failed or was blocked. */
  readonly wait: boolean;
  readonly signal?: AbortSignal;
}

/** What an apply tells as it goes, in order (rendered by cli/render/apply-view.ts applyProgressLine). */
export type ApplyProgress =
  | { readonly type: 'unanswered'; readonly hostId: string; readonly error: string }
  | { readonly type: 'would-block'; readonly hostId: string; readonly blocked: readonly GateBlock[] }
  | MoveProgress
  | { readonly type: 'not-registered'; readonly hostId: string; readonly revision: number }
  | { readonly type: 'host'; readonly hostId: string; readonly state: HostProgress; readonly detail: string }
  | { readonly type: 'pulls'; readonly hostId: string; readonly pulls: readonly PullInFlight[] | undefined };

/** An apply's result: its JSON document (shared/fleet-apply-json.ts) and how it ended. */
export interface FleetApplyResult {
  readonly json: FleetApplyJson;
  /** `ok`: written (and, with wait, converged everywhere); `blocked`: a safety gate stopped a host and nothing else failed; `failed`: anything else. */
  readonly outcome: 'ok' | 'blocked' | 'failed';
  /** The hosts waited for, in the order they first reported (empty without wait). */
  readonly waited: readonly { readonly hostId: string; readonly state: HostProgress }[];
}

/** A saved plan no longer holds: nothing was applied. */
export class StalePlanError extends HostwrightError {
  override readonly name = 'StalePlanError';

  constructor(readonly reasons: readonly string[]) {
    super(`the saved plan is stale; nothing was applied: ${reasons.join('; ')}`);
  }
}

/**
 * `apply` in fleet mode: plans every host, writes each host's desired state (a move make-before-break),
 * and, with `wait`, follows every written host until it converged, failed or was blocked.
 */
export async function applyFleet(client: FleetClient, input: ApplyFleetInput, onProgress: (progress: ApplyProgress) => void = () => {}): Promise<FleetApplyResult> {
  client.requireSigner('apply');
  const { timeoutMs } = input;
  const { project, correlationID, plans } = await plansOf(client, input.source, Math.min(timeoutMs, 5_000));
  for (const { target, plan, error } of plans) {
    if (error) onProgress({ type: 'unanswered', hostId: target.hostId, error });
    else if (plan && plan.blocked.length > 0) onProgress({ type: 'would-block', hostId: target.hostId, blocked: plan.blocked });
  }
  // A move is written make-before-break: the giving hosts only once the receiving ones run it healthy.
  const phases = await readPhases(client, project, plans);
  const moves = phases.moves.length > 0 ? { phases: moveOrderJson(phases, actingHosts(plans)) } : {};
  const { written, held, blocked } = await writeFleetChange(client, project, plans, phases, { timeoutMs, correlationID, onProgress });
  // Nobody applies a document of a host no agent registered as yet: it is not waited for.
  const unregistered = new Set(plans.filter(({ target }) => target.unregistered).map(({ target }) => target.hostId));
  for (const host of written) if (unregistered.has(host.hostId)) onProgress({ type: 'not-registered', hostId: host.hostId, revision: host.document.revision });
  const revisionOf = new Map(written.map((host) => [host.hostId, host.document.revision]));
  const json = (hosts: FleetApplyJson['hosts']): FleetApplyJson => ({ schema: 'hostwright.fleetapply/v2', correlationID, project, written: written.map((w) => ({ hostId: w.hostId, revision: w.document.revision })), held: [...held], hosts, ...moves });
  const notRegistered = written.filter((host) => unregistered.has(host.hostId)).map((host) => ({ hostId: host.hostId, revision: host.document.revision, state: 'not-registered' as const }));
  const awaited = written.filter((host) => !unregistered.has(host.hostId));
  if (held.length > 0 || !input.wait || awaited.length === 0) {
    const hosts = [...awaited.map((host) => ({ hostId: host.hostId, revision: host.document.revision, state: 'written' as const })), ...notRegistered];
    return { json: json(hosts), outcome: held.length === 0 ? 'ok' : blocked ? 'blocked' : 'failed', waited: [] };
  }
  const final = await waitForHosts(client, awaited, timeoutMs, (hostId, state, detail) => onProgress({ type: 'host', hostId, state, detail }), (hostId, status) => onProgress({ type: 'pulls', hostId, pulls: status?.status.pulls }), input.signal);
  const waited = [...final].map(([hostId, state]) => ({ hostId, state }));
  const states = waited.map((host) => host.state);
  const outcome = states.every((state) => state === 'converged') ? 'ok' : states.some((state) => state === 'blocked') && states.every((state) => state === 'converged' || state === 'blocked') ? 'blocked' : 'failed';
  return { json: json([...waited.map((host) => ({ ...host, revision: revisionOf.get(host.hostId) ?? 0 })), ...notRegistered]), outcome, waited };
}

/** The plans to write: a saved plan as it was saved (with the secret values the current desired state holds), or fresh ones. */
async function plansOf(client: FleetClient, source: ApplySource, answerMs: number): Promise<{ project: string; correlationID: string; plans: HostPlan[] }> {
  if (source.kind === 'fleet') {
    const correlationID = client.newCorrelationID();
    const resolved = await targetsFor(client, source.fleet, correlationID, { pruneVolumes: source.pruneVolumes === true, allowUnregistered: source.allowUnregistered ?? [] });
    return { project: resolved.project, correlationID, plans: await collectPlans(client, resolved.targets, correlationID, answerMs) };
  }
  const saved = source.plan;
  const stale = await stalePlanReasons(client, saved, answerMs);
  if (stale.length > 0) throw new StalePlanError(stale);
  const current = await client.desiredOf(saved.project);
  const plans = saved.hosts.map((host): HostPlan => {
    const { document, missing } = unmaskServices(host.document, current.get(host.hostId)?.document);
    if (missing.length > 0) throw new InvalidInputError(`${host.hostId}: the saved plan holds ${missing.join(', ')} only as a digest (plan files never store secret values) and the current desired state has no such value; apply the fleet file itself: \`hostwright apply -f fleet.yaml\``);
    return { target: { hostId: host.hostId, document, kvRevision: host.kvRevision, changed: host.changed, ...(host.unregistered ? { unregistered: true as const } : {}) }, plan: host.plan, error: host.error };
  });
  return { project: saved.project, correlationID: saved.correlationID, plans };
}
