import { EXIT } from '../../exit-codes.js';
import { writeSavedPlan } from '../../../fleet-plan.js';
import { withFleet } from '../../../fleet-session.js';
import { allowedUnregistered } from '../../../known-hosts.js';
import { planFleet as planOnFleet } from '../../../operations/plan-fleet.js';
import type { FleetTarget } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { readWorkload } from '../../workload.js';
import type { PlanOptions } from './options.js';
import { printableJson } from '../../render/printable.js';
import { renderFleetPlan } from '../../render/plan-view.js';
import { renderMoveOrder } from '../../render/move-view.js';
import { renderCordonSkips } from '../../render/cordon-view.js';

/** `plan` in fleet mode: parses the options, runs coordinator/operations/plan-fleet.ts, and prints the plan. */
export async function planFleet(target: FleetTarget, options: PlanOptions): Promise<void> {
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  await withFleet(target, async (client) => {
    const { fleet } = await readWorkload(options);
    const result = await planOnFleet(client, { fleet, timeoutMs, pruneVolumes: options.pruneVolumes === true, allowUnregistered: allowedUnregistered(options.allowUnregistered) });
    const order = renderMoveOrder(result.phases, result.acting);
    const cordoned = renderCordonSkips(result.cordonSkips);
    if (options.out) await writeSavedPlan(options.out, result.saved);
    process.stdout.write(options.json ? `${printableJson(result.saved, 2)}\n` : `${renderFleetPlan(result.project, result.plans)}\n${cordoned === '' ? '' : `${cordoned}\n`}${order === '' ? '' : `${order}\n`}${options.out ? `Saved to ${options.out}: apply it with \`hostwright apply ${options.out}\`.\n` : ''}`);
    if (result.outcome === 'unanswered') process.exitCode = EXIT.error;
    else if (result.outcome === 'blocked') process.exitCode = EXIT.blocked;
    else if (options.detailedExitcode && result.outcome === 'changes') process.exitCode = EXIT.changes;
  });
}
