import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { hostDesiredSchema } from '../../../shared/host-desired.js';
import { dependencyConditionSchema } from '../../../shared/depends-on.js';
import { projectWiring, wiringLines } from '../../wiring.js';
import { maskServices } from '../../../shared/secret-env.js';
import { planReportSchema, type PlanReport } from '../../../shared/plan-report.js';
import { updateOrderExceptions } from '../../../shared/update-order.js';
import { renderPlan } from '../render/plan-view.js';
import { printable } from '../render/printable.js';
import { notRegisteredLine } from '../render/apply-view.js';
import type { FleetClient } from '../../fleet-client.js';
import type { HostTarget } from '../../fleet-targets.js';

/** A saved fleet plan: exactly what `apply plan.json` writes, and what it must still find to do so. */
export const savedPlanSchema = z.object({
  schema: z.literal('hostwright.fleetplan/v1'),
  createdAt: z.string(),
  correlationID: z.string(),
  project: z.string(),
  /** Services asked to update start-first that run stop-first (a fixed host port); absent in plans saved before it. */
  updateOrder: z.array(z.object({ project: z.string(), service: z.string(), requested: z.literal('start-first'), runs: z.literal('stop-first'), hostPort: z.number().int(), message: z.string() })).optional(),
  hosts: z.array(
    z.object({
      hostId: z.string(),
      document: hostDesiredSchema,
      /** The desired key's KV revision when planned (0: absent). */
      kvRevision: z.number().int(),
      changed: z.boolean(),
      /** No agent had registered as the host (written with --allow-unregistered): it was not asked. */
      unregistered: z.literal(true).optional(),
      /** undefined when the host did not answer. */
      plan: planReportSchema.optional(),
      error: z.string().optional(),
    }),
  ),
  /** A change that moves services: the make-before-break write order `apply` follows (docs/rollout.md, "Moves"). */
  phases: z.object({ moves: z.array(z.object({ service: z.string(), from: z.array(z.string()), to: z.array(z.string()) })), phase1: z.array(z.string()), phase2: z.array(z.string()) }).optional(),
  /** Cordoned hosts a selector matched, and the services left out there (coordinator/cordon.ts). */
  cordoned: z.array(z.object({ hostId: z.string(), reason: z.string().optional(), services: z.array(z.string()) })).optional(),
  /** The project's depends_on edges with the hosts of both ends (coordinator/wiring.ts); absent without depends_on. */
  wiring: z.array(z.object({ project: z.string(), from: z.string(), fromHosts: z.array(z.string()), to: z.string(), toHosts: z.array(z.string()), via: z.literal('depends_on'), condition: dependencyConditionSchema, required: z.boolean(), reach: z.enum(['same-host', 'across-hosts', 'nowhere']) })).optional(),
});
export type SavedPlan = z.infer<typeof savedPlanSchema>;

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

export function renderFleetPlan(project: string, plans: readonly HostPlan[]): string {
  if (plans.length === 0) return `Project ${printable(project)}: no host is placed (no registered host matches; see \`hostwright hosts\`).`;
  const sections = plans.map(({ target, plan, error }) => {
    const revision = target.changed ? `desired r${target.document.revision} (new)` : `desired r${target.document.revision} (unchanged)`;
    const header = `=== ${printable(target.hostId)} · ${revision}`;
    if (target.unregistered) return `${header}\n${notRegisteredLine(target.hostId, target.document.revision)}`;
    return error ? `${header}\n${printable(target.hostId)}: ${printable(error)}` : `${header}\n${renderPlan(plan as PlanReport)}`;
  });
  const changing = plans.filter((p) => p.plan?.changes).length;
  const silent = plans.filter((p) => p.error).length;
  const orders = updateOrderExceptions(plans.map(({ target }) => target.document)).map((exception) => `Update order: ${printable(exception.message)} (start-first cannot bind it twice)`);
  const unregistered = plans.filter((p) => p.target.unregistered).length;
  const edges = projectWiring(plans.map(({ target }) => target.document));
  // Only worth a section when a wait crosses hosts or has nothing to wait for.
  const wiring = edges.some((edge) => edge.reach !== 'same-host') ? [`Wiring (depends_on):\n${wiringLines(edges, printable).map((line) => `  ${line}`).join('\n')}`] : [];
  return `${[...sections, ...(orders.length > 0 ? [orders.join('\n')] : []), ...wiring].join('\n\n')}\n\nFleet: ${plans.length} host(s), ${changing} with changes${silent ? `, ${silent} did not answer` : ''}${unregistered ? `, ${unregistered} NOT REGISTERED` : ''}.`;
}
