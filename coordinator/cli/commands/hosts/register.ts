import type { Command } from 'commander';
import { withNatsOptions } from '../../options.js';
import type { HostsOptions } from './options.js';

// Registration only: the implementation (NATS client, table rendering) is imported when it runs.
export function registerHosts(program: Command): void {
  withNatsOptions(program.command('hosts'))
    .description('registered hosts: labels, agent version, last seen')
    .option('--json', 'print JSON (schema hostwright.hosts/v1)')
    .action(async (options: HostsOptions) => {
      const { listHosts } = await import('./hosts-run.js');
      await listHosts(options);
    });
}
