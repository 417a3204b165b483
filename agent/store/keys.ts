// The journal's LevelDB key layout, in one place: each prefix is one record kind, owned by one part of agent/store.
// Changing a prefix or SEQ_WIDTH changes the on-disk format: a data dir written before would read as empty.

/** Key prefixes by record kind, with the file that owns (writes, reads, and one day prunes) each range. */
export const PREFIX = {
  /** desired-store.ts */
  desired: 'desired:',
  signed: 'signed:',
  refused: 'refused:',
  applied: 'applied:',
  rejected: 'rejected:',
  /** owner-index.ts (written in the intent and result batches of journal.ts) */
  owner: 'owner:',
  /** resource-index.ts (written like owner:) */
  resource: 'resource:',
  /** event-outbox.ts */
  event: 'event:',
  outbox: 'outbox:',
  /** image-pulls.ts */
  image: 'image:',
  /** journal.ts */
  intent: 'intent:',
  result: 'result:',
  pending: 'pending:',
  /** `plan:#<seq>:<correlationID>`: numbered, so that retention takes the oldest first. Keys without the `#` are an older agent's. */
  plan: 'plan:',
  planNumbered: 'plan:#',
  /** request-nonces.ts */
  nonce: 'nonce:',
  /** journal.ts: one key, no prefix range */
  status: 'status',
} as const;

/** Digits of a sequence number in its key, zero-padded so that key order is number order. */
const SEQ_WIDTH = 16;

export function seqKey(prefix: string, seq: number): string {
  return `${prefix}${String(seq).padStart(SEQ_WIDTH, '0')}`;
}

/** The sequence number a seqKey carries. */
export function seqOf(prefix: string, key: string): number {
  return Number(key.slice(prefix.length));
}

/** A plan's key: its number, then the cycle's correlation ID. */
export function planKey(seq: number, correlationID: string): string {
  return `${seqKey(PREFIX.planNumbered, seq)}:${correlationID}`;
}

/** The number a planKey carries. */
export function planSeqOf(key: string): number {
  return Number(key.slice(PREFIX.planNumbered.length, PREFIX.planNumbered.length + SEQ_WIDTH));
}

/** Iterator bounds of every key under a prefix. */
export function range(prefix: string): { readonly gte: string; readonly lt: string } {
  return { gte: prefix, lt: `${prefix}\xff` };
}
