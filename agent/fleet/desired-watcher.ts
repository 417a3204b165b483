import { randomUUID } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { decode } from '../../shared/codec.js';
import { errorMessage } from '../../shared/errors.js';
import { HOST_PROJECT } from '../../shared/events.js';
import { hostDesiredSchema, type HostDesired } from '../../shared/host-desired.js';
import { desiredKeysOf } from '../../shared/subjects.js';
import { MAX_WIRE_BYTES } from '../../shared/wire.js';
import type { Journal } from '../store/journal.js';

export interface DesiredWatcherOptions {
  readonly hostId: string;
  readonly journal: Journal;
  readonly logger: Logger;
  /** A new desired document was stored: wake the loop, carrying the writer's correlation id. */
  readonly onAccepted: (document: HostDesired) => void;
  readonly signal: AbortSignal;
}

/**
 * Watches this host's desired keys and stores every valid, newer document in the journal; the
 * loop reconciles from the journal, so it keeps working while NATS is away. A broken or foreign
 * document is rejected with an error event and the last good state stays.
 */
export async function watchDesired(kv: KV, options: DesiredWatcherOptions): Promise<void> {
  const watcher = await kv.watch({ key: desiredKeysOf(options.hostId) });
  if (options.signal.aborted) {
    watcher.stop();
    return;
  }
  options.signal.addEventListener('abort', () => watcher.stop(), { once: true });
  for await (const entry of watcher) {
    if (entry.operation !== 'PUT') {
      // Absence is never taken as "remove everything": a project is emptied by an explicit empty document.
      options.logger.warn({ key: entry.key, operation: entry.operation }, 'desired key deleted; keeping the last desired state');
      continue;
    }
    await acceptDesired(entry.key, entry.value, options);
  }
}

export async function acceptDesired(key: string, value: Uint8Array, options: Omit<DesiredWatcherOptions, 'signal'>): Promise<'accepted' | 'unchanged' | 'rejected'> {
  const project = key.slice(options.hostId.length + 1);
  try {
    if (value.byteLength > MAX_WIRE_BYTES) throw new Error(`document of ${value.byteLength} bytes exceeds the ${MAX_WIRE_BYTES}-byte limit`);
    const document = decode(hostDesiredSchema, value, `desired state ${key}`);
    if (document.hostId !== options.hostId) throw new Error(`document is for host ${document.hostId}, not ${options.hostId}`);
    if (document.project !== project) throw new Error(`document is for project ${document.project}, but was written to key ${key}`);
    const stored = (await options.journal.desiredDocuments()).find((candidate) => candidate.project === document.project);
    if (stored && stored.revision >= document.revision) return 'unchanged';
    await options.journal.putDesired(document);
    options.logger.info({ project: document.project, revision: document.revision, correlationID: document.correlationID }, 'desired state accepted');
    options.onAccepted(document);
    return 'accepted';
  } catch (error) {
    const message = `rejected desired state on key ${key}: ${errorMessage(error)}; keeping the last good state`;
    options.logger.error({ key }, message);
    await options.journal
      .appendEvents([{ id: randomUUID(), type: 'failed', severity: 'error', hostId: options.hostId, project: /^[a-z0-9][a-z0-9_-]{0,62}$/.test(project) ? project : HOST_PROJECT, message, timestamp: new Date().toISOString(), correlationID: randomUUID() }])
      .catch(() => undefined);
    return 'rejected';
  }
}
