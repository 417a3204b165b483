import { compareStrings } from '../shared/compare.js';
import { LABELS } from '../shared/labels.js';
import type { OwnerTokenVerifier } from './core/owner-token.js';
import { changedViewFields, proveOwnership } from './core/ownership.js';
import type { LabelledIdentity, ObservedContainer, OwnerRecord, RuntimeSnapshot } from './core/snapshot.js';
import type { RuntimeAdapter, RuntimeContainerDetails, RuntimeContainerSummary } from './runtime/runtime-adapter.js';

export interface OwnerLookup {
  ownerRecord(token: string): OwnerRecord | undefined;
  /** Checks a token's HMAC with this host's secret. */
  readonly verifyOwnerToken: OwnerTokenVerifier;
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
    const [containers, images] = await Promise.all([this.runtime.listContainers(), this.runtime.listImages()]);
    const observedAt = this.now().toISOString();
    const labelled: ObservedContainer[] = [];
    const foreignNames: string[] = [];
    const listed = new Set<string>();
    await Promise.all(
      containers.map(async (summary) => {
        listed.add(summary.id);
        const identity = identityOf(summary);
        if (!identity || identity.hostId !== this.hostId) {
          foreignNames.push(summary.name);
          return;
        }
        labelled.push(await this.#observeLabelled(summary, identity));
      }),
    );
    for (const id of this.#details.keys()) if (!listed.has(id)) this.#details.delete(id);
    labelled.sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.id, b.id));
    return { hostId: this.hostId, observedAt, containers: labelled, foreignNames: foreignNames.sort(compareStrings), images };
  }

  async #observeLabelled(summary: RuntimeContainerSummary, identity: LabelledIdentity): Promise<ObservedContainer> {
    const record = this.owners.ownerRecord(identity.ownerToken);
    const ownership = proveOwnership(summary.id, identity, record, this.owners.verifyOwnerToken);
    let modifiedFields: readonly string[] = [];
    let restartCount: number | undefined;
    if (ownership.owned) {
      const details = await this.#detailsOf(summary.id);
      restartCount = details?.restartCount;
      if (details && record?.createdView) modifiedFields = changedViewFields(record.createdView, details.view);
    }
    return { id: summary.id, name: summary.name, state: summary.state, health: summary.health, createdAt: summary.createdAt, identity, ownership, modifiedFields, restartCount };
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
