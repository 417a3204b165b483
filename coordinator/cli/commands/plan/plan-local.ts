import { planReport } from '../../../../agent/plan-report.js';
import { EXIT } from '../../exit-codes.js';
import { desiredFromFleet, openLocalHost } from '../../local-host.js';
import { renderPlan } from '../../render/plan-view.js';
import { usePrivateUmask } from '../../private-umask.js';
import type { PlanOptions } from './options.js';
import { readWorkload } from '../../workload.js';
import { printableJson } from '../../render/printable.js';

/** `plan --local`: a dry-run cycle of this machine against the fleet file. */
export async function planLocal(options: PlanOptions): Promise<void> {
  // Opens the journal: what LevelDB creates later is 0600 too (process-wide, so set here and not in Journal).
  usePrivateUmask();
  const { fleet } = await readWorkload(options);
  const host = await openLocalHost(options);
  try {
    const { document } = await desiredFromFleet(host, fleet, options);
    const report = await host.reconciler.runCycle({ dryRun: true, explicit: true, candidate: [document] });
    process.stdout.write(options.json ? `${printableJson(planReport(report), 2)}\n` : `${renderPlan(planReport(report))}\n`);
    if (report.blocks.length > 0) process.exitCode = EXIT.blocked;
    else if (options.detailedExitcode && report.plan.actions.length > 0) process.exitCode = EXIT.changes;
  } finally {
    await host.close();
  }
}
