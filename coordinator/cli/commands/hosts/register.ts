import type { Command } from 'commander';
import { withNatsOptions } from '../../options.js';
import type { HostControlOptions, HostDrainOptions, HostsOptions } from './options.js';

const SIGNING_KEY_HELP = 'the coordinator\'s signing seed (coordinator-signing.nk): the change is signed with it (default: $HOSTWRIGHT_SIGNING_KEY)';

// Registration only: the implementation (NATS client, table rendering) is imported when it runs.
export function registerHosts(program: Command): void {
  const hosts = withNatsOptions(program.command('hosts'))
    .description('registered hosts: labels (the agent\'s and the coordinator\'s), cordon, agent version, last seen')
    .option('--json', 'print JSON (schema hostwright.hosts/v1)')
    .action(async (options: HostsOptions) => {
      const { listHosts } = await import('./hosts-run.js');
      await listHosts(options);
    });

  withNatsOptions(hosts.command('cordon <host>'))
    .description('give the host no new placements: what runs there stays; a placement naming it is refused, a selector skips it')
    .option('--reason <text>', 'why (shown by `hosts`, `plan` and the refusal)')
    .option('--signing-key <file>', SIGNING_KEY_HELP)
    .option('--json', 'print the host\'s cordon and labels as JSON (schema hostwright.hostctl/v1)')
    .action(async (hostId: string, options: HostControlOptions & { reason?: string }) => {
      const { cordonHost } = await import('./hosts-control.js');
      await cordonHost(hostId, options);
    });

  withNatsOptions(hosts.command('uncordon <host>'))
    .description('let placement use the host again')
    .option('--signing-key <file>', SIGNING_KEY_HELP)
    .option('--json', 'print the host\'s cordon and labels as JSON (schema hostwright.hostctl/v1)')
    .action(async (hostId: string, options: HostControlOptions) => {
      const { uncordonHost } = await import('./hosts-control.js');
      await uncordonHost(hostId, options);
    });

  withNatsOptions(hosts.command('label <host> <changes...>'))
    .description('set (key=value) or remove (key-) labels placement reads for the host, beside the agent\'s own (these win on the same key); no agent restart')
    .option('--signing-key <file>', SIGNING_KEY_HELP)
    .option('--json', 'print the host\'s cordon and labels as JSON (schema hostwright.hostctl/v1)')
    .action(async (hostId: string, changes: string[], options: HostControlOptions) => {
      const { labelHost } = await import('./hosts-control.js');
      await labelHost(hostId, changes, options);
    });

  withNatsOptions(hosts.command('drain <host>'))
    .description('cordon the host, then move its instances to the other hosts that run the same services, make-before-break (the replacements healthy before the host\'s instances stop); services that can run nowhere else are listed and left')
    .option('--deadline <duration>', 'how long to wait for the moves; when it passes, what is left is said and the drain stays recorded (run it again to resume)', '1h')
    .option('--dry-run', 'show the moves and what is left; write nothing')
    .option('--detach', 'record the drain and start the replacements, then return; run `hosts drain H` again to finish it')
    .option('--force', 'stop the services that can run nowhere else too')
    .option('--signing-key <file>', SIGNING_KEY_HELP)
    .option('--json', 'print the drain as JSON (schema hostwright.drain/v1)')
    .action(async (hostId: string, options: HostDrainOptions) => {
      const { drainHost } = await import('./hosts-drain.js');
      await drainHost(hostId, options);
    });
}
