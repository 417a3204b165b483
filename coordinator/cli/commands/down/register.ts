import type { Command } from 'commander';
import { AS_HELP } from '../../author-option.js';
import { withNatsOptions, withWorkloadOptions } from '../../options.js';
import type { DownOptions } from './options.js';

// Registration only: the implementation (NATS client, writes) is imported when it runs.
export function registerDown(program: Command): void {
  withNatsOptions(withWorkloadOptions(program.command('down'), 'remove this file\'s project'))
    .description('remove a project from every host that runs it (its containers and networks; volumes are kept); it leaves `status` once every host removed it')
    .option('--project <name>', 'the project to remove (instead of -f)')
    .option('--wait', 'wait until every host has removed it')
    .option('--timeout <duration>', 'with --wait: how long to wait', '2m')
    .option('--json', 'print JSON (schema hostwright.down/v1)')
    .option('--signing-key <file>', 'the coordinator\'s signing seed (coordinator-signing.nk); the documents are signed with it (default: $HOSTWRIGHT_SIGNING_KEY)')
    .option('--as <name>', AS_HELP)
    .action(async (options: DownOptions) => {
      const { runDown } = await import('./down-run.js');
      await runDown(options);
    });
}
