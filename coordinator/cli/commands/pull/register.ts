import type { Command } from 'commander';
import { InvalidInputError } from '../../../../shared/errors.js';
import { collect, modeOf, withNatsOptions, withWorkloadOptions } from '../../options.js';
import type { PullOptions } from './options.js';


// Registration only: the NATS client is imported when the command runs.
export function registerPull(program: Command): void {
  withWorkloadOptions(withNatsOptions(program.command('pull')), 'whose images to pull', true)
    .description('ask each placed host to pull the images the file needs and it lacks (by their pull policies), before a rollout; changes no container')
    .option('--host <id>', 'only these hosts (repeatable, or comma-separated)', collect, [])
    .option('--timeout <duration>', 'how long to wait for the hosts\' pulls to end', '10m')
    .option('--json', 'print JSON lines: progress records, then the result (schema hostwright.pull/v1)')
    .option('--signing-key <file>', 'the coordinator\'s signing seed (coordinator-signing.nk): agents that pin its key pull only on a signed request (default: $HOSTWRIGHT_SIGNING_KEY)')
    .action(async (options: PullOptions) => {
      if (!(options.nats ?? process.env.HOSTWRIGHT_NATS)) throw new InvalidInputError('pull: pass --nats URL (or set HOSTWRIGHT_NATS): it asks the fleet\'s hosts to pull; on this machine `hostwright apply --local` pulls what it needs');
      const mode = modeOf(options, 'pull');
      if (mode.kind !== 'fleet') return;
      const { pullOnFleet } = await import('./pull-run.js');
      await pullOnFleet(mode, options);
    });
}
