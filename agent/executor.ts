// The executor: the only code that mutates the runtime, one handler per action kind.
import { NameConflictError } from '../shared/errors.js';
import { formatBytes } from '../shared/byte-size.js';
import { LABELS } from '../shared/labels.js';
import { conditionText, type ActionKind, type ActionOf } from '../shared/actions.js';
import { sleep } from '../shared/sleep.js';
import { proveOwnership, proveResourceOwnership } from './core/ownership.js';
import { hostPathsOfContainer, volumeHostPath, type HostPolicy } from './core/host-policy.js';
import { checkHostPaths } from './runtime/host-paths.js';
import { resolveEnv } from './runtime/secret-env-resolver.js';
import type { ContainerConfigView, InstanceKey, OwnerRecord, ResourceKind, ResourceRecord } from './core/snapshot.js';
import { identityOf, resourceIdentityOf, type OwnerLookup } from './observer.js';
import { remoteDependencyVerdict } from './core/remote-dependency.js';
import type { EndpointRecord } from '../shared/endpoint-record.js';
import type { PulledImage, PullProgress, RuntimeAdapter, RuntimeContainerDetails } from './runtime/runtime-adapter.js';

/** What one action did. `already` means the runtime was already in the wanted state. */
export interface ActionOutcome {
  readonly outcome: 'done' | 'already';
  readonly message: string;
  readonly containerId?: string;
  /** For create: the new container's configuration as read back, and the record that owns it. */
  readonly createdView?: ContainerConfigView;
  readonly adoptedRecord?: OwnerRecord;
  /** For create-network and create-volume: the engine's id of what was made (a volume's is its name), or adopted. */
  readonly resourceId?: string;
  readonly adoptedResource?: ResourceRecord;
  /** For remove-image: the image is gone (removed now or before), and the disk the removal freed. */
  readonly imageGone?: boolean;
  readonly freedBytes?: number;
  /** For pull-image: what the pull got (image id, digest, the credentials' reference). */
  readonly pulled?: PulledImage;
}

export interface ExecutionContext {
  readonly runtime: RuntimeAdapter;
  readonly owners: OwnerLookup;
  readonly hostId: string;
  /** The token the create intent issued. */
  readonly ownerToken: string | undefined;
  /** The container created earlier in the same chain, for a start that follows a create. */
  readonly chainContainerId: string | undefined;
  readonly signal: AbortSignal;
  /** Told as a pull's layers arrive (throttled by the caller). */
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** The journal's latest record of an instance: a start finds there the sealed files its container was created with. */
  readonly recordOf?: (key: InstanceKey) => OwnerRecord | undefined;
  /** This host's policy: the host paths a create uses are resolved against it first (none checked when omitted). */
  readonly policy?: HostPolicy;
  /** The endpoint records of a service on other hosts, for depends_on across hosts (none when the host is not in a fleet). */
  readonly remoteRecords?: RemoteRecords;
}

/** The accepted, fresh endpoint records of a project's service on other hosts. */
export type RemoteRecords = (project: string, service: string) => readonly EndpointRecord[];

type Handler<K extends ActionKind> = (action: ActionOf<K>, context: ExecutionContext) => Promise<ActionOutcome>;

/** The only code that mutates the runtime: one handler per action kind, checked exhaustively. */
export const actionHandlers: { readonly [K in ActionKind]: Handler<K> } = {
  'pull-image': async (action, { runtime, signal, onPullProgress }) => {
    const pulled = await runtime.pullImage(action.image, signal, onPullProgress);
    const details = [pulled.digest && `digest ${pulled.digest}`, pulled.imageId && `image ${pulled.imageId.replace(/^sha256:/, '').slice(0, 12)}`, pulled.credentials && `credentials: ${pulled.credentials}`].filter(Boolean);
    return { outcome: 'done', message: `pulled image ${action.image}${details.length > 0 ? ` (${details.join('; ')})` : ''}`, pulled };
  },

  create: async (action, { runtime, owners, hostId, ownerToken, policy }) => {
    if (!ownerToken) throw new Error(`create ${action.name}: no owner token was issued`);
    if (policy) {
      const paths = hostPathsOfContainer(action.config);
      await checkHostPaths(`create ${action.name}`, [
        ...paths.binds.map((path) => ({ path, what: 'bind mount', allowed: policy.allowHostPaths, flag: '--allow-host-path' })),
        ...paths.secretFiles.map((path) => ({ path, what: 'secret_file', allowed: policy.allowSecretFiles, flag: '--allow-secret-file' })),
      ]);
    }
    const identityLabels = {
      [LABELS.project]: action.key.project,
      [LABELS.service]: action.key.service,
      [LABELS.instance]: String(action.key.instance),
      [LABELS.host]: hostId,
      [LABELS.specHash]: action.specHash,
      [LABELS.ownerToken]: ownerToken,
    };
    try {
      const env = await resolveEnv(action.config.env);
      const containerId = await runtime.createContainer({ name: action.name, config: action.config, env, identityLabels, ...(action.attach ? { attach: action.attach } : {}) });
      const details = await runtime.inspectContainer(containerId);
      return { outcome: 'done', message: `created ${action.name}`, containerId, createdView: details?.view };
    } catch (error) {
      if (!(error instanceof NameConflictError)) throw error;
      return adoptOnConflict(action, runtime, owners, hostId);
    }
  },

  start: async (action, { runtime, chainContainerId, recordOf }) => {
    const containerId = action.containerId ?? chainContainerId;
    if (!containerId) throw new Error(`start ${action.name}: the chain created no container to start`);
    // After a reboot its secret files are gone from the tmpfs: written again from the sealed ones it was created with.
    const record = recordOf?.(action.key);
    const secrets = record?.containerId === containerId ? record.config.secrets : undefined;
    const result = await runtime.startContainer(containerId, secrets);
    if (result === 'already-running') return { outcome: 'already', message: `${action.name} was already running`, containerId };
    const released = result === 'started-after-release' ? ' (after releasing a stale network endpoint the engine had kept)' : '';
    return { outcome: 'done', message: `started ${action.name}${released}`, containerId };
  },

  rename: async (action, { runtime }) => {
    const result = await runtime.renameContainer(action.containerId, action.newName);
    return { outcome: result === 'renamed' ? 'done' : 'already', message: result === 'renamed' ? `renamed ${action.name} to ${action.newName}` : `${action.newName} already had that name`, containerId: action.containerId };
  },

  'await-healthy': async (action, { runtime, chainContainerId, signal }) => {
    if (!chainContainerId) throw new Error(`${action.name}: the chain created no container to wait for`);
    const deadline = Date.now() + action.timeoutSeconds * 1000;
    for (;;) {
      const details = await runtime.inspectContainer(chainContainerId);
      if (!details) throw new Error(`${action.name} disappeared while starting`);
      if (details.state === 'exited' || details.state === 'dead') throw new Error(`${action.name} ${details.state} before it was healthy; the old instance keeps running`);
      if (details.health === 'unhealthy') throw new Error(`${action.name} is unhealthy; the old instance keeps running`);
      const hasCheck = details.view.healthcheck.length > 0 && details.view.healthcheck[0] !== 'NONE';
      if (details.state === 'running' && (details.health === 'healthy' || !hasCheck)) return { outcome: 'done', message: `${action.name} is ${hasCheck ? 'healthy' : 'running'}`, containerId: chainContainerId };
      if (Date.now() > deadline || signal.aborted) throw new Error(`${action.name} was not healthy within ${action.timeoutSeconds}s; the old instance keeps running`);
      await sleep(250, signal);
    }
  },

  'await-dependency': async (action, { runtime, signal, remoteRecords }) => {
    const deadline = Date.now() + action.timeoutSeconds * 1000;
    if (action.hosts !== undefined) {
      // On other hosts: asked of the registry's view until met; it changes as their records arrive.
      for (;;) {
        const verdict = remoteDependencyVerdict(action.dependency, action.condition, action.hosts, remoteRecords?.(action.key.project, action.dependency) ?? []);
        if (verdict.kind === 'met') return { outcome: 'done', message: verdict.message };
        if (verdict.kind === 'failed') throw new Error(`${action.name} not started: ${verdict.message} (depends_on ${action.dependency}: ${action.condition})`);
        if (Date.now() > deadline || signal.aborted) throw new Error(`${action.name} not started: ${verdict.message} after ${action.timeoutSeconds}s (depends_on ${action.dependency}: ${action.condition})`);
        await sleep(250, signal);
      }
    }
    if (action.containers.length === 0) throw new Error(`${action.name}: ${action.dependency} has no instance to wait for`);
    for (;;) {
      const verdicts = await Promise.all(action.containers.map(async (name) => dependencyVerdict(action.condition, name, await runtime.inspectContainer(name))));
      const failed = verdicts.find((verdict): verdict is Exclude<DependencyVerdict, { kind: 'met' }> => verdict.kind === 'failed');
      if (failed) throw new Error(`${action.name} not started: ${failed.message} (depends_on ${action.dependency}: ${action.condition})`);
      const waiting = verdicts.find((verdict): verdict is Exclude<DependencyVerdict, { kind: 'met' }> => verdict.kind === 'waiting');
      if (!waiting) return { outcome: 'done', message: `${action.dependency} ${conditionText(action.condition)}` };
      if (Date.now() > deadline || signal.aborted) throw new Error(`${action.name} not started: ${waiting.message} after ${action.timeoutSeconds}s (depends_on ${action.dependency}: ${action.condition})`);
      await sleep(250, signal);
    }
  },

  unpause: async (action, { runtime }) => {
    const result = await runtime.unpauseContainer(action.containerId);
    return { outcome: result === 'unpaused' ? 'done' : 'already', message: result === 'unpaused' ? `unpaused ${action.name}` : `${action.name} was not paused`, containerId: action.containerId };
  },

  stop: async (action, { runtime }) => {
    const result = await runtime.stopContainer(action.containerId, action.timeoutSeconds);
    const message = result === 'stopped' ? `stopped ${action.name}` : result === 'already-stopped' ? `${action.name} was already stopped` : `${action.name} was already gone`;
    return { outcome: result === 'stopped' ? 'done' : 'already', message, containerId: action.containerId };
  },

  remove: async (action, { runtime }) => {
    const result = await runtime.removeContainer(action.containerId);
    return { outcome: result === 'removed' ? 'done' : 'already', message: result === 'removed' ? `removed ${action.name}` : `${action.name} was already removed`, containerId: action.containerId };
  },

  'create-network': async (action, context) => {
    const identityLabels = resourceLabels('network', action, context);
    try {
      const resourceId = await context.runtime.createNetwork({ name: action.name, spec: action.spec, identityLabels });
      return { outcome: 'done', message: `created network ${action.name}`, resourceId };
    } catch (error) {
      if (!(error instanceof NameConflictError)) throw error;
      return adoptResourceOnConflict('network', action, context);
    }
  },

  'create-volume': async (action, context) => {
    const identityLabels = resourceLabels('volume', action, context);
    const device = volumeHostPath(action.spec);
    if (context.policy && device !== undefined) await checkHostPaths(`create volume ${action.name}`, [{ path: device, what: 'driver_opts device', allowed: context.policy.allowHostPaths, flag: '--allow-host-path' }]);
    try {
      const resourceId = await context.runtime.createVolume({ name: action.name, spec: action.spec, identityLabels });
      return { outcome: 'done', message: `created volume ${action.name}`, resourceId };
    } catch (error) {
      if (!(error instanceof NameConflictError)) throw error;
      return adoptResourceOnConflict('volume', action, context);
    }
  },

  'remove-network': async (action, { runtime }) => {
    const result = await runtime.removeNetwork(action.networkId);
    return { outcome: result === 'removed' ? 'done' : 'already', message: result === 'removed' ? `removed network ${action.name}` : `network ${action.name} was already removed`, resourceId: action.networkId };
  },

  'remove-image': async (action, { runtime }) => {
    const removal = await runtime.removeImage(action.imageId, action.references);
    const what = `image ${action.references.join(', ')}`;
    if (removal.result === 'missing') return { outcome: 'already', message: `${what} was already removed`, imageGone: true };
    // Tagged by hand since the plan: no longer Hostwright's alone.
    if (removal.result === 'kept') return { outcome: 'already', message: `kept ${what}: it also answers to ${removal.others.join(', ')}` };
    return { outcome: 'done', message: `removed ${what}; freed ${formatBytes(removal.freedBytes)} (${removal.freedBytes} bytes)`, imageGone: true, freedBytes: removal.freedBytes };
  },
  'remove-volume': async (action, { runtime }) => {
    const result = await runtime.removeVolume(action.name);
    return { outcome: result === 'removed' ? 'done' : 'already', message: result === 'removed' ? `removed volume ${action.name}` : `volume ${action.name} was already removed`, resourceId: action.name };
  },
};

function resourceLabels(kind: ResourceKind, action: ActionOf<'create-network' | 'create-volume'>, { hostId, ownerToken }: ExecutionContext): Record<string, string> {
  if (!ownerToken) throw new Error(`create ${kind} ${action.name}: no owner token was issued`);
  return {
    [LABELS.project]: action.project,
    [kind === 'network' ? LABELS.network : LABELS.volume]: action.resource,
    [LABELS.host]: hostId,
    [LABELS.specHash]: action.specHash,
    [LABELS.ownerToken]: ownerToken,
  };
}

/** A network or volume create hit an existing name: adopt it when it is provably ours and the same, otherwise say who holds it. */
async function adoptResourceOnConflict(kind: ResourceKind, action: ActionOf<'create-network' | 'create-volume'>, { runtime, owners, hostId }: ExecutionContext): Promise<ActionOutcome> {
  const listed = kind === 'network' ? await runtime.listNetworks() : await runtime.listVolumes();
  const holder = listed.find((candidate) => candidate.name === action.name);
  if (!holder) throw new NameConflictError(`${kind} ${action.name}: name in use, but no ${kind} by that name is listed`);
  const identity = resourceIdentityOf(kind, holder);
  const record = identity ? owners.resourceRecord(identity.ownerToken) : undefined;
  const ownership = identity && identity.hostId === hostId ? proveResourceOwnership(holder.id, identity, record, owners.verifyResourceToken) : { owned: false as const, reason: 'it carries no Hostwright labels for this host' };
  if (!ownership.owned || !identity || !record) throw new NameConflictError(`${kind} ${action.name} exists and Hostwright does not own it (${ownership.owned ? 'no journal entry' : ownership.reason})`);
  if (identity.project !== action.project || identity.resource !== action.resource || identity.specHash !== action.specHash) throw new NameConflictError(`${kind} ${action.name} is Hostwright's but was made for another definition`);
  return { outcome: 'already', message: `already converged: adopted existing ${kind} ${action.name}`, resourceId: holder.id, adoptedResource: { ...record, resourceId: holder.id, removed: false } };
}

type DependencyVerdict = { readonly kind: 'met' } | { readonly kind: 'waiting' | 'failed'; readonly message: string };

/** Whether one container of a dependency meets its depends_on condition, will not, or may yet. */
function dependencyVerdict(condition: ActionOf<'await-dependency'>['condition'], name: string, details: RuntimeContainerDetails | undefined): DependencyVerdict {
  if (!details) return { kind: 'waiting', message: `${name} does not exist` };
  const exited = details.state === 'exited' || details.state === 'dead';
  const code = details.exitCode === undefined ? '' : ` with code ${details.exitCode}`;
  if (condition === 'service_completed_successfully') {
    if (details.state === 'exited' && details.exitCode === 0) return { kind: 'met' };
    return exited ? { kind: 'failed', message: `${name} ${details.state}${code}` } : { kind: 'waiting', message: `${name} is still ${details.state}` };
  }
  if (exited) return { kind: 'failed', message: `${name} ${details.state}${code}` };
  if (condition === 'service_started') return details.state === 'running' ? { kind: 'met' } : { kind: 'waiting', message: `${name} is ${details.state}` };
  const hasCheck = details.view.healthcheck.length > 0 && details.view.healthcheck[0] !== 'NONE';
  if (!hasCheck) return { kind: 'failed', message: `${name} has no health check, so it can never be healthy` };
  if (details.health === 'unhealthy') return { kind: 'failed', message: `${name} is unhealthy` };
  return details.state === 'running' && details.health === 'healthy' ? { kind: 'met' } : { kind: 'waiting', message: `${name} is not healthy yet (${details.state}, ${details.health})` };
}

/** Runs one action through the handler of its kind (any Action: K is inferred from it). */
export function executeAction<K extends ActionKind>(action: ActionOf<K>, context: ExecutionContext): Promise<ActionOutcome> {
  const handler = actionHandlers[action.kind] as Handler<K>;
  return handler(action, context);
}

/** A create hit an existing name: adopt it when it is ours and matches, otherwise report who holds it. */
async function adoptOnConflict(action: ActionOf<'create'>, runtime: RuntimeAdapter, owners: OwnerLookup, hostId: string): Promise<ActionOutcome> {
  const holder = (await runtime.listContainers()).find((container) => container.name === action.name);
  if (!holder) throw new NameConflictError(`${action.name}: name in use, but no container by that name is listed`);
  const identity = identityOf(holder);
  const record = identity ? owners.ownerRecord(identity.ownerToken) : undefined;
  const ownership = identity && identity.hostId === hostId ? proveOwnership(holder.id, identity, record, owners.verifyOwnerToken) : { owned: false as const, reason: 'it carries no Hostwright labels for this host' };
  if (!ownership.owned || !identity || !record) throw new NameConflictError(`${action.name} is taken by container ${holder.id.slice(0, 12)}, which Hostwright does not own (${ownership.owned ? 'no journal entry' : ownership.reason})`);
  const sameInstance = identity.project === action.key.project && identity.service === action.key.service && identity.instance === action.key.instance;
  if (!sameInstance || identity.specHash !== action.specHash) throw new NameConflictError(`${action.name} is taken by Hostwright container ${holder.id.slice(0, 12)} with another spec; it will be replaced on the next plan`);
  const details = record.createdView ? undefined : await runtime.inspectContainer(holder.id);
  return {
    outcome: 'already',
    message: `already converged: adopted existing ${action.name}`,
    containerId: holder.id,
    adoptedRecord: { ...record, containerId: holder.id, createdView: record.createdView ?? details?.view, removed: false },
  };
}
