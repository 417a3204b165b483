import { z } from 'zod';
import { canonicalJson } from './canonical.js';
import { compareStrings } from './compare.js';
import { maskFileSecret, type FileSecret } from './file-secrets.js';
import { runtimeConfigSchema, type RuntimeConfig, type ServiceSpec } from './fleet-spec.js';
import type { HostDesired } from './host-desired.js';
import { maskEnv } from './secret-env.js';

/**
 * Typed diffs of desired state, as Nomad's plan diff: each service added, deleted or edited, each
 * field with its old and new value, and whether the change replaces the service's containers.
 * Values are masked before they are compared: an inline env secret is its sha256, a secret or
 * config file its name, mount and digest; no secret value is ever in a diff. Pure.
 */

export const changeTypeSchema = z.enum(['added', 'deleted', 'edited']);
export type ChangeType = z.infer<typeof changeTypeSchema>;

/** One field's change: `old` is null for an added field, `new` null for a deleted one. */
export const fieldChangeSchema = z.object({
  /** Dotted path inside the service (or the document): `image`, `env.DB_PASSWORD`, `healthcheck.interval`, `secrets.db.digest`. */
  field: z.string(),
  type: changeTypeSchema,
  old: z.unknown(),
  new: z.unknown(),
  /** The change replaces the containers (the field is part of the spec hash: agent/core/spec-hash.ts). */
  forces: z.boolean(),
});
export type FieldChange = z.infer<typeof fieldChangeSchema>;

export const serviceChangeSchema = z.object({
  service: z.string(),
  type: changeTypeSchema,
  /** Some field change replaces its containers (an added or deleted service starts or stops them anyway). */
  forces: z.boolean(),
  fields: z.array(fieldChangeSchema),
});
export type ServiceChange = z.infer<typeof serviceChangeSchema>;

export const desiredDiffSchema = z.object({
  services: z.array(serviceChangeSchema),
  /** The document's own fields (networks, volumes, drift, update order, …). */
  fields: z.array(fieldChangeSchema),
});
export type DesiredDiff = z.infer<typeof desiredDiffSchema>;

/** The fields of a service that define its containers: a change to one replaces them. */
const FORCING_FIELDS: ReadonlySet<string> = new Set(Object.keys(runtimeConfigSchema.shape));

/** Fields of a document that are about the write, not about what runs: never in a diff. */
const WRITE_FIELDS: ReadonlySet<string> = new Set(['hostId', 'project', 'revision', 'services', 'schemaVersion', 'minAgentVersion', 'signedAt', 'correlationID', 'author']);

/** A leaf value of a flattened spec: whatever JSON holds, compared by canonical JSON. */
export type FlatSpec = ReadonlyMap<string, unknown>;

/**
 * A service spec as dotted paths to leaf values, masked: objects are walked into, arrays and env
 * values are leaves, secret files keyed by `kind name`. Absent and undefined fields have no path.
 */
export function flattenService(service: ServiceSpec | RuntimeConfig): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  for (const [field, value] of Object.entries(service)) {
    if (value === undefined) continue;
    if (field === 'env') {
      for (const [name, envValue] of Object.entries(maskEnv(service.env))) flat.set(`env.${name}`, envValue);
    } else if (field === 'secrets') {
      for (const secret of (value as FileSecret[]).map(maskFileSecret)) flattenInto(flat, `secrets.${secret.kind} ${secret.name}`, { target: secret.target, uid: secret.uid, gid: secret.gid, mode: secret.mode, digest: secret.value.digest ?? null });
    } else {
      flattenInto(flat, field, value);
    }
  }
  return flat;
}

function flattenInto(flat: Map<string, unknown>, path: string, value: unknown): void {
  if (value === undefined) return;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [key, inner] of Object.entries(value)) flattenInto(flat, `${path}.${key}`, inner);
    return;
  }
  flat.set(path, value);
}

/** The changed paths between two flattened values, sorted; `forces` by each path's top field. */
export function diffFlat(before: FlatSpec, after: FlatSpec, forces: (field: string) => boolean): FieldChange[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort(compareStrings);
  const changes: FieldChange[] = [];
  for (const path of paths) {
    const had = before.has(path);
    const has = after.has(path);
    const old = had ? before.get(path) : null;
    const now = has ? after.get(path) : null;
    if (had && has && canonicalJson(old) === canonicalJson(now)) continue;
    changes.push({ field: path, type: !had ? 'added' : !has ? 'deleted' : 'edited', old: old ?? null, new: now ?? null, forces: forces(topField(path)) });
  }
  return changes;
}

function topField(path: string): string {
  const dot = path.indexOf('.');
  return dot < 0 ? path : path.slice(0, dot);
}

/** Field changes of one service; empty when equal (as masked). */
export function diffService(before: ServiceSpec, after: ServiceSpec): FieldChange[] {
  return diffFlat(flattenService(before), flattenService(after), (field) => FORCING_FIELDS.has(field));
}

/**
 * The typed diff from one desired document to another of the same host and project (undefined:
 * none, as before a first write). Services sorted by name, fields by path.
 */
export function diffDesired(before: HostDesired | undefined, after: HostDesired | undefined): DesiredDiff {
  const old = before?.services ?? {};
  const now = after?.services ?? {};
  const names = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort(compareStrings);
  const services: ServiceChange[] = [];
  for (const service of names) {
    const was = Object.hasOwn(old, service) ? old[service] : undefined;
    const is = Object.hasOwn(now, service) ? now[service] : undefined;
    if (was === undefined && is !== undefined) services.push({ service, type: 'added', forces: true, fields: diffFlat(new Map(), flattenService(is), (field) => FORCING_FIELDS.has(field)) });
    else if (was !== undefined && is === undefined) services.push({ service, type: 'deleted', forces: true, fields: diffFlat(flattenService(was), new Map(), (field) => FORCING_FIELDS.has(field)) });
    else if (was !== undefined && is !== undefined) {
      const fields = diffService(was, is);
      if (fields.length > 0) services.push({ service, type: 'edited', forces: fields.some((change) => change.forces), fields });
    }
  }
  return { services, fields: diffFlat(documentFields(before), documentFields(after), () => false) };
}

function documentFields(document: HostDesired | undefined): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  if (document === undefined) return flat;
  // allowEmpty: false is the default every document carries: no change worth a line.
  for (const [field, value] of Object.entries(document)) if (!WRITE_FIELDS.has(field) && !(field === 'allowEmpty' && value === false)) flattenInto(flat, field, value);
  return flat;
}

/** Services added, deleted and edited, in one line: "+api -cache ~web (replaces)"; "no change" when none. */
export function summarizeDiff(diff: DesiredDiff): string {
  const parts = diff.services.map((change) => `${change.type === 'added' ? '+' : change.type === 'deleted' ? '-' : '~'}${change.service}${change.type === 'edited' && change.forces ? ' (replaces)' : ''}`);
  if (diff.fields.length > 0) parts.push(`project: ${diff.fields.map((change) => change.field).join(', ')}`);
  return parts.length === 0 ? 'no change' : parts.join(' ');
}

/** A value as a diff shows it: a masked secret by its digest, text as it is, the rest as JSON. */
export function shownValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && !Array.isArray(value) && 'secret_sha256' in value) return `(secret sha256 ${String((value as { secret_sha256: unknown }).secret_sha256).slice(0, 12)}…)`;
  return JSON.stringify(value);
}

/** One field change as a line: `~ image: "a" => "b" (forces replacement)`. */
export function describeFieldChange(change: FieldChange): string {
  const mark = change.type === 'added' ? '+' : change.type === 'deleted' ? '-' : '~';
  const values = change.type === 'added' ? shownValue(change.new) : change.type === 'deleted' ? shownValue(change.old) : `${shownValue(change.old)} => ${shownValue(change.new)}`;
  return `${mark} ${change.field}: ${values}${change.forces ? ' (forces replacement)' : ''}`;
}
