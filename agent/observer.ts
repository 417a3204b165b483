import { compareStrings } from '../shared/compare.js';
import { LABELS } from '../shared/labels.js';
import type { OwnerTokenVerifier, ResourceTokenVerifier } from './core/owner-token.js';
import { changedViewFields, proveOwnership, proveResourceOwnership, viewChanges } from './core/ownership.js';
import type { FieldChange } from '../shared/spec-diff.js';
import type { HeldPort, LabelledIdentity, ObservedContainer, ObservedResource, OwnerRecord, ResourceIdentity, ResourceKind, ResourceRecord, RuntimeSnapshot } from './core/snapshot.js';
import type { RuntimeAdapter, RuntimeContainerDetails, RuntimeContainerSummary, RuntimeImage, RuntimeResourceSummary } from './runtime/runtime-adapter.js';
import { normalizeImageRef } from './core/images.js';

export interface OwnerLookup {
  ownerRecord(token: string): OwnerRecord | undefined;
  /** Checks a token's HMAC with this host's secret. */
  readonly verifyOwnerToken: OwnerTokenVerifier;
  resourceRecord(token: string): ResourceRecord | undefined;
  readonly verifyResourceToken: ResourceTokenVerifier;
}

/**
 * Turns the runtime into a RuntimeSnapshot. One list call per observation; an inspect only for
 * owned containers not seen since the last runtime event about them (cached by container id).
 */
export class Observer {
  readonly #details = new Map<string, RuntimeContainerDetails>();

  constructor(
    private readonly runtime: RuntimeAdapter,
    private readonly owners: OwnerLookup,
    private readonly hostId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Forget cached details of one container (a runtime event named it), or of all (events were missed). */
  invalidate(containerId?: string): void {
    if (containerId === undefined) this.#details.clear();
    else this.#details.delete(containerId);
  }

  async observe(): Promise<RuntimeSnapshot> {
    const [containers, images, networks, volumes] = await Promise.all([this.runtime.listContainers(), this.runtime.listImages(), this.runtime.listNetworks(), this.runtime.listVolumes()]);
    const observedAt = this.now().toISOString();
    const labelled: ObservedContainer[] = [];
    const foreignNames: string[] = [];
    const foreignOwners: Record<string, string> = {};
    const listed = new Set<string>();
    await Promise.all(
      containers.map(async (summary) => {
        listed.add(summary.id);
        const identity = identityOf(summary);
        if (!identity || identity.hostId !== this.hostId) {
          foreignNames.push(summary.name);
          if (identity) foreignOwners[summary.name] = identity.hostId;
          return;
        }
        labelled.push(await this.#observeLabelled(summary, identity));
      }),
    );
    for (const id of this.#details.keys()) if (!listed.has(id)) this.#details.delete(id);
    labelled.sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.id, b.id));
    // Containers of other owners plugged into a network keep it from being removed: note them on it.
    const foreignUsers = new Map<string, string[]>();
    const ownedIds = new Set(labelled.filter((container) => container.ownership.owned).map((container) => container.id));
    for (const summary of containers) {
      if (ownedIds.has(summary.id)) continue;
      for (const network of summary.networks ?? []) foreignUsers.set(network, [...(foreignUsers.get(network) ?? []), summary.name]);
    }
    // Host ports others hold: a create that binds one would fail at start (the port gate says so first).
    const foreignPorts: HeldPort[] = [];
    for (const summary of containers) {
      if (ownedIds.has(summary.id)) continue;
      const ownerHostId = foreignOwners[summary.name];
      for (const port of summary.ports ?? []) foreignPorts.push({ holder: summary.name, ...(ownerHostId === undefined ? {} : { ownerHostId }), ...port });
    }
    foreignPorts.sort((a, b) => a.port - b.port || compareStrings(a.protocol, b.protocol) || compareStrings(a.ip, b.ip) || compareStrings(a.holder, b.holder));
    const observedNetworks = this.#observeResources('network', networks, foreignUsers);
    const observedVolumes = this.#observeResources('volume', volumes);
    const references = images.flatMap((image) => image.references).sort(compareStrings);
    const imageIds: Record<string, string> = {};
    for (const image of images) for (const reference of image.references) imageIds[normalizeImageRef(reference)] = image.id;
    // Image cleanup never removes an image any container uses, whoever owns the container.
    const usedImageIds = [...new Set(containers.flatMap((summary) => (summary.imageId === undefined ? [] : [summary.imageId])))].sort(compareStrings);
    const hostImages = images.map((image) => ({ id: image.id, references: image.references })).sort((a, b) => compareStrings(a.id, b.id));
    const engineSubnets = networks.flatMap((network) => network.subnets ?? []).sort(compareStrings);
    return { hostId: this.hostId, observedAt, containers: withImages(labelled, containers, images), foreignNames: foreignNames.sort(compareStrings), foreignOwners, images: references, imageIds, hostImages, usedImageIds, networks: observedNetworks.labelled, volumes: observedVolumes.labelled, foreignNetworks: observedNetworks.foreign, foreignVolumes: observedVolumes.foreign, foreignPorts, ...(engineSubnets.length > 0 ? { engineSubnets } : {}) };
  }

  /** Networks or volumes labelled for this host, with their ownership proven, and the names of all others. */
  #observeResources(kind: ResourceKind, summaries: readonly RuntimeResourceSummary[], foreignUsers?: ReadonlyMap<string, readonly string[]>): { labelled: ObservedResource[]; foreign: string[] } {
    const labelled: ObservedResource[] = [];
    const foreign: string[] = [];
    for (const summary of summaries) {
      const identity = resourceIdentityOf(kind, summary);
      if (!identity || identity.hostId !== this.hostId) {
        foreign.push(summary.name);
        continue;
      }
      const ownership = proveResourceOwnership(summary.id, identity, this.owners.resourceRecord(identity.ownerToken), this.owners.verifyResourceToken);
      const users = foreignUsers?.get(summary.name);
      labelled.push({ id: summary.id, name: summary.name, identity, ownership, ...(users === undefined ? {} : { foreignUsers: [...users].sort(compareStrings) }), ...(summary.subnets === undefined ? {} : { subnets: summary.subnets }) });
    }
    labelled.sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.id, b.id));
    return { labelled, foreign: foreign.sort(compareStrings) };
  }

  async #observeLabelled(summary: RuntimeContainerSummary, identity: LabelledIdentity): Promise<ObservedContainer> {
    const record = this.owners.ownerRecord(identity.ownerToken);
    const ownership = proveOwnership(summary.id, identity, record, this.owners.verifyOwnerToken);
    let modifiedFields: readonly string[] = [];
    let modifications: readonly FieldChange[] | undefined;
    let restartCount: number | undefined;
    let ended: Pick<ObservedContainer, 'exitCode' | 'oomKilled'> = summary.exitCode === undefined ? {} : { exitCode: summary.exitCode };
    let startedAt: string | undefined;
    if (ownership.owned) {
      const details = await this.#detailsOf(summary.id);
      restartCount = details?.restartCount;
      startedAt = details?.startedAt;
      if (details && record?.createdView) {
        modifiedFields = changedViewFields(record.createdView, details.view);
        modifications = modifiedFields.length === 0 ? undefined : viewChanges(record.createdView, details.view);
      }
      // How the last run ended: the list's exit code (of a container that is not running), the inspect's OOM kill
      // (the inspect may be older than the list by a restart; events invalidate it).
      if (details?.oomKilled !== undefined) ended = { exitCode: summary.exitCode ?? (details.state === summary.state ? details.exitCode : undefined), oomKilled: details.oomKilled };
    }
    return { id: summary.id, name: summary.name, state: summary.state, health: summary.health, createdAt: summary.createdAt, identity, ownership, modifiedFields, ...(modifications === undefined ? {} : { modifications }), restartCount, ...(summary.networks === undefined ? {} : { networks: summary.networks }), ...ended, ...(startedAt === undefined ? {} : { startedAt }) };
  }

  async #detailsOf(id: string): Promise<RuntimeContainerDetails | undefined> {
    const cached = this.#details.get(id);
    if (cached) return cached;
    const details = await this.runtime.inspectContainer(id);
    if (details) this.#details.set(id, details);
    return details;
  }
}

/** The identity a container's labels claim, or undefined when it carries no complete set. */
export function identityOf(summary: Pick<RuntimeContainerSummary, 'labels'>): LabelledIdentity | undefined {
  const labels = summary.labels;
  const instance = Number(labels[LABELS.instance]);
  const project = labels[LABELS.project];
  const service = labels[LABELS.service];
  const hostId = labels[LABELS.host];
  const specHash = labels[LABELS.specHash];
  const ownerToken = labels[LABELS.ownerToken];
  if (!project || !service || !hostId || !specHash || !ownerToken || !Number.isInteger(instance)) return undefined;
  return { project, service, instance, hostId, specHash, ownerToken };
}

/** The identity a network's or volume's labels claim, or undefined when it carries no complete set. */
export function resourceIdentityOf(kind: ResourceKind, summary: Pick<RuntimeResourceSummary, 'labels'>): ResourceIdentity | undefined {
  const labels = summary.labels;
  const project = labels[LABELS.project];
  const resource = labels[kind === 'network' ? LABELS.network : LABELS.volume];
  const hostId = labels[LABELS.host];
  const specHash = labels[LABELS.specHash];
  const ownerToken = labels[LABELS.ownerToken];
  if (!project || !resource || !hostId || !specHash || !ownerToken) return undefined;
  return { kind, hostId, project, resource, specHash, ownerToken };
}

/** Each container's image, with a repo digest when the image has one (the first, sorted). */
function withImages(labelled: readonly ObservedContainer[], summaries: readonly RuntimeContainerSummary[], images: readonly RuntimeImage[]): ObservedContainer[] {
  const imageIdOf = new Map(summaries.flatMap((summary) => (summary.imageId === undefined ? [] : [[summary.id, summary.imageId] as const])));
  const digestOf = new Map(images.map((image) => [image.id, image.references.find((reference) => reference.includes('@'))] as const));
  return labelled.map((container) => {
    const imageId = imageIdOf.get(container.id);
    if (imageId === undefined) return container;
    const digest = digestOf.get(imageId);
    return { ...container, image: { id: imageId, ...(digest === undefined ? {} : { digest: digest.slice(digest.indexOf('@') + 1) }) } };
  });
}
