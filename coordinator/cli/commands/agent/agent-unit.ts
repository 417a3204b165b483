import { DEFAULT_AGENT_CONFIG_PATH, DEFAULT_SERVICE_DATA_DIR } from '../../../../shared/agent-paths.js';

/** What the agent's systemd unit points at. */
export interface AgentUnitPaths {
  /** A Node.js of 22.12 or later (the agent refuses older ones with exit code 2). */
  readonly node: string;
  /** The installed CLI entry, dist/cli/hostwright.js. */
  readonly cli: string;
  readonly config: string;
  /** The journal's directory: the one path the agent writes. */
  readonly dataDir: string;
}

/** The paths of the unit shipped in deploy/systemd/ (a global npm install under /usr/local). */
export const DEFAULT_AGENT_UNIT_PATHS: AgentUnitPaths = {
  node: '/usr/local/bin/node',
  cli: '/usr/local/lib/node_modules/hostwright/dist/cli/hostwright.js',
  config: DEFAULT_AGENT_CONFIG_PATH,
  dataDir: DEFAULT_SERVICE_DATA_DIR,
};

/**
 * The environment the unit gives the agent. MALLOC_ARENA_MAX=2: glibc's malloc otherwise keeps an
 * arena per thread that allocates (libuv's, V8's and LevelDB's workers), each holding on to the peak
 * of its short-lived allocations, and an agent's RSS climbs for weeks before it levels off; with two
 * arenas it climbed less and was flat from the third simulated week of the soak on (docs/RELIABILITY.md,
 * "Memory over time"). The soak starts its agents with the same environment.
 */
export const AGENT_UNIT_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** The command line the unit runs, as arguments (what a test starts by hand where systemd is not PID 1). */
export function agentUnitCommand(paths: AgentUnitPaths): string[] {
  return [paths.node, paths.cli, 'agent', '--config', paths.config];
}

/**
 * hostwright-agent.service. Pure. Readiness is Type=notify: the agent runs `systemd-notify --ready`
 * once its loop runs (agent/service-manager.ts), hence NotifyAccess=all. The hardening leaves the
 * agent the Docker socket (a root-owned socket needs no capability for uid 0), the network and its data dir.
 */
export function renderAgentUnit(paths: AgentUnitPaths): string {
  return `# Hostwright agent: reconciles this host's Docker engine toward the fleet's desired state.
# Written by \`hostwright agent install\`; settings are in ${paths.config} (docs/fleet.md).
[Unit]
Description=Hostwright agent
After=network-online.target docker.service
Wants=network-online.target docker.service

[Service]
Type=notify
NotifyAccess=all
# glibc's malloc with two arenas: the agent's native memory levels off (docs/RELIABILITY.md, "Memory over time").
${Object.entries(AGENT_UNIT_ENVIRONMENT).map(([name, value]) => `Environment=${name}=${value}`).join('\n')}
ExecStart=${agentUnitCommand(paths).map(quoteArgument).join(' ')}
Restart=on-failure
RestartSec=5s
# 2: not started, the Node.js is too old; restarting will not help.
RestartPreventExitStatus=2
# The journal opens (and waits for a writable disk) before READY=1.
TimeoutStartSec=5min
# SIGTERM: the action in flight finishes, a last status goes out.
TimeoutStopSec=2min
KillMode=mixed
UMask=0077
LimitNOFILE=65536

# Hardening: nothing of the system is writable but the data dir; no capability at all (uid 0
# reaches the root-owned Docker socket and data dir without one). No MemoryDenyWriteExecute=:
# V8's JIT needs writable and executable memory.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ReadWritePaths=${quoteArgument(paths.dataDir)}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
# A call outside the filter fails (libuv falls back) instead of killing the agent.
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`;
}

/** systemd splits ExecStart= on spaces and takes C-style escapes inside double quotes. */
function quoteArgument(argument: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(argument)) return argument;
  return `"${argument.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}
