import { canonicalJson } from '../../shared/canonical.js';
import type { ContainerConfigView, LabelledIdentity, OwnerRecord, Ownership } from './snapshot.js';

/**
 * Ownership proof: the labels' token must be one this agent's journal issued, for the same
 * instance, and (once known) for this very container id. Copied labels fail the last check.
 */
export function proveOwnership(containerId: string, identity: LabelledIdentity, record: OwnerRecord | undefined): Ownership {
  if (!record) return { owned: false, reason: 'its owner token was not issued by this agent (no journal entry)' };
  if (record.containerId !== undefined && record.containerId !== containerId) {
    return { owned: false, reason: `its owner token belongs to container ${record.containerId.slice(0, 12)}; these labels were copied` };
  }
  if (record.project !== identity.project || record.service !== identity.service || record.instance !== identity.instance || record.hostId !== identity.hostId) {
    return { owned: false, reason: 'its labels do not match the journal entry of its owner token' };
  }
  if (record.specHash !== identity.specHash) return { owned: false, reason: 'its spec-hash label does not match the journal' };
  return { owned: true };
}

/** Names of the fields that differ between two reads of a container's configuration. */
export function changedViewFields(created: ContainerConfigView, observed: ContainerConfigView): string[] {
  const fields = Object.keys(created) as (keyof ContainerConfigView)[];
  return fields.filter((field) => canonicalJson(created[field]) !== canonicalJson(observed[field])).sort();
}
