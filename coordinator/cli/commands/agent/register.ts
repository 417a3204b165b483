import type { Command } from 'commander';
import { DEFAULT_AGENT_CONFIG_PATH } from '../../../../shared/agent-config.js';
import { withLocalOptions } from '../../options.js';
import type { AgentOptions } from './options.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

// Registration only: the agent (NATS clients, dockerode, LevelDB, metrics) is imported when it runs.
export function registerAgent(program: Command): void {
  withLocalOptions(program.command('agent'), 'agent')
    .description('run a host agent: the reconcile loop as a daemon (fleet mode: desired state from NATS; local mode: from a fleet file)')
    .option('--config <file>', `the agent's configuration file (YAML; default: ${DEFAULT_AGENT_CONFIG_PATH} when it exists, except with --local); a flag given here wins over the file`)
    .option('-f, --file <fleet.yaml>', 'local mode: the fleet file (re-read when it changes; a bad edit keeps the last good state)')
    .option('--resync <duration>', 'periodic resync interval', '30s')
    .option('--heartbeat <duration>', 'fleet mode: heartbeat interval', '5s')
    .option('--parallel <n>', 'instances changed at once (default 4)')
    .option('--name-prefix <prefix>', 'prefix for container names, so several agents can share one engine (e.g. "h1-")', '')
    .option('--metrics-addr <host:port>', 'serve Prometheus /metrics and /healthz here, e.g. 127.0.0.1:9464')
    .option('--coordinator-key <key|file>', 'fleet mode: the coordinator\'s public signing key (O…), or a file holding it; desired state not signed by it is refused (default: $HOSTWRIGHT_COORDINATOR_KEY)')
    .option('--allow-unsigned', 'fleet mode, INSECURE: accept desired state without a pinned coordinator key (anyone who can write to NATS controls this host)')
    .option('--allow-privileged', 'fleet mode: let desired state run privileged containers on this host (refused by default)')
    .option('--allow-devices', 'fleet mode: let desired state map host devices into containers (refused by default)')
    .option('--allow-cap <capability>', 'fleet mode: a capability beyond Docker\'s defaults that services may add (repeatable; ALL: any)', collect, [])
    .option('--allow-host-path <path>', 'fleet mode: a host path services may bind-mount, with everything below it (repeatable; none by default)', collect, [])
    .option('--allow-host-network', 'fleet mode: let services use the host\'s network (network_mode: host; refused by default)')
    .option('--log-level <level>', 'pino log level (trace, debug, info, warn, error)', 'info')
    .action(async (options: AgentOptions, command: Command) => {
      const { runAgent } = await import('./agent-run.js');
      // Which options the command line gave: those win over the configuration file.
      const fromCommandLine = new Set(Object.keys(options).filter((name) => command.getOptionValueSource(name) === 'cli'));
      await runAgent(options, fromCommandLine);
    });
}
