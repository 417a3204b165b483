import type { Command } from 'commander';
import { collect, modeOf, withNatsOptions } from '../../options.js';
import type { LogsOptions } from './options.js';

// Registration only: the implementation is imported when the command runs.
export function registerLogs(program: Command): void {
  withNatsOptions(program.command('logs'))
    .description("a service's output (stdout and stderr) from every host it runs on, merged in time order, each line prefixed with host/instance; read by the hosts' agents, never through the Docker socket")
    .argument('<service...>', 'SERVICE or SERVICE/N (one instance)')
    .option('--host <id>', 'only this host (repeatable)', collect, [])
    .option('--project <name>', 'the project (default: the one project whose desired state has the service)')
    .option('-f, --follow', 'keep printing new lines until interrupted, across a restart or replacement of an instance and the engine\'s log rotation')
    .option('--since <time>', 'only lines from this time: a duration back from now (10m, 2h, 1d) or a timestamp (2026-01-02T15:04:05Z)')
    .option('--until <time>', 'only lines up to this time (same forms as --since)')
    .option('--tail <n>', 'only the last N lines of each instance before the rest')
    .option('--timestamps', "show the engine's timestamp of each line")
    .option('--json', 'one JSON object per line (schemas hostwright.logline/v1, hostwright.logmarker/v1, hostwright.loghost/v1)')
    .option('--timeout <duration>', 'how long a host may take to answer before it is named as not answering (and asked again)', '5s')
    .addHelpText('after', '\nHosts that do not answer are named on stderr ("h2: not answering, retrying") and asked again with backoff while the others stream; with -f their lines follow once they answer, from where they stopped. Without -f, the command exits 1 when a host\'s lines are missing.')
    .action(async (services: string[], options: LogsOptions) => {
      const mode = modeOf({ ...options, local: false }, 'logs');
      if (mode.kind !== 'fleet') return;
      const { logsOnFleet } = await import('./logs-run.js');
      await logsOnFleet(mode, services, options);
    });
}
