// The journal's group commit: the writes queued in one turn of the event loop go to LevelDB as one batch,
// fsync'd when any of them asks; operations that need no fsync (deferred) ride along with the next batch.
import type { Level } from 'level';
import { JournalError, errorMessage } from '../../shared/errors.js';

export type BatchOperation = { readonly type: 'put'; readonly key: string; readonly value: Uint8Array } | { readonly type: 'del'; readonly key: string };

/** Writes asked for and the LevelDB batches (group commits) that carried them. */
export interface CommitStats {
  readonly batches: number;
  readonly writes: number;
}

interface QueuedWrite {
  readonly operations: readonly BatchOperation[];
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Every write of the journal goes through one BatchWriter, so that all of them share its batches and its order. */
export class BatchWriter {
  readonly #db: Level<string, Uint8Array>;
  /** Writes waiting for the next group commit, and that commit while it runs. */
  readonly #queued: QueuedWrite[] = [];
  #committing: Promise<void> | undefined;
  /** Deferred operations by key, not written yet: they go with the next batch and leave here once it is written. */
  readonly #deferred = new Map<string, BatchOperation>();
  #stats: CommitStats = { batches: 0, writes: 0 };
  #reopenBeforeWrite = false;

  constructor(db: Level<string, Uint8Array>) {
    this.#db = db;
  }

  get stats(): CommitStats {
    return { ...this.#stats };
  }

  /**
   * Queues a write for the next group commit and resolves once it is on disk. sync false: for
   * writes whose loss in a crash changes nothing that matters (see Journal#acknowledgeOutbox).
   */
  write(operations: readonly BatchOperation[], sync = true): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ operations, sync, resolve, reject });
      if (this.#committing === undefined) this.#committing = this.#commitQueued();
    });
  }

  /**
   * Operations that get no write of their own and no fsync: they ride along with the next batch,
   * whoever queues it (or flushDeferred). Only for operations a crash may lose without harm.
   */
  defer(operations: readonly BatchOperation[]): void {
    for (const operation of operations) this.#deferred.set(operation.key, operation);
  }

  /** Whether a deferred operation on this key waits for its batch. */
  isDeferred(key: string): boolean {
    return this.#deferred.has(key);
  }

  /** Writes the deferred operations now, without fsync, if no other write took them along; a failure is retried with the next write. */
  async flushDeferred(): Promise<void> {
    if (this.#deferred.size > 0) await this.write([], false).catch(() => undefined);
  }

  /** Writes what is deferred and waits for the commits under way; the caller closes the database after. */
  async close(): Promise<void> {
    await this.flushDeferred();
    await this.#committing;
  }

  /**
   * Group commit: the writes queued in one turn of the event loop (parallel action chains, a
   * result and the next intent of a chain) go to LevelDB as one atomic batch, fsync'd when any of
   * them asks for it, in the order they were queued; writes queued while it is on its way form
   * the next batch. Every writer resolves only after the batch holding its operations is written,
   * so "intent before mutation, result right after" holds as with one batch per write; a failed
   * batch rejects all of its writers and none of its operations is applied.
   */
  async #commitQueued(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#queued.length > 0) {
      const group = this.#queued.splice(0);
      const deferred = [...this.#deferred.values()];
      const operations = [...group.flatMap((write) => write.operations), ...deferred];
      try {
        if (operations.length > 0) {
          this.#stats = { batches: this.#stats.batches + 1, writes: this.#stats.writes + group.length };
          await this.#writeBatch(
            operations,
            group.some((write) => write.sync),
          );
        }
        // Only what this batch carried: one deferred on the same key meanwhile waits for the next batch.
        for (const operation of deferred) if (this.#deferred.get(operation.key) === operation) this.#deferred.delete(operation.key);
        for (const write of group) write.resolve();
      } catch (error) {
        for (const write of group) write.reject(error);
      }
    }
    this.#committing = undefined;
  }

  async #writeBatch(operations: BatchOperation[], sync: boolean): Promise<void> {
    if (this.#reopenBeforeWrite) await this.#reopen();
    try {
      await this.#db.batch(operations, { sync });
    } catch (error) {
      this.#reopenBeforeWrite = true;
      throw new JournalError(`journal write failed (${errorMessage(error)}); no runtime change is made without it`, { cause: error });
    }
  }

  /**
   * A failed write (a full disk) can leave a torn record at the end of LevelDB's log; records
   * appended after it in the same log block are skipped when the log is recovered, so later
   * fsync'd writes would vanish at the next start. Reopening first moves writes to a fresh log.
   */
  async #reopen(): Promise<void> {
    try {
      await this.#db.close();
      await this.#db.open();
      this.#reopenBeforeWrite = false;
    } catch (error) {
      throw new JournalError(`journal cannot be reopened after a failed write (${errorMessage(error)}); no runtime change is made without it`, { cause: error });
    }
  }
}
