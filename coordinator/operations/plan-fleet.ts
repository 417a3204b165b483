import type { FleetFile } from '../../shared/fleet-spec.js';
import type { SavedPlan } from '../../shared/fleet-plan-json.js';
import type { CordonSkip } from '../cordon.js';
import type { FleetClient } from '../fleet-client.js';
import { actingHosts, readPhases } from '../fleet-moves.js';
import { collectPlans, savedPlan, type HostPlan } from '../fleet-plan.js';
import { targetsFor } from '../fleet-session.js';
import { moveOrderJson, type MovePhases } from '../move-phases.js';

export interface PlanFleetInput {
  readonly fleet: FleetFile;
  /** How long each host has to answer its plan request. */
  readonly timeoutMs: number;
  readonly pruneVolumes?: boolean;
  /** Hosts no agent registered as that the placement may name (--allow-unregistered). */
  readonly allowUnregistered?: readonly string[];
}

export interface FleetPlanResult {
  readonly project: string;
  readonly correlationID: string;
  readonly plans: readonly HostPlan[];
  /** The order apply writes in: a move's giving hosts after its receiving ones run it healthy. */
  readonly phases: MovePhases;
  /** The hosts an apply of this plan writes. */
  readonly acting: ReadonlySet<string>;
  readonly cordonSkips: readonly CordonSkip[];
  /** The plan as `plan --json` prints it and `plan --out` saves it (shared/fleet-plan-json.ts). */
  readonly saved: SavedPlan;
  /** `unanswered`: a host did not answer; `blocked`: a gate would stop a host; `changes` or `clean` otherwise. */
  readonly outcome: 'unanswered' | 'blocked' | 'changes' | 'clean';
}

/** `plan` in fleet mode: every host plans its own candidate document and answers over NATS; nothing is written. */
export async function planFleet(client: FleetClient, input: PlanFleetInput): Promise<FleetPlanResult> {
  const correlationID = client.newCorrelationID();
  const { project, targets, cordonSkips } = await targetsFor(client, input.fleet, correlationID, { pruneVolumes: input.pruneVolumes === true, allowUnregistered: input.allowUnregistered ?? [] });
  const plans = await collectPlans(client, targets, correlationID, input.timeoutMs);
  const phases = await readPhases(client, project, plans);
  const acting = actingHosts(plans);
  const saved: SavedPlan = {
    ...savedPlan(project, correlationID, plans),
    ...(phases.moves.length > 0 ? { phases: moveOrderJson(phases, acting) } : {}),
    ...(cordonSkips.length > 0 ? { cordoned: cordonSkips.map((skip) => ({ hostId: skip.hostId, ...(skip.reason === undefined ? {} : { reason: skip.reason }), services: [...skip.services] })) } : {}),
  };
  // What apply would stop at: a gate is never a clean plan.
  const outcome = plans.some((p) => p.error) ? 'unanswered' : plans.some((p) => (p.plan?.blocked.length ?? 0) > 0) ? 'blocked' : plans.some((p) => p.plan?.changes || p.target.changed) ? 'changes' : 'clean';
  return { project, correlationID, plans, phases, acting, cordonSkips, saved, outcome };
}
