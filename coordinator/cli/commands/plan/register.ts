import type { Command } from 'commander';
import { collect, modeOf, withLocalOptions, withWorkloadOptions } from '../../options.js';
import type { PlanOptions } from './options.js';

// Registration only: each mode's implementation is imported when the command runs.
export function registerPlan(program: Command): void {
  withWorkloadOptions(withLocalOptions(program.command('plan'), 'coordinator', { hostId: true, labels: true, imageCleanup: true }), 'what to plan', true)
    .description('show the diff and the ordered actions an apply would run (per host); changes nothing')
    .option('--allow-empty', 'local mode: plan as if removing every instance of the project were allowed')
    .option('--prune-volumes', 'plan as `apply --prune-volumes` would: with the removal of the project\'s unused volumes')
    .option('--json', 'print JSON (local: hostwright.plan/v1; fleet: hostwright.fleetplan/v1)')
    .option('--out <plan.json>', 'fleet mode: save the plan for `hostwright apply plan.json`')
    .option('--timeout <duration>', 'fleet mode: how long to wait for each host\'s answer', '5s')
    .option('--allow-unregistered <host>', 'fleet mode: a host the placement names that no agent has registered as yet: plan its desired state all the same (repeatable, or comma-separated)', collect, [])
    .option('--detailed-exitcode', 'exit 0 when there are no changes, 2 when there are, 1 on error')
    .action(async (options: PlanOptions) => {
      const mode = modeOf(options, 'plan');
      if (mode.kind === 'local') {
        const { planLocal } = await import('./plan-local.js');
        return planLocal(options);
      }
      const { planFleet } = await import('./plan-fleet.js');
      await planFleet(mode, options);
    });
}
