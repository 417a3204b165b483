import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { unpack } from 'msgpackr';
import { decode } from '../../shared/codec.js';
import { newerSchemaRefusal } from '../../shared/desired-schema.js';
import { JournalError, SignatureError, errorMessage } from '../../shared/errors.js';
import { HOST_PROJECT } from '../../shared/events.js';
import { hostDesiredSchema, type HostDesired } from '../../shared/host-desired.js';
import { meshDesiredKey } from '../../shared/mesh.js';
import { replayRefusal } from '../../shared/replay-window.js';
import { openSignedDocument, signatureHolds, verifySignedDocument } from '../../shared/signed-document.js';
import { BUCKETS, DESIRED_STREAM, desiredFeedConsumer } from '../../shared/subjects.js';
import { MAX_WIRE_BYTES } from '../../shared/wire.js';
import { failedEvent } from '../host-events.js';
import type { Journal } from '../store/journal.js';

/**
 * Whose desired state the agent accepts: documents signed by the pinned coordinator key, or (only
 * with --allow-unsigned) any document, signed or not.
 */
export type DesiredTrust = { readonly kind: 'pinned'; readonly coordinatorKey: string } | { readonly kind: 'unsigned-allowed' };

export interface DesiredWatcherOptions {
  readonly hostId: string;
  readonly trust: DesiredTrust;
  readonly journal: Journal;
  readonly logger: Logger;
  /** A new desired document was stored: wake the loop, carrying the writer's correlation id. */
  readonly onAccepted: (document: HostDesired) => void;
  /** A value was refused (and recorded): the host's status should show it. */
  readonly onRefused?: () => void;
  /** A value of the host's mesh key (shared/mesh.ts); absent: the agent takes no part in a mesh and ignores it. */
  readonly onMesh?: (value: Uint8Array) => Promise<void>;
  readonly signal: AbortSignal;
}

/**
 * Reads this host's desired-state feed (the durable consumer the coordinator made for it) and
 * stores every valid, newer document in the journal; the loop reconciles from the journal, so it
 * keeps working while NATS is away. A broken or foreign document is rejected with an error event
 * and the last good state stays. A message is acknowledged once it is handled; one the journal
 * could not store is not, and comes again. Returns when the feed ends (the signal, or the consumer
 * or stream went away); throws when there is no feed yet.
 */
export async function watchDesired(js: JetStreamClient, options: DesiredWatcherOptions): Promise<void> {
  const consumer = await js.consumers.get(DESIRED_STREAM, desiredFeedConsumer(options.hostId));
  // One message in flight: a document the journal could not store is retried before any newer one.
  const messages = await consumer.consume({ max_messages: 1, expires: 30_000, abort_on_missing_resource: true });
  if (options.signal.aborted) {
    await messages.close();
    return;
  }
  options.signal.addEventListener('abort', () => void messages.close(), { once: true });
  const keyPrefix = `$KV.${BUCKETS.desired}.`;
  for await (const msg of messages) {
    const key = msg.subject.slice(keyPrefix.length);
    const operation = msg.headers?.get('KV-Operation') || 'PUT';
    if (operation !== 'PUT') {
      // Absence is never taken as "remove everything": a project is emptied by an explicit empty document.
      options.logger.warn({ key, operation }, 'desired key deleted; keeping the last desired state');
      msg.ack();
      continue;
    }
    try {
      if (key === meshDesiredKey(options.hostId)) {
        await options.onMesh?.(msg.data);
        msg.ack();
        continue;
      }
      // When the server stored the value: set by JetStream, not by whoever wrote it (shared/replay-window.ts).
      await acceptDesired(key, msg.data, options, msg.time);
    } catch (error) {
      msg.nak(1_000);
      throw error;
    }
    msg.ack();
  }
}

/** The feed does not exist yet: the coordinator makes it on its first write to this host. */
export function isMissingFeed(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (/consumer not found|stream not found/i.test(current.message)) return true;
  }
  return false;
}

/**
 * One value of a desired key, checked in this order: size, signature (before any decoding of the
 * document), schema, host and project of the key, revision, and (signed documents) the replay
 * window between its signing time and storedAt, when the NATS server stored it. Re-delivery of
 * the revision the agent holds is a silent no-op; an older one, or one stored long after it was
 * signed, is a replay and refused like every other bad value: an error event, a refusal in the
 * host's status, and the last good state kept. A journal that cannot store a good document
 * throws JournalError instead: the caller watches again later.
 */
export async function acceptDesired(key: string, value: Uint8Array, options: Omit<DesiredWatcherOptions, 'signal'>, storedAt: Date): Promise<'accepted' | 'unchanged' | 'rejected'> {
  const project = key.slice(options.hostId.length + 1);
  try {
    if (value.byteLength > MAX_WIRE_BYTES) throw new Error(`document of ${value.byteLength} bytes exceeds the ${MAX_WIRE_BYTES}-byte limit`);
    const { documentBytes, envelope } = trustedBytes(value, options.trust);
    // A newer schema is named as such, before the fields this agent does not know are listed.
    const newer = newerSchemaRefusal(unpacked(documentBytes));
    if (newer) throw new Error(newer);
    const document = decode(hostDesiredSchema, documentBytes, `desired state ${key}`);
    if (document.hostId !== options.hostId) throw new Error(`document is for host ${document.hostId}, not ${options.hostId}`);
    if (document.project !== project) throw new Error(`document is for project ${document.project}, but was written to key ${key}`);
    const stored = (await options.journal.desiredDocuments()).find((candidate) => candidate.project === document.project);
    if (stored && stored.revision === document.revision) return 'unchanged';
    if (stored && stored.revision > document.revision) throw new Error(`replayed: revision ${document.revision} is older than revision ${stored.revision} this agent holds`);
    // Without a pinned key anyone may write anything: no window to keep.
    const replay = options.trust.kind === 'pinned' ? replayRefusal(document, storedAt, stored !== undefined) : undefined;
    if (replay) throw new Error(replay);
    await options.journal.putDesired(document, envelope);
    options.logger.info({ project: document.project, revision: document.revision, correlationID: document.correlationID, signed: envelope !== undefined }, 'desired state accepted');
    options.onAccepted(document);
    return 'accepted';
  } catch (error) {
    // The journal could not store a good document (full or read-only disk): that is no refusal.
    // The watch ends with the error and is restarted, which delivers the latest value again.
    if (error instanceof JournalError) throw error;
    const reason = error instanceof SignatureError ? `${error.problem}: ${error.message}` : errorMessage(error);
    const message = `rejected desired state on key ${key}: ${reason}; keeping the last good state`;
    options.logger.error({ key }, message);
    const refusedAt = new Date().toISOString();
    const event = failedEvent({ hostId: options.hostId, project: /^[a-z0-9][a-z0-9_-]{0,62}$/.test(project) ? project : HOST_PROJECT, message, timestamp: refusedAt });
    await options.journal.recordRefusal({ key, reason, refusedAt }, event).catch((cause: unknown) => options.logger.error({ key, error: errorMessage(cause) }, 'refusal not recorded'));
    options.onRefused?.();
    return 'rejected';
  }
}

/** The document bytes the trust allows, and the envelope to keep with them (undefined: unsigned). */
function trustedBytes(value: Uint8Array, trust: DesiredTrust): { documentBytes: Uint8Array; envelope: Uint8Array | undefined } {
  if (trust.kind === 'pinned') return { documentBytes: verifySignedDocument(value, trust.coordinatorKey), envelope: value };
  try {
    const envelope = openSignedDocument(value);
    // Without a pinned key a signature proves nothing about who wrote it, but a broken one is still refused.
    if (!signatureHolds(envelope)) throw new SignatureError('tampered', 'the signature does not match the document bytes (changed after signing)');
    return { documentBytes: envelope.document, envelope: value };
  } catch (error) {
    if (error instanceof SignatureError && error.problem === 'unsigned') return { documentBytes: value, envelope: undefined };
    throw error;
  }
}

/** The bytes decoded, unvalidated; undefined when they are not MessagePack (decode says so next). */
function unpacked(bytes: Uint8Array): unknown {
  try {
    return unpack(bytes);
  } catch {
    return undefined;
  }
}
