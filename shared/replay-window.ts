import type { HostDesired } from './host-desired.js';

/**
 * Replays across journals. An agent refuses a revision older than the one its journal holds, but a
 * journal that holds nothing of a key (a new data dir, or an emptied project retention forgot)
 * has nothing to compare with: anyone who may write the bucket (the coordinator's NATS
 * credentials, no signing key) could write back any older signed value of its history. So the
 * coordinator signs the time it signs (`signedAt`), and the agent compares it with the time the
 * NATS server stored the value (the feed message's JetStream timestamp, which no writer sets): a
 * value is written right after it is signed, so one stored long after is a replay.
 */

/** How far apart signing and storing may be: covers an apply's pipelined writes, its retries, and clock skew between the coordinator and the NATS server. */
export const REPLAY_WINDOW_MS = 15 * 60_000;

/** The desired-state schema that added `signedAt` (shared/desired-schema.ts). */
export const SIGNED_AT_SCHEMA = 3;

/**
 * Why a document, new to the journal (a newer revision, or a key it holds nothing of), must be
 * refused as a possible replay; undefined when it may be taken. A document without a signing
 * time (from a coordinator before schema 3) is taken only for a key the journal knows, whose
 * revision check still holds. Pure.
 */
export function replayRefusal(document: Pick<HostDesired, 'signedAt' | 'revision'>, storedAt: Date, keyKnown: boolean): string | undefined {
  if (document.signedAt === undefined) {
    if (keyKnown) return undefined;
    return `replay not ruled out: revision ${document.revision} carries no signing time (a coordinator before desired-state schema ${SIGNED_AT_SCHEMA} signed it) and this agent's journal holds nothing of the key to compare it with (a new data dir, or a project it forgot); run \`hostwright apply\` with a current coordinator, which signs it again`;
  }
  const signedAt = Date.parse(document.signedAt);
  if (Number.isNaN(signedAt)) return `signing time ${JSON.stringify(document.signedAt)} is not a time`;
  const apart = storedAt.getTime() - signedAt;
  if (Math.abs(apart) <= REPLAY_WINDOW_MS) return undefined;
  const gap = describeGap(Math.abs(apart));
  if (apart > 0) return `replayed: revision ${document.revision} was signed at ${document.signedAt} but stored at ${storedAt.toISOString()}, ${gap} later; a coordinator writes a document right after signing it, so this is an old one written again (or the coordinator's clock is behind the NATS server's by more than ${REPLAY_WINDOW_MS / 60_000}m)`;
  return `clock skew: revision ${document.revision} was signed at ${document.signedAt}, ${gap} after the NATS server stored it (${storedAt.toISOString()}); set the coordinator's clock right (NTP) and apply again`;
}

function describeGap(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 120 ? `${minutes}m` : minutes < 2880 ? `${Math.round(minutes / 60)}h` : `${Math.round(minutes / 1440)}d`;
}
