import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { agentConfigSchema, type AgentConfig } from '../../../../shared/agent-config.js';
import { DEFAULT_AGENT_CONFIG_PATH } from '../../../../shared/agent-paths.js';
import { validate } from '../../../../shared/codec.js';
import { InvalidInputError, SchemaError } from '../../../../shared/errors.js';
import { nodeSupport } from '../../node-support.js';
import { parseLabels } from '../../options.js';
import type { HostPolicyFlags } from './options.js';
import { DEFAULT_AGENT_UNIT_PATHS, agentUnitCommand, renderAgentUnit, type AgentUnitPaths } from './agent-unit.js';

/** `agent install` options as commander parses them. */
export interface AgentInstallOptions extends HostPolicyFlags {
  readonly prefix?: string;
  readonly config?: string;
  readonly unitDir?: string;
  readonly configOnly?: boolean;
  readonly force?: boolean;
  readonly node?: string;
  readonly hostId?: string;
  readonly label: string[];
  readonly nats?: string;
  readonly creds?: string;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly coordinatorKey?: string;
  readonly allowUnsigned?: boolean;
  readonly curveKey?: string;
  readonly secretsDir?: string;
  readonly dataDir?: string;
  readonly metricsAddr?: string;
  readonly logLevel?: string;
}

export const UNIT_NAME = 'hostwright-agent.service';

/** What one file of the installation became. */
type Outcome = 'written' | 'unchanged' | 'kept';

/**
 * Writes the agent's configuration file (0600), its systemd unit and its data dir (0700), under
 * --prefix when given. Running it again with the same flags changes nothing; a configuration file
 * that says something else is kept unless --force.
 */
export async function installAgent(options: AgentInstallOptions, print: (line: string) => void): Promise<void> {
  const root = options.prefix === undefined ? '' : resolve(options.prefix);
  const under = (path: string) => (root === '' ? path : join(root, path));
  const configPath = options.config === undefined ? under(DEFAULT_AGENT_CONFIG_PATH) : resolve(options.config);
  const dataDir = options.dataDir === undefined ? under(DEFAULT_AGENT_UNIT_PATHS.dataDir) : resolve(options.dataDir);
  const unitDir = options.unitDir === undefined ? under('/etc/systemd/system') : resolve(options.unitDir);
  const config = agentConfigOf(options, dataDir);

  const node = options.configOnly ? undefined : nodeFor(options.node);
  const configOutcome = await writeConfig(configPath, config, options.force === true);
  if (configOutcome === 'kept') throw new InvalidInputError(`${configPath} exists with other settings; nothing was changed. Edit it, or run again with --force to replace it (the old one is kept as ${configPath}.bak)`);
  print(`${configOutcome.padEnd(9)} ${configPath}`);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  print(`data dir  ${dataDir}`);
  if (node === undefined) return;

  const paths: AgentUnitPaths = { node, cli: realpathSync(process.argv[1] ?? ''), config: configPath, dataDir };
  const unitPath = join(unitDir, UNIT_NAME);
  const unitOutcome = await writeIfChanged(unitPath, renderAgentUnit(paths), 0o644);
  print(`${unitOutcome.padEnd(9)} ${unitPath}`);
  print(`the unit runs: ${agentUnitCommand(paths).join(' ')}`);
  print(`next: systemctl daemon-reload && systemctl enable --now ${UNIT_NAME}   (then: journalctl -u ${UNIT_NAME} -f)`);
}

/** The file's content from the flags; validated as the agent will read it. */
export function agentConfigOf(options: AgentInstallOptions, dataDir: string): AgentConfig {
  if (!options.hostId) throw new InvalidInputError('agent install: --host-id is required (this host\'s id in the fleet)');
  if (!options.nats) throw new InvalidInputError('agent install: --nats is required (the fleet\'s NATS URL; several: comma-separated)');
  if (!options.coordinatorKey && !options.allowUnsigned) throw new InvalidInputError('agent install: --coordinator-key is required (the coordinator\'s public signing key O…, or the absolute path of coordinator-signing.pub), or --allow-unsigned (insecure)');
  const servers = options.nats.split(',').map((server) => server.trim());
  const abs = (path: string | undefined) => (path === undefined ? undefined : resolve(path));
  const tls = options.tlsCa ?? options.tlsCert ?? options.tlsKey;
  const labels = parseLabels(options.label);
  const policy = {
    ...(options.allowPrivileged ? { allow_privileged: true } : {}),
    ...(options.allowDevices ? { allow_devices: true } : {}),
    ...(options.allowCap.length > 0 ? { allow_caps: options.allowCap } : {}),
    ...(options.allowHostPath.length > 0 ? { allow_host_paths: options.allowHostPath.map((path) => resolve(path)) } : {}),
    ...(options.allowHostNetwork ? { allow_host_network: true } : {}),
    ...(options.allowExec ? { allow_exec: true } : {}),
    ...((options.allowSecurityOpt ?? []).length > 0 ? { allow_security_opts: options.allowSecurityOpt } : {}),
    ...((options.allowSysctl ?? []).length > 0 ? { allow_sysctls: options.allowSysctl } : {}),
    ...((options.allowVolumeDriver ?? []).length > 0 ? { allow_volume_drivers: options.allowVolumeDriver } : {}),
    ...((options.allowVolumeType ?? []).length > 0 ? { allow_volume_types: options.allowVolumeType } : {}),
    ...((options.allowLogDriver ?? []).length > 0 ? { allow_log_drivers: options.allowLogDriver } : {}),
    ...((options.allowSecretFile ?? []).length > 0 ? { allow_secret_files: (options.allowSecretFile ?? []).map((path) => resolve(path)) } : {}),
    ...((options.allowNetworkOpt ?? []).length > 0 ? { allow_network_opts: options.allowNetworkOpt } : {}),
  };
  const coordinatorKey = options.coordinatorKey === undefined ? undefined : /^O[A-Z2-7]{55}$/.test(options.coordinatorKey) ? options.coordinatorKey : resolve(options.coordinatorKey);
  const config = {
    host_id: options.hostId,
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    nats: {
      servers: servers.length === 1 ? servers[0] : servers,
      ...(options.creds === undefined ? {} : { creds: abs(options.creds) }),
      ...(tls === undefined ? {} : { tls: { ...(options.tlsCa ? { ca: abs(options.tlsCa) } : {}), ...(options.tlsCert ? { cert: abs(options.tlsCert) } : {}), ...(options.tlsKey ? { key: abs(options.tlsKey) } : {}) } }),
    },
    ...(coordinatorKey === undefined ? {} : { coordinator_key: coordinatorKey }),
    ...(options.allowUnsigned ? { allow_unsigned: true } : {}),
    ...(options.curveKey === undefined ? {} : { curve_key: abs(options.curveKey) }),
    ...(options.secretsDir === undefined ? {} : { secrets_dir: abs(options.secretsDir) }),
    data_dir: dataDir,
    ...(options.metricsAddr === undefined ? {} : { metrics_addr: options.metricsAddr }),
    ...(options.logLevel === undefined ? {} : { log_level: options.logLevel }),
    ...(Object.keys(policy).length > 0 ? { policy } : {}),
  };
  try {
    return validate(agentConfigSchema, config, 'the agent configuration from these flags');
  } catch (error) {
    if (error instanceof SchemaError) throw new InvalidInputError(error.message);
    throw error;
  }
}

async function writeConfig(path: string, config: AgentConfig, force: boolean): Promise<Outcome> {
  const text = `# Hostwright agent configuration (docs/fleet.md, "The agent's configuration file").\n# A flag given to \`hostwright agent\` wins over what is here.\n${stringify(config)}`;
  const existing = await readFile(path, 'utf8').catch((error: unknown) => {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing !== undefined && existing !== text && !force) return 'kept';
  // The directory holds the host's credentials too: nobody else reads it.
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (existing !== undefined && existing !== text) await writeFile(`${path}.bak`, existing, { mode: 0o600 });
  return writeIfChanged(path, text, 0o600);
}

/** Writes through a temporary file and a rename, so a crash leaves the old file or the new one. */
async function writeIfChanged(path: string, text: string, mode: number): Promise<Outcome> {
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  await mkdir(dirname(path), { recursive: true });
  if (existing === text) {
    await chmod(path, mode);
    return 'unchanged';
  }
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, text, { mode });
  await chmod(temporary, mode);
  await rename(temporary, path);
  return 'written';
}

/** The Node.js the unit runs: --node, else this one; refused when older than the agent accepts. */
function nodeFor(given: string | undefined): string {
  const node = given === undefined ? process.execPath : resolve(given);
  let version = process.versions.node;
  if (given !== undefined) {
    const asked = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (asked.status !== 0) throw new InvalidInputError(`agent install: --node ${given} does not run (${asked.error?.message ?? asked.stderr.trim()})`);
    version = asked.stdout.trim();
  }
  if (nodeSupport(version, 'agent').kind !== 'supported') {
    throw new InvalidInputError(`agent install: this Node.js (${version}, ${node}) is too old for the agent, which needs 22.12 or later; pass --node /path/to/node of a supported one`);
  }
  return node;
}
