import { canonicalJson } from '../../shared/canonical.js';
import type { OwnerTokenVerifier, ResourceTokenVerifier } from './owner-token.js';
import type { FieldChange } from '../../shared/spec-diff.js';
import { secretDigest } from '../../shared/secret-env.js';
import type { ContainerConfigView, LabelledIdentity, OwnerRecord, Ownership, ResourceIdentity, ResourceRecord } from './snapshot.js';

/**
 * Ownership proof: the labels' token must be one this agent's journal issued, for the same
 * instance, (once known) for this very container id, and carry this host's HMAC over the identity
 * the labels claim. Copied labels fail the container-id check; a minted token fails the HMAC.
 */
export function proveOwnership(containerId: string, identity: LabelledIdentity, record: OwnerRecord | undefined, verifyToken: OwnerTokenVerifier): Ownership {
  if (!record) return { owned: false, reason: 'its owner token was not issued by this agent (no journal entry)' };
  if (record.containerId !== undefined && record.containerId !== containerId) {
    return { owned: false, reason: `its owner token belongs to container ${record.containerId.slice(0, 12)}; these labels were copied` };
  }
  if (record.project !== identity.project || record.service !== identity.service || record.instance !== identity.instance || record.hostId !== identity.hostId) {
    return { owned: false, reason: 'its labels do not match the journal entry of its owner token' };
  }
  if (record.specHash !== identity.specHash) return { owned: false, reason: 'its spec-hash label does not match the journal' };
  // Last, so the reasons above stay the specific ones: a journal entry alone is not proof either.
  if (!verifyToken(identity)) return { owned: false, reason: 'its owner token does not carry this host\'s HMAC over these labels' };
  return { owned: true };
}

/** The same proof for a network or volume: a record this journal issued, for this id, with this host's HMAC. */
export function proveResourceOwnership(resourceId: string, identity: ResourceIdentity, record: ResourceRecord | undefined, verifyToken: ResourceTokenVerifier): Ownership {
  if (!record) return { owned: false, reason: 'its owner token was not issued by this agent (no journal entry)' };
  if (record.resourceId !== undefined && record.resourceId !== resourceId) return { owned: false, reason: `its owner token belongs to ${record.kind} ${record.resourceId.slice(0, 12)}; these labels were copied` };
  if (record.kind !== identity.kind || record.project !== identity.project || record.resource !== identity.resource || record.hostId !== identity.hostId) {
    return { owned: false, reason: 'its labels do not match the journal entry of its owner token' };
  }
  if (record.specHash !== identity.specHash) return { owned: false, reason: 'its spec-hash label does not match the journal' };
  if (!verifyToken(identity)) return { owned: false, reason: 'its owner token does not carry this host\'s HMAC over these labels' };
  return { owned: true };
}

/** Names of the fields that differ between two reads of a container's configuration. */
export function changedViewFields(created: ContainerConfigView, observed: ContainerConfigView): string[] {
  const fields = Object.keys(created) as (keyof ContainerConfigView)[];
  return fields.filter((field) => canonicalJson(created[field]) !== canonicalJson(observed[field])).sort();
}

/**
 * The changed fields as typed changes (shared/spec-diff.ts): `old` what the container has now, `new`
 * what Hostwright made and a repair restores. Env values only as digests: the view holds secrets.
 */
export function viewChanges(created: ContainerConfigView, observed: ContainerConfigView): FieldChange[] {
  return changedViewFields(created, observed).map((field) => ({ field, type: 'edited', old: shownView(field, observed[field as keyof ContainerConfigView]), new: shownView(field, created[field as keyof ContainerConfigView]), forces: field !== 'name' }));
}

function shownView(field: string, value: unknown): unknown {
  if (field !== 'env' || !Array.isArray(value)) return value ?? null;
  return value.map((entry) => {
    const text = String(entry);
    const equals = text.indexOf('=');
    return equals < 0 ? text : `${text.slice(0, equals)}=(sha256 ${secretDigest(text.slice(equals + 1)).slice(0, 12)}…)`;
  });
}
