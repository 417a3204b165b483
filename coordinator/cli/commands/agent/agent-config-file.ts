import { existsSync } from 'node:fs';
import { agentConfigSchema, type AgentConfig } from '../../../../shared/agent-config.js';
import { DEFAULT_AGENT_CONFIG_PATH } from '../../../../shared/agent-paths.js';
import { loadYamlFile, type YamlFileKind } from '../../../fleet-file.js';
import type { AgentOptions } from './options.js';

const AGENT_CONFIG_FILE: YamlFileKind = { what: 'agent configuration file', whenEmpty: 'expected at least `host_id:` and `nats:` (see docs/fleet.md, "The agent\'s configuration file")', example: 'agent.yaml' };

/** Reads and validates an agent configuration file; a bad one is an InvalidInputError naming file:line and the key. */
export function loadAgentConfig(path: string): Promise<AgentConfig> {
  return loadYamlFile(path, agentConfigSchema, AGENT_CONFIG_FILE);
}

/** --config, else /etc/hostwright/agent.yaml when it exists (fleet mode only: local mode is run by hand). */
export function agentConfigPath(options: Pick<AgentOptions, 'config' | 'local'>, exists: (path: string) => boolean = existsSync): string | undefined {
  if (options.config !== undefined) return options.config;
  return !options.local && exists(DEFAULT_AGENT_CONFIG_PATH) ? DEFAULT_AGENT_CONFIG_PATH : undefined;
}

/** The environment variable each option falls back to when neither its flag nor the file sets it. */
const ENV_OF: Partial<Record<keyof AgentOptions, string>> = {
  nats: 'HOSTWRIGHT_NATS',
  creds: 'HOSTWRIGHT_CREDS',
  tlsCa: 'HOSTWRIGHT_TLS_CA',
  tlsCert: 'HOSTWRIGHT_TLS_CERT',
  tlsKey: 'HOSTWRIGHT_TLS_KEY',
  coordinatorKey: 'HOSTWRIGHT_COORDINATOR_KEY',
  dataDir: 'HOSTWRIGHT_DATA_DIR',
};

/**
 * The options the agent runs with: a flag given on the command line wins, then its environment
 * variable, then the file, then the flag's default. Labels are merged key by key (a flag's wins);
 * a list given as flags replaces the file's list. Pure.
 */
export function withAgentConfig(options: AgentOptions, config: AgentConfig, fromCommandLine: ReadonlySet<string>, env: NodeJS.ProcessEnv = process.env): AgentOptions {
  const fromFile: Partial<Record<keyof AgentOptions, unknown>> = {
    hostId: config.host_id,
    nats: config.nats === undefined ? undefined : typeof config.nats.servers === 'string' ? config.nats.servers : config.nats.servers.join(','),
    creds: config.nats?.creds,
    tlsCa: config.nats?.tls?.ca,
    tlsCert: config.nats?.tls?.cert,
    tlsKey: config.nats?.tls?.key,
    coordinatorKey: config.coordinator_key,
    allowUnsigned: config.allow_unsigned,
    curveKey: config.curve_key,
    secretsDir: config.secrets_dir,
    dataDir: config.data_dir,
    namePrefix: config.name_prefix,
    parallel: config.parallel === undefined ? undefined : String(config.parallel),
    resync: config.resync,
    heartbeat: config.heartbeat,
    metricsAddr: config.metrics_addr,
    logLevel: config.log_level,
    allowPrivileged: config.policy?.allow_privileged,
    allowDevices: config.policy?.allow_devices,
    allowCap: config.policy?.allow_caps,
    allowHostPath: config.policy?.allow_host_paths,
    allowHostNetwork: config.policy?.allow_host_network,
    allowSecurityOpt: config.policy?.allow_security_opts,
    allowSysctl: config.policy?.allow_sysctls,
    allowVolumeDriver: config.policy?.allow_volume_drivers,
    allowVolumeType: config.policy?.allow_volume_types,
    allowLogDriver: config.policy?.allow_log_drivers,
    allowSecretFile: config.policy?.allow_secret_files,
    allowNetworkOpt: config.policy?.allow_network_opts,
    allowExec: config.policy?.allow_exec,
    registryAuth: config.registry_auth,
    imageGrace: config.image_grace,
  };
  const merged: Record<string, unknown> = { ...options };
  for (const [name, value] of Object.entries(fromFile) as [keyof AgentOptions, unknown][]) {
    if (value === undefined || fromCommandLine.has(name)) continue;
    const envName = ENV_OF[name];
    if (envName !== undefined && (env[envName] ?? '') !== '') continue;
    merged[name] = value;
  }
  const fileLabels = Object.entries(config.labels ?? {}).map(([key, value]) => `${key}=${value}`);
  merged.label = [...fileLabels, ...(options.label ?? [])];
  return merged as unknown as AgentOptions;
}
