import { writeFile } from 'node:fs/promises';
import { projectWiring } from './wiring.js';
import { maskServices } from '../shared/secret-env.js';
import type { PlanReport } from '../shared/plan-report.js';
import type { SavedPlan } from '../shared/fleet-plan-json.js';
import { updateOrderExceptions } from '../shared/update-order.js';
import type { FleetClient } from './fleet-client.js';
import type { HostTarget } from './fleet-targets.js';

export interface HostPlan {
  readonly target: HostTarget;
  readonly plan: PlanReport | undefined;
  readonly error: string | undefined;
}

/** Asks every target host for a dry-run plan of its candidate document, in parallel; a host no agent registered as is not asked. */
export async function collectPlans(client: FleetClient, targets: readonly HostTarget[], correlationID: string, timeoutMs: number): Promise<HostPlan[]> {
  return Promise.all(
    targets.map(async (target): Promise<HostPlan> => {
      if (target.unregistered) return { target, plan: undefined, error: undefined };
      const reply = await client.requestPlan(target.document, correlationID, timeoutMs);
      if (!reply) return { target, plan: undefined, error: `no answer within ${timeoutMs} ms (is its agent running?)` };
      return reply.ok ? { target, plan: reply.plan, error: undefined } : { target, plan: undefined, error: reply.error };
    }),
  );
}

export function savedPlan(project: string, correlationID: string, plans: readonly HostPlan[]): SavedPlan {
  const wiring = projectWiring(plans.map(({ target }) => target.document));
  return {
    schema: 'hostwright.fleetplan/v1',
    createdAt: new Date().toISOString(),
    correlationID,
    project,
    updateOrder: updateOrderExceptions(plans.map(({ target }) => target.document)),
    // A plan file never holds a secret value: `apply plan.json` takes them from the current desired state.
    hosts: plans.map(({ target, plan, error }) => ({ hostId: target.hostId, document: maskServices(target.document), kvRevision: target.kvRevision, changed: target.changed, ...(target.unregistered ? { unregistered: true as const } : {}), ...(plan ? { plan } : {}), ...(error ? { error } : {}) })),
    ...(wiring.length > 0 ? { wiring } : {}),
  };
}

export async function writeSavedPlan(path: string, plan: SavedPlan): Promise<void> {
  await writeFile(path, `${JSON.stringify(plan, null, 2)}\n`);
}
