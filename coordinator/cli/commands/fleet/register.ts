import type { Command } from 'commander';
import { InvalidInputError } from '../../../../shared/errors.js';
import { collect, withNatsOptions, type NatsOptions } from '../../options.js';

interface FleetInitOptions {
  readonly dir: string;
  readonly host: string[];
  readonly listen: string;
  readonly storeDir?: string;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

const RELOAD_HINT = 'a running nats-server picks the change up on reload: nats-server --signal reload=<pid> (or kill -HUP <pid>)';

// Registration only: key generation and the config writer are imported when a subcommand runs.
export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description('fleet credentials: NATS users with least-privilege permissions, and the desired-state signing key');

  fleet
    .command('init')
    .description('create the coordinator\'s NATS user and signing key, one NATS user per host, and a nats-server config (accounts block)')
    .requiredOption('--dir <dir>', 'where the keys and the server config are written (seeds with mode 0600)')
    .option('--host <id>', 'a host to create credentials for (repeatable; more later with `fleet add-host`)', collect, [])
    .option('--listen <host:port>', 'the server\'s client address in the generated config', '127.0.0.1:4222')
    .option('--store-dir <dir>', 'JetStream store dir in the generated config (default: <dir>/jetstream)')
    .option('--tls-ca <file>', 'TLS: the CA that signed the server certificate (clients pass it as --tls-ca)')
    .option('--tls-cert <file>', 'TLS: the server certificate')
    .option('--tls-key <file>', 'TLS: the server key')
    .action(async (options: FleetInitOptions) => {
      const tlsGiven = [options.tlsCa, options.tlsCert, options.tlsKey].filter((value) => value !== undefined).length;
      if (tlsGiven !== 0 && tlsGiven !== 3) throw new InvalidInputError('fleet init: pass all of --tls-ca, --tls-cert and --tls-key, or none');
      const tls = options.tlsCa && options.tlsCert && options.tlsKey ? { caFile: options.tlsCa, certFile: options.tlsCert, keyFile: options.tlsKey } : undefined;
      const { fleetAuthPaths, initFleetAuth } = await import('../../../fleet-auth-files.js');
      const result = await initFleetAuth({ dir: options.dir, hosts: options.host, listen: options.listen, storeDir: options.storeDir, tls });
      const paths = fleetAuthPaths(options.dir);
      process.stdout.write(
        [
          `coordinator signing public key: ${result.signingPublicKey}`,
          'wrote:',
          ...result.files.map((file) => `  ${file}`),
          `start NATS:  nats-server -c ${paths.server}`,
          `set up the streams (once, and after an upgrade):  hostwright fleet setup --nats URL --creds ${paths.adminCreds}`,
          `coordinator: hostwright <command> --nats URL --creds ${paths.coordinatorCreds}`,
          `more users by role (reader, deployer, admin):  hostwright fleet add-user NAME --role reader --dir ${options.dir}`,
          `agent:       hostwright agent --nats URL --host-id ID --creds ${paths.hostCreds('ID')} --curve-key ${paths.hostCurveSeed('ID')}  (copy only that host's files to it)`,
          '',
        ].join('\n'),
      );
    });

  fleet
    .command('add-host <id>')
    .description('create NATS credentials for a host and regenerate the accounts config')
    .requiredOption('--dir <dir>', 'the dir `fleet init` wrote')
    .option('--rotate', 'replace the key of a host that already has one (the old key stops working on reload)')
    .action(async (hostId: string, options: { dir: string; rotate?: boolean }) => {
      const { addFleetHost, fleetAuthPaths } = await import('../../../fleet-auth-files.js');
      const credsFile = await addFleetHost(options.dir, hostId, options.rotate === true);
      process.stdout.write(`wrote ${credsFile}, ${fleetAuthPaths(options.dir).hostCurveSeed(hostId)} (the agent's --curve-key) and ${fleetAuthPaths(options.dir).accounts}\n${RELOAD_HINT}\n`);
    });

  fleet
    .command('remove-host <id>')
    .description('revoke a host: remove its NATS user from the accounts config and delete its seed')
    .requiredOption('--dir <dir>', 'the dir `fleet init` wrote')
    .action(async (hostId: string, options: { dir: string }) => {
      const { fleetAuthPaths, removeFleetHost } = await import('../../../fleet-auth-files.js');
      await removeFleetHost(options.dir, hostId);
      process.stdout.write(`removed host ${hostId} from ${fleetAuthPaths(options.dir).accounts}\n${RELOAD_HINT}; the server then closes its connections\n`);
    });

  fleet
    .command('add-user <name>')
    .description('create NATS credentials for a person or a tool by role: reader (status, events, hosts, ps, logs), deployer (also plan, apply, rollout, rollback, retry, pull, down, hosts cordon/label), admin (also exec and fleet setup); writes users/<name>.nk and regenerates the accounts config')
    .requiredOption('--dir <dir>', 'the dir `fleet init` wrote')
    .requiredOption('--role <role>', 'reader, deployer or admin')
    .option('--rotate', 'replace the key (and role) of a user that exists (the old key stops working on reload)')
    .action(async (name: string, options: { dir: string; role: string; rotate?: boolean }) => {
      const { ROLES } = await import('../../../nats-auth.js');
      const role = ROLES.find((candidate) => candidate === options.role);
      if (!role) throw new InvalidInputError(`--role ${options.role}: expected one of ${ROLES.join(', ')}`);
      const { addFleetUser, fleetAuthPaths } = await import('../../../fleet-auth-files.js');
      const credsFile = await addFleetUser(options.dir, name, role, options.rotate === true);
      process.stdout.write(`wrote ${credsFile} (role ${role}) and ${fleetAuthPaths(options.dir).accounts}\n${RELOAD_HINT}\nit connects with: hostwright <command> --nats URL --creds ${credsFile}\n`);
    });

  fleet
    .command('remove-user <name>')
    .description('revoke a user added with `fleet add-user`: remove it from the accounts config and delete its seed')
    .requiredOption('--dir <dir>', 'the dir `fleet init` wrote')
    .action(async (name: string, options: { dir: string }) => {
      const { fleetAuthPaths, removeFleetUser } = await import('../../../fleet-auth-files.js');
      await removeFleetUser(options.dir, name);
      process.stdout.write(`removed user ${name} from ${fleetAuthPaths(options.dir).accounts}\n${RELOAD_HINT}; the server then closes its connections\n`);
    });

  fleet
    .command('regenerate')
    .description('write the accounts config again from fleet-auth.json (after an upgrade of Hostwright changed its layout); keys stay as they are')
    .requiredOption('--dir <dir>', 'the dir `fleet init` wrote')
    .action(async (options: { dir: string }) => {
      const { fleetAuthPaths, regenerateFleetConfig } = await import('../../../fleet-auth-files.js');
      const adminCreds = await regenerateFleetConfig(options.dir);
      const admin = adminCreds ? `wrote ${adminCreds}: the admin user that sets up the streams (hostwright fleet setup --creds ${adminCreds})\n` : '';
      process.stdout.write(`${admin}wrote ${fleetAuthPaths(options.dir).accounts}\n${RELOAD_HINT}\n`);
    });

  withNatsOptions(fleet.command('setup'), 'agent')
    .description('create or update the fleet\'s NATS streams and buckets to the settings Hostwright relies on (needs the admin credentials: --creds DIR/admin.nk); limits from $HOSTWRIGHT_STORAGE_LIMITS; safe to run again')
    .action(async (options: NatsOptions) => {
      const { runFleetSetup } = await import('./fleet-setup.js');
      await runFleetSetup(options);
    });
}
