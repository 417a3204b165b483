import type { Command } from 'commander';
import { loadFleetFile } from '../../fleet-file.js';
import { EXIT } from '../exit-codes.js';
import { desiredFromFleet, openLocalHost, requireLocal, type LocalOptions } from '../local-host.js';
import { withLocalOptions } from '../options.js';
import { planJson, renderPlan } from '../render/plan-view.js';

interface PlanOptions extends LocalOptions {
  readonly file: string;
  readonly json?: boolean;
  readonly detailedExitcode?: boolean;
  readonly allowEmpty?: boolean;
}

export function registerPlan(program: Command): void {
  withLocalOptions(program.command('plan'))
    .description('show the diff and the ordered actions an apply would run; changes nothing')
    .requiredOption('-f, --file <fleet.yaml>', 'the fleet file')
    .option('--allow-empty', 'plan as if removing every instance of the project were allowed')
    .option('--json', 'print the plan as JSON (schema hostwright.plan/v1)')
    .option('--detailed-exitcode', 'exit 0 when there are no changes, 2 when there are, 1 on error')
    .action(async (options: PlanOptions) => {
      requireLocal(options, 'plan');
      const fleet = await loadFleetFile(options.file);
      const host = await openLocalHost(options);
      try {
        const { document } = await desiredFromFleet(host, fleet, options);
        const report = await host.reconciler.runCycle({ dryRun: true, explicit: true, candidate: [document] });
        process.stdout.write(options.json ? `${JSON.stringify(planJson(report), null, 2)}\n` : `${renderPlan(report)}\n`);
        if (options.detailedExitcode && report.plan.actions.length > 0) process.exitCode = EXIT.changes;
      } finally {
        await host.close();
      }
    });
}
