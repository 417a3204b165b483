import type { Command } from 'commander';
import { planReport } from '../../../agent/plan-report.js';
import { loadFleetFile } from '../../fleet-file.js';
import { EXIT } from '../exit-codes.js';
import { collectPlans, renderFleetPlan, savedPlan, writeSavedPlan } from '../fleet/fleet-plan.js';
import { targetsFor, withFleet } from '../fleet/fleet-session.js';
import { desiredFromFleet, openLocalHost, type LocalOptions } from '../local-host.js';
import { modeOf, withLocalOptions } from '../options.js';
import { parseTimeout } from '../parse.js';
import { renderPlan } from '../render/plan-view.js';

interface PlanOptions extends LocalOptions {
  readonly file: string;
  readonly nats?: string;
  readonly json?: boolean;
  readonly detailedExitcode?: boolean;
  readonly allowEmpty?: boolean;
  readonly out?: string;
  readonly timeout: string;
}

export function registerPlan(program: Command): void {
  withLocalOptions(program.command('plan'))
    .description('show the diff and the ordered actions an apply would run (per host); changes nothing')
    .requiredOption('-f, --file <fleet.yaml>', 'the fleet file')
    .option('--allow-empty', 'local mode: plan as if removing every instance of the project were allowed')
    .option('--json', 'print JSON (local: hostwright.plan/v1; fleet: hostwright.fleetplan/v1)')
    .option('--out <plan.json>', 'fleet mode: save the plan for `hostwright apply plan.json`')
    .option('--timeout <duration>', 'fleet mode: how long to wait for each host\'s answer', '5s')
    .option('--detailed-exitcode', 'exit 0 when there are no changes, 2 when there are, 1 on error')
    .action(async (options: PlanOptions) => {
      const mode = modeOf(options, 'plan');
      if (mode.kind === 'local') return planLocal(options);
      const timeoutMs = parseTimeout(options.timeout, '--timeout');
      await withFleet(mode, async (client) => {
        const correlationID = client.newCorrelationID();
        const { project, targets } = await targetsFor(client, options.file, correlationID);
        const plans = await collectPlans(client, targets, correlationID, timeoutMs);
        const saved = savedPlan(project, correlationID, plans);
        if (options.out) await writeSavedPlan(options.out, saved);
        process.stdout.write(options.json ? `${JSON.stringify(saved, null, 2)}\n` : `${renderFleetPlan(project, plans)}\n${options.out ? `Saved to ${options.out}: apply it with \`hostwright apply ${options.out}\`.\n` : ''}`);
        if (plans.some((p) => p.error)) process.exitCode = EXIT.error;
        else if (options.detailedExitcode && plans.some((p) => p.plan?.changes || p.target.changed)) process.exitCode = EXIT.changes;
      });
    });
}

async function planLocal(options: PlanOptions): Promise<void> {
  const fleet = await loadFleetFile(options.file);
  const host = await openLocalHost(options);
  try {
    const { document } = await desiredFromFleet(host, fleet, options);
    const report = await host.reconciler.runCycle({ dryRun: true, explicit: true, candidate: [document] });
    process.stdout.write(options.json ? `${JSON.stringify(planReport(report), null, 2)}\n` : `${renderPlan(planReport(report))}\n`);
    if (options.detailedExitcode && report.plan.actions.length > 0) process.exitCode = EXIT.changes;
  } finally {
    await host.close();
  }
}
