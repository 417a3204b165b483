import type { Command } from 'commander';
import { withNatsOptions } from '../../options.js';
import type { HistoryOptions } from './options.js';

// Registration only: the implementation (NATS client, rendering) is imported when it runs.
export function registerHistory(program: Command): void {
  withNatsOptions(program.command('history'))
    .description('the desired revisions of a project kept per host (up to 64): when, who, correlation and rollout id, and what changed')
    .requiredOption('--project <name>', 'the project')
    .option('--host <id>', 'only this host')
    .option('--json', 'print JSON (schema hostwright.history/v1), each revision with its typed diff')
    .action(async (options: HistoryOptions) => {
      const { runHistory } = await import('./history-run.js');
      await runHistory(options);
    });
}
