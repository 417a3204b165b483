import type { Logger } from 'pino';
import { errorMessage } from '../shared/errors.js';
import { HOST_PROJECT } from '../shared/events.js';
import { LABELS } from '../shared/labels.js';
import { isImageAction, isResourceAction, type Action } from '../shared/actions.js';
import { normalizeImageRef } from './core/images.js';
import { stampEvents } from './host-events.js';
import type { OwnerRecord, ResourceRecord } from './core/snapshot.js';
import type { RuntimeAdapter, RuntimeContainerSummary, RuntimeResourceSummary } from './runtime/runtime-adapter.js';
import type { Journal } from './store/journal.js';
import type { IntentRecord, Outcome } from './store/records.js';

export interface RecoveryContext {
  readonly journal: Journal;
  readonly runtime: RuntimeAdapter;
  readonly hostId: string;
  readonly logger: Logger;
  readonly now: () => Date;
}

export interface RecoveredIntent {
  readonly intent: IntentRecord;
  readonly outcome: Extract<Outcome, 'recovered' | 'abandoned'>;
  readonly message: string;
}

/**
 * Gives every intent without a result one: re-observes and records whether the mutation happened
 * (recovered) or not (abandoned; the next plan redoes it). Containers a lost create made are
 * adopted through their owner token, so they are neither duplicated nor orphaned.
 */
export async function resolveUnfinishedIntents(context: RecoveryContext): Promise<RecoveredIntent[]> {
  const intents = await context.journal.unresolvedIntents();
  if (intents.length === 0) return [];
  const [containers, listedImages, networks, volumes] = await Promise.all([context.runtime.listContainers(), context.runtime.listImages(), context.runtime.listNetworks(), context.runtime.listVolumes()]);
  const images = listedImages.flatMap((image) => image.references);
  const imageIds = new Set(listedImages.map((image) => image.id));
  const resolved: RecoveredIntent[] = [];
  for (const intent of intents) {
    const { outcome, message, containerId, owners, resources } = isResourceAction(intent.action) ? resolveResource(intent, networks, volumes, context) : { ...(await resolveOne(intent, containers, images, imageIds, context)), resources: [] };
    const events = stampEvents([{ type: outcome === 'recovered' ? 'applied' : 'failed', severity: outcome === 'recovered' ? 'info' : 'warning', ...where(intent.action), runtimeRef: containerId, message }], {
      hostId: context.hostId,
      timestamp: context.now().toISOString(),
      correlationID: intent.correlationID,
    });
    await context.journal.recordResult({ seq: intent.seq, outcome, message, containerId, finishedAt: context.now().toISOString() }, events, owners, resources);
    context.logger.warn({ correlationID: intent.correlationID, seq: intent.seq, outcome }, message);
    resolved.push({ intent, outcome, message });
  }
  return resolved;
}

interface Resolution {
  outcome: 'recovered' | 'abandoned';
  message: string;
  containerId: string | undefined;
  owners: OwnerRecord[];
}

/** An interrupted create or remove of a network or volume: made (adopted by its token) or gone, or not. */
function resolveResource(intent: IntentRecord, networks: readonly RuntimeResourceSummary[], volumes: readonly RuntimeResourceSummary[], context: RecoveryContext): Resolution & { resources: ResourceRecord[] } {
  const action = intent.action;
  if (!isResourceAction(action)) throw new Error('not a network or volume action');
  const kind = action.kind === 'create-network' || action.kind === 'remove-network' ? 'network' : 'volume';
  const listed = kind === 'network' ? networks : volumes;
  const interrupted = `interrupted ${action.kind} of ${action.name}`;
  if (action.kind === 'create-network' || action.kind === 'create-volume') {
    const record = intent.ownerToken ? context.journal.resourceRecord(intent.ownerToken) : undefined;
    const made = listed.find((candidate) => candidate.labels[LABELS.ownerToken] === intent.ownerToken);
    if (made && record) return { ...recovered(`${interrupted}: the ${kind} was created; adopted it`), resources: [{ ...record, resourceId: made.id, removed: false }] };
    return { ...abandoned(`${interrupted}: no ${kind} was created; the next plan creates it`), resources: [] };
  }
  const id = action.kind === 'remove-network' ? action.networkId : action.name;
  if (listed.some((candidate) => candidate.id === id)) return { ...abandoned(`${interrupted}: not done; the next plan decides again`), resources: [] };
  const record = context.journal.resourceRecordOf(kind, id);
  return { ...recovered(`${interrupted}: it had completed`), resources: record ? [{ ...record, removed: true }] : [] };
}

async function resolveOne(intent: IntentRecord, containers: readonly RuntimeContainerSummary[], images: readonly string[], imageIds: ReadonlySet<string>, context: RecoveryContext): Promise<Resolution> {
  const action = intent.action;
  const interrupted = `interrupted ${action.kind} of ${action.kind === 'pull-image' ? action.image : action.name}`;
  try {
    switch (action.kind) {
      case 'create-network':
      case 'create-volume':
      case 'remove-network':
      case 'remove-volume':
        throw new Error('networks and volumes are resolved by resolveResource');
      case 'pull-image': {
        const present = images.map(normalizeImageRef).includes(normalizeImageRef(action.image));
        return present ? recovered(`${interrupted}: image is present`) : abandoned(`${interrupted}: image is not present; the next plan pulls it again`);
      }
      case 'remove-image':
        // Gone: the removal had completed. Still there (whole, or some references untagged): the next plan decides again.
        return imageIds.has(action.imageId) ? abandoned(`${interrupted}: the image is still present; the next plan decides again`) : recovered(`${interrupted}: it had completed`);
      case 'create': {
        const record = intent.ownerToken ? context.journal.ownerRecord(intent.ownerToken) : undefined;
        const made = containers.find((container) => container.labels[LABELS.ownerToken] === intent.ownerToken);
        if (made && record) {
          const details = await context.runtime.inspectContainer(made.id);
          return { ...recovered(`${interrupted}: the container was created; adopted it`), containerId: made.id, owners: [{ ...record, containerId: made.id, createdView: details?.view, removed: false }] };
        }
        // The token stays in the journal: should the create still land, its container is adopted, not orphaned.
        return abandoned(`${interrupted}: no container was created; the next plan creates it`);
      }
      case 'rename': {
        const container = containers.find((candidate) => candidate.id === action.containerId);
        return container?.name === action.newName ? { ...recovered(`${interrupted}: it had completed`), containerId: action.containerId } : { ...abandoned(`${interrupted}: not done; the next plan decides again`), containerId: action.containerId };
      }
      case 'await-healthy':
      case 'await-dependency':
        // Waiting changes nothing: the next plan waits again if it still must.
        return abandoned(`${interrupted}: the wait was cut short; the next plan decides again`);
      case 'start':
      case 'unpause':
      case 'stop':
      case 'remove': {
        const containerId = intent.containerId ?? ('containerId' in action ? action.containerId : undefined);
        const container = containerId ? containers.find((candidate) => candidate.id === containerId) : undefined;
        const done = action.kind === 'start' || action.kind === 'unpause' ? container?.state === 'running' : action.kind === 'stop' ? container === undefined || container.state !== 'running' : container === undefined;
        if (!done) return { ...abandoned(`${interrupted}: not done; the next plan decides again`), containerId };
        const record = action.kind === 'remove' && containerId ? context.journal.ownerRecordOfContainer(containerId) : undefined;
        return { ...recovered(`${interrupted}: it had completed`), containerId, owners: record ? [{ ...record, removed: true }] : [] };
      }
    }
  } catch (error) {
    return abandoned(`${interrupted}: could not verify (${errorMessage(error)}); the next plan decides again`);
  }
}

function recovered(message: string): Resolution {
  return { outcome: 'recovered', message, containerId: undefined, owners: [] };
}

function abandoned(message: string): Resolution {
  return { outcome: 'abandoned', message, containerId: undefined, owners: [] };
}

function where(action: Action): { project: string; service?: string; instance?: number } {
  if (isImageAction(action)) return { project: HOST_PROJECT };
  return isResourceAction(action) ? { project: action.project } : { project: action.key.project, service: action.key.service, instance: action.key.instance };
}
