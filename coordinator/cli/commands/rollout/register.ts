import type { Command } from 'commander';
import { AS_HELP } from '../../author-option.js';
import { collect, withNatsOptions, withWorkloadOptions } from '../../options.js';
import type { RolloutCommandOptions } from './options.js';

const SIGNING_KEY_HELP = 'the coordinator\'s signing seed (coordinator-signing.nk); every desired document is signed with it (default: $HOSTWRIGHT_SIGNING_KEY)';

// Registration only: the rollout driver and the NATS client are imported when a subcommand runs.
export function registerRollout(program: Command): void {
  const rollout = withWorkloadOptions(withNatsOptions(program.command('rollout')), 'what to roll out')
    .description('roll a fleet file out in waves: canaries first, then --max-parallel hosts at a time, each wave gated on convergence and health')
    .option('--canary <n>', 'hosts in the first wave (default: x-hostwright.rollout.canary, else 1)')
    .option('--max-parallel <n>', 'hosts per later wave (default: deploy.update_config.parallelism, else 1)')
    .option('--min-healthy <duration>', 'how long a host must stay converged and healthy to pass (default: update_config monitor + delay, else 10s)')
    .option('--healthy-deadline <duration>', 'how long a host may take to get there before it counts as failed (default: 2m)')
    .option('--max-failures <n|ratio>', 'failed hosts tolerated before the rollout stops, a count or a ratio such as 0.25 (default: update_config.max_failure_ratio, else 0)')
    .option('--on-failure <action>', 'pause or rollback: what happens past --max-failures (default: update_config.failure_action, else pause)')
    .option('--order <order>', 'stop-first or start-first: replace an instance after its successor is healthy (default: x-hostwright.rollout.order, else stop-first)')
    .option('--skip-offline', 'skip hosts that are offline when their wave comes, instead of waiting until the deadline')
    .option('--pre-pull', 'first have every host of the rollout pull the images it needs (as `hostwright pull`); the rollout starts only when all did')
    .option('--pre-pull-timeout <duration>', 'how long the pre-pull may take (default: 10m)')
    .option('--allow-unregistered <host>', 'also roll out to a host the placement names that no agent has registered as yet (it waits as an offline host does; repeatable, or comma-separated)', collect, [])
    .option('--detach', 'start the rollout and return; follow it with `rollout status --watch`')
    .option('--json', 'print progress records and the final state as JSON lines')
    .option('--signing-key <file>', SIGNING_KEY_HELP)
    .option('--as <name>', AS_HELP)
    .action(async (options: RolloutCommandOptions) => {
      const { startRolloutCommand } = await import('./rollout-run.js');
      await startRolloutCommand(options);
    });

  withNatsOptions(rollout.command('status [id]'))
    .description('a rollout\'s waves and per-host progress (default: the latest)')
    .option('--watch', 'keep printing until the rollout finishes or pauses')
    .option('--json', 'print JSON (schema hostwright.rollout/v1)')
    .action(async (id: string | undefined, _options: unknown, command: Command) => {
      const { rolloutStatus } = await import('./rollout-run.js');
      await rolloutStatus(id, subcommandOptions<{ nats?: string; watch?: boolean; json?: boolean }>(command));
    });

  withNatsOptions(rollout.command('list'))
    .description('every stored rollout, oldest first')
    .option('--json', 'print JSON')
    .action(async (_options: unknown, command: Command) => {
      const { listRollouts } = await import('./rollout-run.js');
      await listRollouts(subcommandOptions<{ nats?: string; json?: boolean }>(command));
    });

  for (const [name, description] of [
    ['pause', 'pause a running rollout after the current step (any coordinator)'],
    ['resume', 'resume a paused rollout, or one whose coordinator died, and follow it'],
    ['abort', 'stop a rollout where it is; hosts keep the revision they have'],
  ] as const) {
    const change = withNatsOptions(rollout.command(`${name} <id>`))
      .description(description)
      .option('--json', 'print progress and the final state as JSON lines');
    // Only a resume writes desired state (the rest of the rollout's waves): pause and abort sign nothing.
    if (name === 'resume') change.option('--signing-key <file>', SIGNING_KEY_HELP);
    change.action(async (id: string, _options: unknown, command: Command) => {
        const { changeRollout } = await import('./rollout-run.js');
        await changeRollout(name, id, subcommandOptions<{ nats?: string; json?: boolean; signingKey?: string }>(command));
      });
  }
}

/**
 * A subcommand's options merged with those of `rollout`: commander gives `--nats` and `--json` written
 * after `rollout status ID` to the parent (which defines them too), so the subcommand never saw them.
 */
function subcommandOptions<T extends { nats?: string; json?: boolean }>(command: Command): T {
  return command.optsWithGlobals<T>();
}
