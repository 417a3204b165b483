import type { Command } from 'commander';
import { withNatsOptions, withWorkloadOptions } from '../../options.js';
import type { RestartOptions } from './options.js';

// Registration only: the implementation (NATS client, writes) is imported when it runs.
export function registerRestart(program: Command): void {
  withNatsOptions(withWorkloadOptions(program.command('restart <services...>'), 'restart services of this file\'s project'))
    .description('restart services\' instances in place across the fleet, one instance at a time per service and host, each healthy before the next (through desired state: journaled and resumed by the agent)')
    .option('--project <name>', 'the project (instead of -f)')
    .option('--host <id>', 'only on this host')
    .option('--wait', 'wait until every host has restarted them')
    .option('--timeout <duration>', 'with --wait: how long to wait', '5m')
    .option('--json', 'print JSON (schema hostwright.restart/v1)')
    .option('--signing-key <file>', 'the coordinator\'s signing seed (coordinator-signing.nk); the documents are signed with it (default: $HOSTWRIGHT_SIGNING_KEY)')
    .action(async (services: string[], options: RestartOptions) => {
      const { runRestart } = await import('./restart-run.js');
      await runRestart(services, options);
    });
}
