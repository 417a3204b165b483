import type { Command } from 'commander';
import { modeOf, withLocalOptions, withWorkloadOptions } from '../../options.js';
import type { StatusOptions } from './options.js';

// Registration only: each mode's implementation is imported when the command runs.
export function registerStatus(program: Command): void {
  withWorkloadOptions(withLocalOptions(program.command('status'), 'coordinator', { hostId: true, labels: true }), 'local mode: compare against this instead of the stored desired state')
    .description('per host and instance: converged?, revisions, state, health, drift, last seen')
    .option('--host <id>', 'fleet mode: only this host')
    .option('--watch', 'fleet mode: keep printing as hosts report changes (Ctrl-C stops)')
    .option('--json', 'print JSON (local: hostwright.status/v1; fleet: hostwright.fleetstatus/v1; with --watch one object per line)')
    .action(async (options: StatusOptions) => {
      const mode = modeOf(options, 'status');
      if (mode.kind === 'local') {
        const { statusLocal } = await import('./status-local.js');
        return statusLocal(options);
      }
      const { statusOfFleet } = await import('./status-fleet.js');
      await statusOfFleet(mode, options);
    });
}
