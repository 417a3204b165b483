import { Command, CommanderError } from 'commander';
import { HOSTWRIGHT_VERSION } from '../../shared/version.js';
import { FleetStorageTamperedError, HostwrightError, InvalidInputError, errorMessage } from '../../shared/errors.js';
import { registerAgent } from './commands/agent/register.js';
import { registerApply } from './commands/apply/register.js';
import { registerCompletion } from './commands/completion/register.js';
import { registerContext } from './commands/context/register.js';
import { registerConvert } from './commands/convert/register.js';
import { registerDown } from './commands/down/register.js';
import { registerEvents } from './commands/events/register.js';
import { registerExec } from './commands/exec/register.js';
import { registerFleet } from './commands/fleet/register.js';
import { registerHosts } from './commands/hosts/register.js';
import { registerKeys } from './commands/keys/register.js';
import { registerLogs } from './commands/logs/register.js';
import { registerMesh } from './commands/mesh/register.js';
import { registerPlan } from './commands/plan/register.js';
import { registerPs } from './commands/ps/register.js';
import { registerPull } from './commands/pull/register.js';
import { registerRestart } from './commands/restart/register.js';
import { registerRetry } from './commands/retry/register.js';
import { registerRollback } from './commands/rollback/register.js';
import { registerRollout } from './commands/rollout/register.js';
import { registerStatus } from './commands/status/register.js';
import { registerHistory } from './commands/history/register.js';
import { registerDiff } from './commands/diff/register.js';
import { registerDashboard } from './commands/dashboard/register.js';
import { EXIT } from './exit-codes.js';
import { sharedGroupsLast } from './options.js';
import { printable } from './render/printable.js';

const program = new Command('hostwright')
  .description('Hostwright: declare containers, plan the change, apply it deterministically and crash-safely.')
  .version(HOSTWRIGHT_VERSION)
  .showHelpAfterError('(run with --help for usage)')
  // A command's options belong to it, not to the command above it (`agent install --host-id`).
  .enablePositionalOptions()
  // Every command inherits it: the shared local and connection options come after its own.
  .configureHelp({ groupItems: sharedGroupsLast })
  .exitOverride();
registerPlan(program);
registerApply(program);
registerStatus(program);
registerConvert(program);
registerEvents(program);
registerAgent(program);
registerHosts(program);
registerPs(program);
registerDown(program);
registerRollout(program);
registerPull(program);
registerRollback(program);
registerHistory(program);
registerDiff(program);
registerRetry(program);
registerRestart(program);
registerKeys(program);
registerFleet(program);
registerContext(program);
registerCompletion(program);
registerLogs(program);
registerExec(program);
registerMesh(program);
registerDashboard(program);

// The one top-level catch: every error becomes a message and an exit code, never a stack trace.
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.error;
  } else {
    const prefix = error instanceof InvalidInputError ? 'error' : error instanceof HostwrightError ? 'error' : 'unexpected error';
    // The server refused a subject to these credentials: a host's creds used for a coordinator command, say.
    const denied = /Permissions Violation/.test(errorMessage(error)) ? ' (the NATS user of --creds may not do this; coordinator commands need the coordinator\'s credentials)' : '';
    // A message may quote a host, NATS or Docker: shown printable, keeping the lines of a multi-line one.
    process.stderr.write(`${denied ? 'error' : prefix}: ${printable(errorMessage(error), { multiline: true })}${denied}\n`);
    if (process.env.HOSTWRIGHT_DEBUG && error instanceof Error) process.stderr.write(`${printable(error.stack ?? '', { multiline: true })}\n`);
    process.exitCode = error instanceof FleetStorageTamperedError ? EXIT.fleetStorageTampered : EXIT.error;
  }
}
