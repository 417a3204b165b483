// Range reads over the journal in small batches. classic-level keeps each iterator's native read-ahead
// (a vector sized for the batch asked, 1,000 entries = 64 KB when read with for-await, and the entries
// last copied into it) until V8 collects the iterator's handle, not at close; the agent's JS heap is
// small and steady, so those collections are rare and a reader that scans often (the retention pass)
// piled up native memory V8 does not see. Batches of SCAN_BATCH keep what each iterator leaves small.
import type { Level } from 'level';

/** Entries asked of LevelDB per read: a retention walk stops within the first batch or two. */
export const SCAN_BATCH = 32;

export interface ScanRange {
  readonly gt?: string;
  readonly gte?: string;
  readonly lt?: string;
  readonly lte?: string;
  readonly limit?: number;
  readonly reverse?: boolean;
}

/** Key and value pairs of a range, in order, read SCAN_BATCH at a time; the iterator is closed however the loop ends. */
export function scanEntries(db: Level<string, Uint8Array>, options: ScanRange): AsyncGenerator<[string, Uint8Array]> {
  return inBatches(db.iterator(options));
}

/** Keys of a range, in order, read SCAN_BATCH at a time; the iterator is closed however the loop ends. */
export function scanKeys(db: Level<string, Uint8Array>, options: ScanRange): AsyncGenerator<string> {
  return inBatches(db.keys(options));
}

async function* inBatches<T>(iterator: { nextv(size: number): Promise<T[]>; close(): Promise<void> }): AsyncGenerator<T> {
  try {
    for (;;) {
      const batch = await iterator.nextv(SCAN_BATCH);
      if (batch.length === 0) return;
      yield* batch;
    }
  } finally {
    await iterator.close();
  }
}
