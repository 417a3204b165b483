/** What the connection banner says: live, lost (the stream is down and retrying), or stale (no tick lately). */
export type ConnectionState = 'live' | 'lost' | 'stale';

/** The server ticks every second: three seconds without one means what is shown may be old. */
export const STALE_AFTER_MS = 3000;

export interface ConnectionInput {
  readonly open: boolean;
  /** When the last message (any, a tick at least every second) arrived; undefined before the first. */
  readonly lastMessageAt: number | undefined;
  readonly now: number;
}

export function connectionState({ open, lastMessageAt, now }: ConnectionInput): { state: ConnectionState; text: string } {
  if (!open) return { state: 'lost', text: 'Connection lost: retrying' };
  const age = lastMessageAt === undefined ? 0 : now - lastMessageAt;
  if (age > STALE_AFTER_MS) return { state: 'stale', text: `Data stale: no update for ${Math.floor(age / 1000)}s` };
  return { state: 'live', text: 'Live' };
}
