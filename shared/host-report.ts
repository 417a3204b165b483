import type { z } from 'zod';
import { decode } from './codec.js';
import { SchemaError, SignatureError, errorMessage } from './errors.js';
import { openSignedDocument, signDocument, signatureHolds, type DocumentSigningKey, type SignedDocument } from './signed-document.js';
import { MAX_WIRE_BYTES } from './wire.js';

/**
 * What an agent publishes (status, registration, events) is signed with its own host key (its NATS
 * user seed) in the same envelope as desired state; without a key (a server without credentials)
 * it goes out unsigned.
 */
export function sealReport(bytes: Uint8Array, key: DocumentSigningKey | undefined): Uint8Array {
  return key ? signDocument(bytes, key) : bytes;
}

/**
 * How far a host's report can be trusted. `verified`: signed by the key `fleet init` recorded for
 * the host whose key or subject it arrived on. `unverified`: no record of host keys to check it
 * against. `refused`: it fails a check; its content is not used.
 */
export type ReportTrust =
  | { readonly verdict: 'verified' }
  | { readonly verdict: 'unverified'; readonly reason: string }
  | { readonly verdict: 'refused'; readonly reason: string };

/** The host public keys the fleet's auth manifest records. */
export interface HostKeys {
  keyOf(hostId: string): string | undefined;
  /** The host's curve public key (X…) that secrets are sealed to, when the fleet's auth dir has one. */
  curveKeyOf?(hostId: string): string | undefined;
  /** The key of the secrets' digests (the auth dir's secret-digest.key), when readable. */
  readonly secretDigestKey?: Uint8Array | undefined;
}

/** A report read off a host's own key or subject: the host is the channel's, never the payload's. */
export interface HostReport<T> {
  readonly hostId: string;
  /** Undefined when refused. */
  readonly value: T | undefined;
  readonly trust: ReportTrust;
}

export interface ReportChannel<T> {
  /** The host the key or subject names (which the server's permissions bind to that host). */
  readonly hostId: string;
  /** Where it arrived, for messages ("status key h1", "event subject hw.events.h1.shop.applied"). */
  readonly what: string;
  /** A further disagreement between the payload and its channel (an event's project and type). */
  readonly check?: (value: T) => string | undefined;
}

/**
 * Opens a report: size, signature (before any decoding of the payload), schema, and the host the
 * payload names against the channel's. Pure; never throws.
 */
export function openReport<S extends z.ZodType<{ hostId: string }>>(schema: S, bytes: Uint8Array, channel: ReportChannel<z.infer<S>>, hostKeys: HostKeys | undefined): HostReport<z.infer<S>> {
  const refused = (reason: string): HostReport<z.infer<S>> => ({ hostId: channel.hostId, value: undefined, trust: { verdict: 'refused', reason } });
  if (bytes.byteLength > MAX_WIRE_BYTES) return refused(`${bytes.byteLength} bytes, over the ${MAX_WIRE_BYTES}-byte limit`);
  let envelope: SignedDocument | undefined;
  try {
    envelope = openSignedDocument(bytes);
  } catch (error) {
    if (!(error instanceof SignatureError)) return refused(errorMessage(error));
  }
  let trust: ReportTrust;
  if (hostKeys) {
    const expected = hostKeys.keyOf(channel.hostId);
    if (expected === undefined) return refused(`host ${channel.hostId} is not in the fleet's auth manifest (fleet-auth.json)`);
    if (!envelope) return refused('unsigned (an agent with its fleet credentials signs every report)');
    if (envelope.signer !== expected) return refused(`signed by ${abbreviate(envelope.signer)}, not by host ${channel.hostId}'s key ${abbreviate(expected)}`);
    if (!signatureHolds(envelope)) return refused('the signature does not match the report (changed after signing)');
    trust = { verdict: 'verified' };
  } else {
    if (envelope && !signatureHolds(envelope)) return refused('the signature does not match the report (changed after signing)');
    trust = { verdict: 'unverified', reason: envelope ? 'signed, but no fleet-auth.json to check the host\'s key against' : 'unsigned, and no fleet-auth.json to check against' };
  }
  let value: z.infer<S>;
  try {
    value = decode(schema, envelope ? envelope.document : bytes, channel.what);
  } catch (error) {
    return refused(error instanceof SchemaError ? error.message : errorMessage(error));
  }
  if (value.hostId !== channel.hostId) return refused(`the payload names host ${value.hostId}, but it arrived on ${channel.what}`);
  const mismatch = channel.check?.(value);
  if (mismatch) return refused(mismatch);
  return { hostId: channel.hostId, value, trust };
}

/** The values a reader may act on: every report that was not refused. */
export function acceptedValues<T>(reports: readonly HostReport<T>[]): T[] {
  return reports.flatMap((report) => (report.value === undefined ? [] : [report.value]));
}

function abbreviate(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}…${key.slice(-4)}` : key;
}
