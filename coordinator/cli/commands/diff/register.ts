import type { Command } from 'commander';
import { withNatsOptions, withWorkloadOptions } from '../../options.js';
import type { DiffOptions } from './options.js';

// Registration only: the implementation (NATS client, typed diff) is imported when it runs.
export function registerDiff(program: Command): void {
  withNatsOptions(withWorkloadOptions(program.command('diff'), 'compare with what this file would write (instead of REV_B)'))
    .description('field-level change between two desired revisions of a project (default: the current one and the one before it; REV_A alone: REV_A to the current one): services added, deleted, edited, old and new values with secrets masked, and which changes replace containers')
    .argument('[rev_a]', 'the older revision (12 or r12; see `hostwright history`)')
    .argument('[rev_b]', 'the newer revision (default: the current one)')
    .option('--project <name>', 'the project (or -f FILE: its project)')
    .option('--host <id>', 'only this host (revisions are numbered per host)')
    .option('--json', 'print JSON (schema hostwright.diff/v1)')
    .action(async (revA: string | undefined, revB: string | undefined, options: DiffOptions) => {
      const { runDiff } = await import('./diff-run.js');
      await runDiff(revA, revB, options);
    });
}
