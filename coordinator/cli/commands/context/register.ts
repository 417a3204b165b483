import type { Command } from 'commander';
import { collect } from '../../options.js';
import type { ContextReadOptions, ContextSetOptions } from './options.js';

// Registration only: the configuration file is read and written when a subcommand runs.
export function registerContext(program: Command): void {
  const context = program
    .command('context')
    .description('named contexts of the CLI configuration file ($HOSTWRIGHT_CONFIG, or $XDG_CONFIG_HOME/hostwright/config.yaml): the NATS, credentials, TLS, signing key and fleet-auth dir fleet commands use when no flag or variable gives them (docs/cli.md, "Contexts")');

  context
    .command('list')
    .description('the contexts, the one in use marked with *')
    .option('--json', 'print JSON (schema hostwright.contexts/v1)')
    .action(async (options: ContextReadOptions) => {
      const { listContexts } = await import('./context-run.js');
      await listContexts(options);
    });

  context
    .command('show [name]')
    .description('what a context holds (default: the one in use: $HOSTWRIGHT_CONTEXT, else the file\'s current_context)')
    .option('--json', 'print JSON (schema hostwright.context/v1)')
    .action(async (name: string | undefined, options: ContextReadOptions) => {
      const { showContext } = await import('./context-run.js');
      await showContext(name, options);
    });

  context
    .command('use <name>')
    .description('make the context the one fleet commands use (current_context); $HOSTWRIGHT_CONTEXT and --context still win')
    .action(async (name: string) => {
      const { useContext } = await import('./context-run.js');
      await useContext(name);
    });

  context
    .command('set <name>')
    .description('create the context or change what it holds; a value not given stays; paths are stored absolute (a ~/ path as given); never key material, only paths to it')
    .option('--nats <url>', 'the fleet\'s NATS (repeat for the servers of a cluster)', collect, [])
    .option('--creds <file>', 'NATS credentials (the coordinator\'s from `hostwright fleet init`)')
    .option('--tls-ca <file>', 'TLS: the CA of the NATS server\'s certificate')
    .option('--tls-cert <file>', 'TLS: client certificate (with --tls-key)')
    .option('--tls-key <file>', 'TLS: client key (with --tls-cert)')
    .option('--signing-key <file>', 'the coordinator\'s signing seed (coordinator-signing.nk), for the commands that write desired state')
    .option('--fleet-auth <dir>', 'the fleet\'s auth dir (or its fleet-auth.json)')
    .option('--as <name>', 'the name commands that take --as record when none is given')
    .option('--unset <key>', 'remove a value: nats, creds, tls-ca, tls-cert, tls-key, signing-key, fleet-auth or as (repeatable)', collect, [])
    .option('--use', 'also make it the context in use')
    .action(async (name: string, options: ContextSetOptions) => {
      const { setContext } = await import('./context-run.js');
      await setContext(name, options);
    });

  context
    .command('remove <name>')
    .description('remove the context (and current_context, when it named it); the files it points at stay')
    .action(async (name: string) => {
      const { removeContext } = await import('./context-run.js');
      await removeContext(name);
    });
}
