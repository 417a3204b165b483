import type { Command } from 'commander';
import { DEFAULT_MESH_INTERFACE } from '../../../../shared/mesh-interface.js';
import { DEFAULT_AGENT_CONFIG_PATH } from '../../../../shared/agent-paths.js';
import { collect, withLocalOptions, withWorkloadOptions } from '../../options.js';
import type { AgentInstallOptions } from './agent-install.js';
import type { AgentOptions } from './options.js';


// Registration only: the agent (NATS clients, dockerode, LevelDB, metrics) is imported when it runs.
export function registerAgent(program: Command): void {
  const agent = withWorkloadOptions(withLocalOptions(program.command('agent'), 'agent'), 'local mode: the desired state, re-read when it changes (a bad edit keeps the last good state)')
    .description('run a host agent: the reconcile loop as a daemon (fleet mode: desired state from NATS; local mode: from a fleet file)')
    .option('--config <file>', `the agent's configuration file (YAML; default: ${DEFAULT_AGENT_CONFIG_PATH} when it exists, except with --local); a flag given here wins over the file`)
    .option('--resync <duration>', 'periodic resync interval', '30s')
    .option('--heartbeat <duration>', 'fleet mode: heartbeat interval, 1s to 5m; beyond 2,500 hosts the agent beats every hosts/500 s if that is longer; the host reads stale after three missed beats (at least 15s)', '5s')
    .option('--parallel <n>', 'instances changed at once (default 4)')
    .option('--name-prefix <prefix>', 'prefix for container names, so several agents can share one engine (e.g. "h1-")', '')
    .option('--metrics-addr <host:port>', 'serve Prometheus /metrics and /healthz here, e.g. 127.0.0.1:9464')
    .option('--coordinator-key <key|file>', 'fleet mode: the coordinator\'s public signing key (O…), or a file holding it; desired state not signed by it is refused (default: $HOSTWRIGHT_COORDINATOR_KEY)')
    .option('--allow-unsigned', 'fleet mode, INSECURE: accept desired state without a pinned coordinator key (anyone who can write to NATS controls this host)')
    .option('--curve-key <file>', 'fleet mode: this host\'s curve seed (hosts/<id>.xk from `fleet init`), which opens the secrets and configs sealed to it')
    .option('--secrets-dir <dir>', 'fleet mode: where secret files are written, on a tmpfs (default: /dev/shm/hostwright-secrets)')
    .option('--allow-privileged', 'fleet mode: let desired state run privileged containers on this host (refused by default)')
    .option('--allow-devices', 'fleet mode: let desired state map host devices into containers (refused by default)')
    .option('--allow-cap <capability>', 'fleet mode: a capability beyond Docker\'s defaults that services may add (repeatable; ALL: any)', collect, [])
    .option('--allow-host-path <path>', 'fleet mode: a host path services may bind-mount, with everything below it (repeatable; none by default)', collect, [])
    .option('--allow-host-network', 'fleet mode: let services use the host\'s network (network_mode: host; refused by default)')
    .option('--allow-security-opt <option>', 'fleet mode: a security_opt that loosens confinement, e.g. seccomp=unconfined, apparmor=unconfined, label=disable; a key alone allows any of its values (repeatable; ALL: any)', collect, [])
    .option('--allow-sysctl <name>', 'fleet mode: a sysctl outside Docker\'s namespaced set (or net.* with the host network), e.g. kernel.panic or vm.* (repeatable; ALL: any)', collect, [])
    .option('--allow-volume-driver <driver>', 'fleet mode: a volume driver besides local (repeatable; ALL: any)', collect, [])
    .option('--allow-volume-type <type>', 'fleet mode: a mount type of the local volume driver besides tmpfs and bind, e.g. nfs (repeatable; ALL: any)', collect, [])
    .option('--allow-log-driver <driver>', 'fleet mode: a log driver besides json-file, local, journald and none, e.g. syslog (repeatable; ALL: any)', collect, [])
    .option('--allow-secret-file <path>', 'fleet mode: a host file, or a directory with everything below it, that env values may read as secret_file (repeatable; none by default)', collect, [])
    .option('--allow-network-opt <key>', 'fleet mode: a project network\'s driver_opts key besides mtu, enable_icc, enable_ip_masquerade and container_iface_prefix, e.g. com.docker.network.bridge.name (repeatable; ALL: any)', collect, [])
    .option('--allow-exec', 'fleet mode: run `hostwright exec` commands in this agent\'s containers, on requests signed with the coordinator key (refused by default)')
    .option('--mesh-endpoint <address:port>', 'fleet mode: take part in the fleet\'s mesh, reached by the other hosts at this address (and, with the wireguard transport, this UDP port) (docs/networking.md)')
    .option('--mesh-interface <name>', `fleet mode: the mesh's WireGuard interface, hwm… (default: ${DEFAULT_MESH_INTERFACE})`)
    .option('--log-level <level>', 'pino log level (trace, debug, info, warn, error)', 'info')
    .action(async (options: AgentOptions, command: Command) => {
      const { runAgent } = await import('./agent-run.js');
      // Which options the command line gave: those win over the configuration file.
      const fromCommandLine = new Set(Object.keys(options).filter((name) => command.getOptionValueSource(name) === 'cli'));
      await runAgent(options, fromCommandLine);
    });
  // `agent install --host-id …`: the options after `install` are install's, not the daemon's.
  agent.enablePositionalOptions();
  registerAgentInstall(agent);
}

function registerAgentInstall(agent: Command): void {
  agent
    .command('install')
    .description(`set this host up to run the agent as a systemd service: writes the configuration file (0600), the unit ${'hostwright-agent.service'} pointing at this hostwright and this Node.js, and the data dir (0700). Running it again with the same flags changes nothing`)
    .option('--prefix <dir>', 'install under this root: <dir>/etc/hostwright/agent.yaml, <dir>/etc/systemd/system, <dir>/var/lib/hostwright (the files name these paths)')
    .option('--config <file>', `where to write the configuration file (default: ${DEFAULT_AGENT_CONFIG_PATH})`)
    .option('--unit-dir <dir>', 'where to write hostwright-agent.service (default: /etc/systemd/system)')
    .option('--config-only', 'write the configuration file and the data dir, no unit (another service manager starts `hostwright agent --config FILE`)')
    .option('--force', 'replace a configuration file that says something else (the old one is kept as <file>.bak)')
    .option('--node <path>', 'the Node.js the unit runs, 22.12 or later (default: the one running this command)')
    .option('--host-id <id>', 'this host\'s id in the fleet (required)')
    .option('--label <key=value>', 'a label of this host, for placement selectors (repeatable)', collect, [])
    .option('--nats <url>', 'the fleet\'s NATS (required; several servers: comma-separated)')
    .option('--creds <file>', 'this host\'s NATS credentials from `hostwright fleet init` (hosts/<id>.nk)')
    .option('--tls-ca <file>', 'TLS: trust this CA for the NATS server\'s certificate')
    .option('--tls-cert <file>', 'TLS: client certificate')
    .option('--tls-key <file>', 'TLS: client key')
    .option('--coordinator-key <key|file>', 'the coordinator\'s public signing key (O…) or coordinator-signing.pub (required unless --allow-unsigned)')
    .option('--allow-unsigned', 'INSECURE: accept desired state without a pinned coordinator key')
    .option('--curve-key <file>', 'this host\'s curve seed (hosts/<id>.xk from `fleet init`), for compose secrets and configs')
    .option('--secrets-dir <dir>', 'where secret files are written, on a tmpfs (default: /dev/shm/hostwright-secrets)')
    .option('--data-dir <dir>', 'the agent\'s journal (default: /var/lib/hostwright, under --prefix)')
    .option('--metrics-addr <host:port>', 'serve Prometheus /metrics and /healthz here, e.g. 127.0.0.1:9464')
    .option('--log-level <level>', 'pino log level (trace, debug, info, warn, error)')
    .option('--allow-privileged', 'let desired state run privileged containers on this host')
    .option('--allow-devices', 'let desired state map host devices into containers')
    .option('--allow-cap <capability>', 'a capability beyond Docker\'s defaults that services may add (repeatable; ALL: any)', collect, [])
    .option('--allow-host-path <path>', 'a host path services may bind-mount, with everything below it (repeatable)', collect, [])
    .option('--allow-host-network', 'let services use the host\'s network')
    .option('--allow-exec', 'run `hostwright exec` commands in this agent\'s containers, on requests signed with the coordinator key')
    .option('--allow-security-opt <option>', 'a security_opt that loosens confinement, e.g. seccomp=unconfined (repeatable; ALL: any)', collect, [])
    .option('--allow-sysctl <name>', 'a sysctl outside Docker\'s namespaced set, e.g. kernel.panic or vm.* (repeatable; ALL: any)', collect, [])
    .option('--allow-volume-driver <driver>', 'a volume driver besides local (repeatable; ALL: any)', collect, [])
    .option('--allow-volume-type <type>', 'a mount type of the local volume driver besides tmpfs and bind, e.g. nfs (repeatable; ALL: any)', collect, [])
    .option('--allow-log-driver <driver>', 'a log driver besides json-file, local, journald and none (repeatable; ALL: any)', collect, [])
    .option('--allow-secret-file <path>', 'a host file, or a directory with everything below it, that env values may read as secret_file (repeatable)', collect, [])
    .option('--allow-network-opt <key>', 'a project network\'s driver_opts key besides mtu, enable_icc, enable_ip_masquerade and container_iface_prefix (repeatable; ALL: any)', collect, [])
    .action(async (options: AgentInstallOptions) => {
      const { installAgent } = await import('./agent-install.js');
      await installAgent(options, (line) => process.stdout.write(`${line}\n`));
    });
}
