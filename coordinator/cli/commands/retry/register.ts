import type { Command } from 'commander';
import { InvalidInputError } from '../../../../shared/errors.js';
import { modeOf, withLocalOptions } from '../../options.js';
import type { RetryOptions } from './options.js';

// Registration only: each mode's implementation is imported when the command runs.
export function registerRetry(program: Command): void {
  withLocalOptions(program.command('retry'), 'coordinator', { hostId: true })
    .description("lift a project's rejected revision on a host (and cut its backoff short): the agent tries the revision again")
    .requiredOption('--project <name>', 'the project whose revision to try again')
    .option('--host <id>', 'fleet mode: the host')
    .option('--timeout <duration>', 'fleet mode: how long to wait for the agent to answer', '10s')
    .option('--json', 'print the result as JSON (schema hostwright.retry/v1)')
    .option('--signing-key <file>', 'fleet mode: the coordinator\'s signing seed (coordinator-signing.nk): agents that pin its key retry only on a signed request (default: $HOSTWRIGHT_SIGNING_KEY)')
    .action(async (options: RetryOptions) => {
      const mode = modeOf(options, 'retry');
      if (mode.kind === 'local') {
        const { retryLocal } = await import('./retry-run.js');
        return retryLocal(options);
      }
      if (!options.host) throw new InvalidInputError('retry: fleet mode takes --host ID (the host whose project to retry)');
      const { retryOnFleet } = await import('./retry-run.js');
      await retryOnFleet(mode, options.host, options);
    });
}
