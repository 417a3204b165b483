import type { Logger } from 'pino';
import { DataDirLockedError, DataDirPermissionError, UnsafeDataDirError, errorMessage } from '../../shared/errors.js';
import { sleep } from '../../shared/sleep.js';
import { Journal } from './journal.js';

export interface JournalUnavailable {
  readonly since: Date;
  readonly reason: string;
}

/**
 * Opens the journal, waiting (with backoff) while the data dir cannot be written, e.g. a read-only
 * or full disk: without a journal no intent can be persisted, so nothing is reconciled meanwhile.
 * Resolves undefined if the signal aborts first; another process holding the dir, a dir others
 * can write to or redirect (UnsafeDataDirError), or one this user may not use, is not waited for.
 */
export async function openJournalWhenWritable(dataDir: string, logger: Logger, signal: AbortSignal): Promise<{ journal: Journal; unavailable: JournalUnavailable | undefined } | undefined> {
  let unavailable: JournalUnavailable | undefined;
  let delay = 500;
  while (!signal.aborted) {
    try {
      return { journal: await Journal.open(dataDir), unavailable };
    } catch (error) {
      // Waiting changes none of these: another process holds the dir, others can change it, or this user may not.
      if (error instanceof DataDirLockedError || error instanceof UnsafeDataDirError || error instanceof DataDirPermissionError) throw error;
      unavailable ??= { since: new Date(), reason: errorMessage(error) };
      logger.error({ dataDir, error: errorMessage(error), retryInMs: delay }, 'cannot open the journal (is the data dir read-only or full?); no container is changed until it can be written');
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5_000);
    }
  }
  return undefined;
}
