import type { Command } from 'commander';
import { InvalidInputError } from '../../../../shared/errors.js';
import { modeOf, withNatsOptions } from '../../options.js';
import type { ExecOptions } from './options.js';

// Registration only: the NATS client and the session are imported when the command runs.
export function registerExec(program: Command): void {
  withNatsOptions(program.command('exec'))
    .description('run a command in a running instance of a service, on the host its agent runs (remote code execution: needs the admin role\'s credentials, the signing key, and an agent started with --allow-exec); exits with the command\'s exit code; recorded as `exec` events (who, where, argv, exit code, byte counts)')
    .argument('<service>', 'SERVICE or SERVICE/N (instance N; the lowest-numbered running one when omitted)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--host <id>', 'the host (default: the one host whose status lists the service)')
    .option('--project <name>', 'the service\'s project, when several have one of that name')
    .option('-i, --interactive', 'send this terminal\'s stdin to the command')
    .option('-t, --tty', 'give the command a terminal (resize and Ctrl-C pass through; stdout and stderr become one)')
    .option('--as <name>', 'who runs it, for the audit events (default: $USER)')
    .option('--timeout <duration>', 'how long to wait for the agent to start the command', '10s')
    .option('--signing-key <file>', 'the coordinator\'s signing seed (coordinator-signing.nk): agents run exec only on a request signed with it (default: $HOSTWRIGHT_SIGNING_KEY)')
    .passThroughOptions()
    .action(async (service: string, command: string[], options: ExecOptions) => {
      const mode = modeOf(options, 'exec');
      if (mode.kind !== 'fleet') throw new InvalidInputError('exec: pass --nats URL (or set HOSTWRIGHT_NATS); on this machine use `docker exec`');
      const { execOnFleet } = await import('./exec-run.js');
      // With options passed through after the service, commander keeps the `--` that ends them.
      process.exitCode = await execOnFleet(mode, service, command[0] === '--' ? command.slice(1) : command, options);
    });
}
