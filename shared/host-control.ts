import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { hostIdSchema, nameSchema } from './fleet-spec.js';

// What the coordinator says about a host, beside what its agent registered: a cordon and labels.
// Written only by the coordinator (KV hw_hostctl/<hostId>), signed like desired state.

/** A host label key as `hosts label` takes it: a placement selector's key, without "=" or spaces. */
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const MAX_CONTROL_LABELS = 64;
const MAX_LABEL_VALUE = 256;
const MAX_REASON = 512;
/** Services one drain may move or leave: a host runs at most this many (project, service) pairs in a drain record. */
export const MAX_DRAIN_ENTRIES = 2_000;

/** A service a drain moves: its instances on the drained host, and the replicas each receiving host runs afterwards. */
export const drainMoveSchema = z.strictObject({
  project: nameSchema,
  service: nameSchema,
  instances: z.number().int().min(1),
  to: z.record(hostIdSchema, z.number().int().min(1)),
});
export type DrainMove = z.infer<typeof drainMoveSchema>;

/** A service that can run nowhere else: left running on the drained host, or stopped with --force. */
export const drainLeftSchema = z.strictObject({ project: nameSchema, service: nameSchema, instances: z.number().int().min(1), reason: z.string().max(MAX_REASON) });
export type DrainLeft = z.infer<typeof drainLeftSchema>;

/**
 * A drain in progress or done, with the moves it decided when it started: a second run (or a second
 * coordinator) resumes from these instead of planning again over replicas it already raised.
 */
export const drainSchema = z.strictObject({
  state: z.enum(['draining', 'drained']),
  startedAt: z.string(),
  /** When the deadline of the run that started it passes (a resumed run sets its own). */
  until: z.string().optional(),
  force: z.boolean(),
  moves: z.array(drainMoveSchema).max(MAX_DRAIN_ENTRIES),
  left: z.array(drainLeftSchema).max(MAX_DRAIN_ENTRIES),
  drainedAt: z.string().optional(),
});
export type Drain = z.infer<typeof drainSchema>;

export const hostControlSchema = z.strictObject({
  schema: z.literal('hostwright.hostctl/v1'),
  hostId: hostIdSchema,
  /** Set: the host gets no new placements (what already runs there stays). */
  cordon: z.strictObject({ reason: z.string().max(MAX_REASON).optional(), at: z.string() }).optional(),
  /** Set: the host is being (or was) drained; placement gives it nothing but what the drain left there. */
  drain: drainSchema.optional(),
  /** Labels placement reads beside the agent's own; on the same key these win. */
  labels: z.record(z.string().regex(LABEL_KEY), z.string().max(MAX_LABEL_VALUE)).refine((labels) => Object.keys(labels).length <= MAX_CONTROL_LABELS, `at most ${MAX_CONTROL_LABELS} labels`),
  updatedAt: z.string(),
});
export type HostControl = z.infer<typeof hostControlSchema>;

/** A host nothing was said about yet. */
export function emptyHostControl(hostId: string, now: string): HostControl {
  return { schema: 'hostwright.hostctl/v1', hostId, labels: {}, updatedAt: now };
}

/** One argument of `hosts label`: `key=value` sets, `key-` removes. */
export type LabelChange = { readonly key: string; readonly value: string } | { readonly key: string; readonly remove: true };

/** Pure: `role=web zone=a role-` as changes, each checked; a bad one is refused naming the form. */
export function parseLabelChanges(args: readonly string[]): LabelChange[] {
  if (args.length === 0) throw new InvalidInputError('hosts label: give at least one change: key=value to set a label, key- to remove it');
  return args.map((arg): LabelChange => {
    const at = arg.indexOf('=');
    const key = at < 0 ? arg.slice(0, -1) : arg.slice(0, at);
    if (at < 0 && !arg.endsWith('-')) throw new InvalidInputError(`hosts label ${arg}: expected key=value to set a label, or key- to remove it`);
    if (!LABEL_KEY.test(key)) throw new InvalidInputError(`hosts label ${arg}: "${key}" is not a label key (letters, digits, ".", "_", "/" or "-", starting with a letter or digit, at most 63)`);
    if (at < 0) return { key, remove: true };
    const value = arg.slice(at + 1);
    if (value.length > MAX_LABEL_VALUE) throw new InvalidInputError(`hosts label ${key}: the value is longer than ${MAX_LABEL_VALUE} characters`);
    return { key, value };
  });
}

/** Pure: the coordinator's labels after the changes, in key order; later changes of a key win. */
export function withLabelChanges(labels: Readonly<Record<string, string>>, changes: readonly LabelChange[]): Record<string, string> {
  const next = new Map(Object.entries(labels));
  for (const change of changes) {
    if ('remove' in change) next.delete(change.key);
    else next.set(change.key, change.value);
  }
  if (next.size > MAX_CONTROL_LABELS) throw new InvalidInputError(`hosts label: a host may have at most ${MAX_CONTROL_LABELS} labels set by the coordinator`);
  return Object.fromEntries([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Pure: the labels placement reads for a host: the agent's own, with the coordinator's over them on the same key. */
export function effectiveLabels(registered: Readonly<Record<string, string>>, control: HostControl | undefined): Record<string, string> {
  return { ...registered, ...(control?.labels ?? {}) };
}
