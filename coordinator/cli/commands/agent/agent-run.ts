import { resolve } from 'node:path';
import { agentLogger } from './agent-logger.js';
import type { DesiredTrust } from '../../../../agent/fleet/desired-watcher.js';
import { runFleetAgent } from '../../../../agent/fleet/fleet-agent.js';
import { InvalidInputError } from '../../../../shared/errors.js';
import { hostIdSchema } from '../../../../shared/fleet-spec.js';
import { AgentDaemon } from '../../../../agent/daemon.js';
import { notifyServiceManager } from '../../../../agent/service-manager.js';
import { LOCAL_HOST_POLICY, hostPolicyFromFlags } from '../../../../agent/core/host-policy.js';
import { FleetFileSource } from '../../../fleet-file-source.js';
import { resolveCoordinatorKey } from '../../../signing-key.js';
import { localHostId } from '../../local-host.js';
import { defaultDataDir, hasFile, modeOf, parseLabels, parseParallel, workloadSourceOf } from '../../options.js';
import { registryAuthOf } from '../../registry-auth-option.js';
import { usePrivateUmask } from '../../private-umask.js';
import { imageGraceOf, parseHeartbeat, parseTimeout } from '../../parse.js';
import { agentConfigPath, loadAgentConfig, withAgentConfig } from './agent-config-file.js';
import type { AgentOptions } from './options.js';
import { readFile } from 'node:fs/promises';
import { curveKeyOf } from '../../../../shared/file-secret-keys.js';
import { errorMessage } from '../../../../shared/errors.js';
import { DEFAULT_MESH_INTERFACE, MESH_INTERFACE_PATTERN, endpointSchema } from '../../../../shared/mesh.js';
import { DEFAULT_SECRETS_DIR, SecretFileStore } from '../../../../agent/runtime/secret-files.js';

/** `agent`: the reconcile loop as a daemon until SIGINT or SIGTERM, fed from NATS or from a fleet file. */
export async function runAgent(flags: AgentOptions, fromCommandLine: ReadonlySet<string> = new Set()): Promise<void> {
  const configPath = agentConfigPath(flags);
  const options = configPath === undefined ? flags : withAgentConfig(flags, await loadAgentConfig(configPath), fromCommandLine);
  // Opens the journal: what LevelDB creates later is 0600 too (process-wide, so set here and not in Journal).
  usePrivateUmask();
  const mode = modeOf(options, 'agent');
  const resyncMs = parseTimeout(options.resync, '--resync');
  const logger = agentLogger(options.logLevel);
  if (configPath !== undefined) logger.info({ config: configPath }, 'configuration file read (flags given on the command line win over it)');
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
  // Under systemd (Type=notify): ready once the loop runs, stopping as soon as a stop is asked for.
  const onReady = () => notifyServiceManager('ready', logger);
  abort.signal.addEventListener('abort', () => notifyServiceManager('stopping', logger), { once: true });
  const dataDir = options.dataDir ?? defaultDataDir();

  if (mode.kind === 'fleet') {
    if (!options.hostId) throw new InvalidInputError('agent: fleet mode needs --host-id (this host\'s id in the fleet)');
    const hostId = hostIdSchema.safeParse(options.hostId);
    if (!hostId.success) throw new InvalidInputError(`--host-id ${options.hostId}: ${hostId.error.issues[0]?.message ?? 'invalid'}`);
    const coordinatorKey = options.coordinatorKey ?? process.env.HOSTWRIGHT_COORDINATOR_KEY;
    if (!coordinatorKey && !options.allowUnsigned) {
      throw new InvalidInputError('agent: fleet mode needs --coordinator-key (the coordinator\'s public signing key, or the coordinator-signing.pub file; or set HOSTWRIGHT_COORDINATOR_KEY) so that only signed desired state is accepted; `hostwright keys generate --out DIR` makes a key pair. To run without one, pass --allow-unsigned (insecure).');
    }
    // A relative allowed path would be compared as if it started at /: say so instead.
    for (const [flag, paths] of [['--allow-host-path', options.allowHostPath], ['--allow-secret-file', options.allowSecretFile ?? []]] as const) {
      const relative = paths.find((path) => !path.startsWith('/'));
      if (relative !== undefined) throw new InvalidInputError(`${flag} ${relative}: expected an absolute path on this host (such as ${resolve(relative)})`);
    }
    const trust: DesiredTrust = coordinatorKey ? { kind: 'pinned', coordinatorKey: await resolveCoordinatorKey(coordinatorKey) } : { kind: 'unsigned-allowed' };
    await runFleetAgent({
      hostId: hostId.data,
      labels: parseLabels(options.label),
      natsUrl: mode.natsUrl,
      trust,
      natsAccess: mode.access,
      dataDir,
      namePrefix: options.namePrefix ?? '',
      parallelism: parseParallel(options.parallel),
      resyncMs,
      heartbeatMs: parseHeartbeat(options.heartbeat),
      metricsAddr: options.metricsAddr,
      logger: logger.child({ hostId: hostId.data }),
      signal: abort.signal,
      registryAuth: await registryAuthOf(options.registryAuth, 'fleet', logger),
      onReady,
      ...imageGraceOf(options),
      policy: hostPolicyFromFlags(options),
      secretFiles: await secretFileStoreOf(options),
      allowExec: options.allowExec === true,
      ...meshOf(options),
    });
    return;
  }
  if (!hasFile(options)) throw new InvalidInputError('agent: local mode needs -f fleet.yaml (or a compose file)');
  // Local mode: whoever runs it owns the host already, so its policy allows everything.
  const daemon = await AgentDaemon.open({ hostId: localHostId(options), dataDir, resyncMs, parallelism: parseParallel(options.parallel), logger, signal: abort.signal, onReady, policy: LOCAL_HOST_POLICY, registryAuth: await registryAuthOf(options.registryAuth, 'local', logger), ...imageGraceOf(options), ...(options.metricsAddr ? { metricsAddr: options.metricsAddr } : {}) });
  if (daemon) await daemon.run(new FleetFileSource(workloadSourceOf(options), { hostId: options.hostId, labels: parseLabels(options.label) }));
}

/** --curve-key and --secrets-dir: without a key the agent runs, and refuses only containers that mount secrets. */
async function secretFileStoreOf(options: AgentOptions): Promise<SecretFileStore> {
  const dir = options.secretsDir ?? DEFAULT_SECRETS_DIR;
  if (!dir.startsWith('/')) throw new InvalidInputError(`--secrets-dir ${dir}: expected an absolute path on this host (such as ${resolve(dir)})`);
  if (options.curveKey === undefined) return new SecretFileStore(dir, undefined);
  let text: string;
  try {
    text = await readFile(options.curveKey, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`--curve-key ${options.curveKey}: cannot read it (${errorMessage(error)})`, { cause: error });
  }
  try {
    return new SecretFileStore(dir, curveKeyOf(text));
  } catch (error) {
    throw new InvalidInputError(`--curve-key ${options.curveKey}: not a curve seed (SX…, the hosts/<id>.xk that \`hostwright fleet init\` wrote): ${errorMessage(error)}`, { cause: error });
  }
}

/** --mesh-endpoint and --mesh-interface, checked: a mesh interface only with an endpoint. */
function meshOf(options: AgentOptions): { mesh?: { interfaceName: string; endpoint: string } } {
  if (options.meshEndpoint === undefined) {
    if (options.meshInterface !== undefined) throw new InvalidInputError('--mesh-interface needs --mesh-endpoint (the address and port other hosts reach this host\'s WireGuard at)');
    return {};
  }
  if (!endpointSchema.safeParse(options.meshEndpoint).success) throw new InvalidInputError(`--mesh-endpoint ${options.meshEndpoint}: expected this host's IPv4 address and a UDP port, such as 192.0.2.10:51820`);
  const interfaceName = options.meshInterface ?? DEFAULT_MESH_INTERFACE;
  if (!MESH_INTERFACE_PATTERN.test(interfaceName)) throw new InvalidInputError(`--mesh-interface ${interfaceName}: expected "hwm" followed by at most 12 lowercase letters, digits or "-" (the prefix marks it as Hostwright's)`);
  return { mesh: { interfaceName, endpoint: options.meshEndpoint } };
}
