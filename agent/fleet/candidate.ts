import { unpack } from 'msgpackr';

/**
 * The candidate of a plan or pull request as decoded, before validation (undefined when there is
 * none): its schema version is checked first, so a newer document gets a clear refusal.
 */
export function candidateOf(bytes: Uint8Array): unknown {
  try {
    const raw: unknown = unpack(bytes);
    return raw !== null && typeof raw === 'object' ? (raw as { candidate?: unknown }).candidate : undefined;
  } catch {
    return undefined;
  }
}
