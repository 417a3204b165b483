import type { Command } from 'commander';
import { withNatsOptions, withWorkloadOptions } from '../../options.js';
import type { PsOptions } from './options.js';

// Registration only: the implementation (NATS client, table rendering) is imported when it runs.
export function registerPs(program: Command): void {
  withNatsOptions(withWorkloadOptions(program.command('ps'), 'list the instances of this file\'s project'))
    .description('instances across the fleet, from the hosts\' status: host, project, service, state, health, uptime, image, ports')
    .option('--project <name>', 'only this project')
    .option('--host <id>', 'only this host')
    .option('--json', 'print JSON (schema hostwright.ps/v1)')
    .action(async (options: PsOptions) => {
      const { runPs } = await import('./ps-run.js');
      await runPs(options);
    });
}
