import type { Command } from 'commander';
import { AS_HELP } from '../../author-option.js';
import { InvalidInputError } from '../../../../shared/errors.js';
import { collect, hasFile, modeOf, withLocalOptions, withWorkloadOptions } from '../../options.js';
import type { ApplyOptions } from './options.js';

// Registration only: each mode's implementation is imported when the command runs, so that
// `--help` and local mode never load what they do not use (NATS clients, dockerode, ...).
export function registerApply(program: Command): void {
  withWorkloadOptions(withLocalOptions(program.command('apply')), 'what to apply')
    .description('apply a fleet file (or exactly a saved plan): intent is persisted before each change and the result right after')
    .argument('[plan.json]', 'fleet mode: a plan saved with `plan --out`; refused if any host moved since')
    .option('--allow-empty', 'local mode: permit a plan that removes every running instance of the project')
    .option('--prune-volumes', 'remove the project\'s volumes that no service uses any more (their data is lost; without it they are kept and reported)')
    .option('--parallel <n>', 'local mode: instances changed at once (default 4)')
    .option('--wait', 'fleet mode: wait until every host reports converged (or failed), with progress; a change that moves services always waits for the receiving hosts before it writes the giving ones')
    .option('--timeout <duration>', 'fleet mode: how long to wait for answers, for a move\'s receiving hosts, and for convergence', '2m')
    .option('--allow-unregistered <host>', 'fleet mode: write the desired state of a host the placement names that no agent has registered as yet, for an agent that registers later (repeatable, or comma-separated; `status` lists it as NOT REGISTERED)', collect, [])
    .option('--json', 'print the result as JSON instead of progress lines')
    .option('--signing-key <file>', 'fleet mode: the coordinator\'s signing seed (coordinator-signing.nk); every desired document is signed with it (default: $HOSTWRIGHT_SIGNING_KEY)')
    .option('--as <name>', AS_HELP)
    .action(async (planFile: string | undefined, options: ApplyOptions) => {
      const mode = modeOf(options, 'apply');
      if (!hasFile(options) && !planFile) throw new InvalidInputError('apply: pass -f fleet.yaml, or a saved plan file');
      if (hasFile(options) && planFile) throw new InvalidInputError('apply: pass either -f fleet.yaml or a saved plan file, not both');
      if (mode.kind === 'local') {
        if (!hasFile(options)) throw new InvalidInputError('apply: local mode takes -f fleet.yaml (saved plans are for fleet mode)');
        const { applyLocal } = await import('./apply-local.js');
        return applyLocal(options);
      }
      const { applyToFleet } = await import('./apply-fleet.js');
      await applyToFleet(mode, planFile, options);
    });
}
