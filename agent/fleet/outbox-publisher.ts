import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { encode } from '../../shared/codec.js';
import { errorMessage } from '../../shared/errors.js';
import { eventSubject } from '../../shared/subjects.js';
import type { Journal } from '../store/journal.js';
import { sleep } from '../../shared/sleep.js';

/** How long the publisher sleeps with an empty outbox before it looks again (it wakes on every event). */
const IDLE_WAKE_MS = 5_000;
/** The longest an event written during a flush waits for the next event before it is published. */
const STRAGGLER_WAIT_MS = 250;

/**
 * Publishes the journal's outbox in order, with the event id as the JetStream msg id, and removes
 * an event from the outbox only once the stream acknowledged it: a partition loses nothing, and a
 * re-send inside the duplicate window is dropped by the server.
 */
export class OutboxPublisher {
  #wake: (() => void) | undefined;
  /** Set by every event written, cleared before each flush: an event written during a flush is not left waiting. */
  #written = false;
  #published = 0;
  #duplicates = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly journal: Journal,
    private readonly logger: Logger,
    /** Signs an encoded event with the host's key (see shared/host-report.ts). */
    private readonly seal: (bytes: Uint8Array) => Uint8Array = (bytes) => bytes,
  ) {}

  get published(): number {
    return this.#published;
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  async run(signal: AbortSignal): Promise<void> {
    const unsubscribe = this.journal.onEvents(() => {
      this.#written = true;
      this.#wake?.();
    });
    let backoff = 250;
    try {
      while (!signal.aborted) {
        let drained = false;
        this.#written = false;
        try {
          drained = await this.flushOnce();
          backoff = 250;
        } catch (error) {
          this.logger.warn({ error: errorMessage(error), retryInMs: backoff }, 'event publish failed; will retry');
          await sleep(backoff, signal);
          backoff = Math.min(backoff * 2, 10_000);
          continue;
        }
        // Events written while the flush ran (after it read its page) go out with the next event or
        // within STRAGGLER_WAIT_MS rather than in a publish round of their own: during a cycle the
        // next result usually follows soon, and they go together.
        if (drained) await this.#waitForEvents(signal, this.#written ? STRAGGLER_WAIT_MS : IDLE_WAKE_MS);
      }
    } finally {
      unsubscribe();
    }
  }

  /**
   * Publishes one batch, in order, each event awaiting the stream's acknowledgement before the
   * next; true when the outbox is empty afterwards. The acknowledged events leave the outbox
   * together at the end, also when a publish fails half-way (a process killed before that
   * publishes them again, which the stream drops as duplicates).
   */
  async flushOnce(): Promise<boolean> {
    const batch = await this.journal.outboxEvents(256);
    const acknowledged: number[] = [];
    try {
      for (const { seq, ...event } of batch) {
        const ack = await this.js.publish(eventSubject(event.hostId, event.project, event.type), this.seal(encode(event)), { msgID: event.id, timeout: 5_000 });
        if (ack.duplicate) this.#duplicates += 1;
        else this.#published += 1;
        acknowledged.push(seq);
      }
    } finally {
      await this.journal.acknowledgeOutbox(acknowledged);
    }
    return batch.length < 256;
  }

  #waitForEvents(signal: AbortSignal, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#wake = undefined;
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }
}
