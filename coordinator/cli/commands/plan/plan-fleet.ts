import { EXIT } from '../../exit-codes.js';
import { collectPlans, renderFleetPlan, savedPlan, writeSavedPlan } from '../../fleet/fleet-plan.js';
import { targetsFor, withFleet } from '../../fleet/fleet-session.js';
import { allowedUnregistered } from '../../../known-hosts.js';
import type { FleetTarget } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { readWorkload } from '../../workload.js';
import type { PlanOptions } from './options.js';
import { printableJson } from '../../render/printable.js';
import { actingHosts, readPhases } from '../../fleet/fleet-moves.js';
import { moveOrderJson, renderMoveOrder } from '../../render/move-view.js';
import { renderCordonSkips } from '../../render/cordon-view.js';

/** `plan` in fleet mode: every host plans its own desired document and answers over NATS. */
export async function planFleet(target: FleetTarget, options: PlanOptions): Promise<void> {
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  await withFleet(target, async (client) => {
    const correlationID = client.newCorrelationID();
    const { project, targets, cordonSkips } = await targetsFor(client, (await readWorkload(options)).fleet, correlationID, { pruneVolumes: options.pruneVolumes === true, allowUnregistered: allowedUnregistered(options.allowUnregistered) });
    const plans = await collectPlans(client, targets, correlationID, timeoutMs);
    // The order apply writes in: a move's giving hosts after its receiving ones run it healthy.
    const phases = await readPhases(client, project, plans);
    const order = renderMoveOrder(phases, actingHosts(plans));
    const cordoned = renderCordonSkips(cordonSkips);
    const saved = { ...savedPlan(project, correlationID, plans), ...(phases.moves.length > 0 ? { phases: moveOrderJson(phases, actingHosts(plans)) } : {}), ...(cordonSkips.length > 0 ? { cordoned: cordonSkips.map((skip) => ({ hostId: skip.hostId, ...(skip.reason === undefined ? {} : { reason: skip.reason }), services: [...skip.services] })) } : {}) };
    if (options.out) await writeSavedPlan(options.out, saved);
    process.stdout.write(options.json ? `${printableJson(saved, 2)}\n` : `${renderFleetPlan(project, plans)}\n${cordoned === '' ? '' : `${cordoned}\n`}${order === '' ? '' : `${order}\n`}${options.out ? `Saved to ${options.out}: apply it with \`hostwright apply ${options.out}\`.\n` : ''}`);
    if (plans.some((p) => p.error)) process.exitCode = EXIT.error;
    // What apply would stop at: a gate is never a clean plan.
    else if (plans.some((p) => (p.plan?.blocked.length ?? 0) > 0)) process.exitCode = EXIT.blocked;
    else if (options.detailedExitcode && plans.some((p) => p.plan?.changes || p.target.changed)) process.exitCode = EXIT.changes;
  });
}
