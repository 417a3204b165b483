import type { Command } from 'commander';
import { AS_HELP } from '../../author-option.js';
import { withNatsOptions } from '../../options.js';
import type { RollbackOptions } from './options.js';

// Registration only: the implementation (NATS client, rollout driver) is imported when it runs.
export function registerRollback(program: Command): void {
  withNatsOptions(program.command('rollback'))
    .description('put hosts back on their previous desired revision: every host a rollout touched (at once, no canary gating), or one host\'s project; --to REV: back to any kept revision, written as a new one')
    .option('--rollout <id>', 'roll back every host this rollout touched')
    .option('--host <id>', 'roll back one host (with --project) to the revision before its current one')
    .option('--project <name>', 'the project to roll back on --host (or with --to)')
    .option('--to <rev>', 'write a new revision equal to this one (12 or r12; see `hostwright history`), on --host or on every host of --project that keeps it')
    .option('--dry-run', 'only show the plan of each host')
    .option('--json', 'print the final state as JSON')
    .option('--signing-key <file>', 'the coordinator\'s signing seed (coordinator-signing.nk); the rolled-back documents are signed with it (default: $HOSTWRIGHT_SIGNING_KEY)')
    .option('--as <name>', AS_HELP)
    .action(async (options: RollbackOptions) => {
      const { runRollback } = await import('./rollback-run.js');
      await runRollback(options);
    });
}
