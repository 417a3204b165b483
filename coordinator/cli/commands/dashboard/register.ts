import type { Command } from 'commander';
import { withNatsOptions } from '../../options.js';
import type { DashboardOptions } from './options.js';

// Registration only: the server, the model and the NATS client are imported when the command runs.
export function registerDashboard(program: Command): void {
  withNatsOptions(program.command('dashboard'))
    .description('serve a live view of the fleet in the browser: hosts × projects, a host, a project, rollouts, events and logs, fed by NATS watches')
    .option('--listen <addr:port>', 'where to listen; beyond loopback a token is required (port 0: any free port)', '127.0.0.1:8080')
    .option('--token-file <file>', 'the token the browser must present (at least 16 characters); beyond loopback without it, one is made and written 0600 beside the CLI\'s config')
    .option('--allow-actions', 'let the page pause, resume and abort rollouts (only with a deployer or admin credential)')
    .option('--signing-key <file>', 'the coordinator\'s signing seed (coordinator-signing.nk): a rollout resumed from the page writes desired state signed with it (default: $HOSTWRIGHT_SIGNING_KEY)')
    .option('--stale-after <duration>', 'a host silent for longer than this, and for three of its own heartbeat periods, shows as STALE', '15s')
    .option('--json', 'print the start line as JSON (schema hostwright.dashboard.start/v1)')
    .addHelpText('after', '\nThe dashboard reads NATS with --creds (a reader credential is enough to watch); it prints one line, "dashboard listening on http://ADDR:PORT/", once it serves. Exits 2 when the page is not built (run `npm run build`). See docs/dashboard.md.')
    .action(async (options: DashboardOptions) => {
      const { runDashboard } = await import('./dashboard-run.js');
      await runDashboard(options);
    });
}
