import type { z } from 'zod';
import { decode } from '../../shared/codec.js';
import { RequestRefusedError, SignatureError, errorMessage } from '../../shared/errors.js';
import { openSignedDocument, signatureHolds, verifySignedDocument } from '../../shared/signed-document.js';
import { REQUEST_CLOCK_SKEW_MS, sealRefusal, type RequestSeal } from '../../shared/signed-request.js';
import { MAX_WIRE_BYTES } from '../../shared/wire.js';
import type { DesiredTrust } from './desired-watcher.js';

/** Nonces kept at most: far more than a coordinator signs for one host within a request's validity. */
const MAX_REMEMBERED_NONCES = 10_000;

/**
 * Admits retry and pull requests the way desired state is admitted: with a pinned coordinator key,
 * only a request signed by it, sealed for this host, not expired, and not seen before (its nonce is
 * remembered while the request is valid; a restarted agent forgets them, so a request recorded
 * before the restart can run once more within its minute). With --allow-unsigned an unsigned
 * request runs, as before signing; a seal, when there is one, is still checked.
 */
export class RequestGuard {
  /** Nonce to the time (ms) after which no request carrying it can be valid. */
  readonly #seen = new Map<string, number>();

  constructor(
    private readonly hostId: string,
    private readonly trust: DesiredTrust,
  ) {}

  /**
   * The request, if this agent may act on it; RequestRefusedError otherwise. `check` runs on the
   * signed bytes before they are decoded with the schema (a newer candidate's schema is named so).
   */
  admit<T extends { readonly seal?: RequestSeal | undefined }>(data: Uint8Array, schema: z.ZodType<T>, what: string, now: number, check?: (bytes: Uint8Array) => void): T {
    if (data.byteLength > MAX_WIRE_BYTES) throw new RequestRefusedError(`request of ${data.byteLength} bytes exceeds the ${MAX_WIRE_BYTES}-byte limit`);
    const bytes = this.#signedBytes(data, what);
    check?.(bytes);
    const request = decode(schema, bytes, what);
    if (request.seal === undefined) {
      if (this.trust.kind === 'pinned') throw new RequestRefusedError(`the ${what} carries no seal (host, nonce, expiry)`);
      return request;
    }
    this.#forgetExpired(now);
    const refusal = sealRefusal(request.seal, this.hostId, now, (nonce) => this.#seen.has(nonce));
    if (refusal) throw new RequestRefusedError(refusal);
    if (this.#seen.size >= MAX_REMEMBERED_NONCES) throw new RequestRefusedError(`${MAX_REMEMBERED_NONCES} signed requests are still valid; try again in a minute`);
    this.#seen.set(request.seal.nonce, Date.parse(request.seal.expiresAt) + REQUEST_CLOCK_SKEW_MS);
    return request;
  }

  #signedBytes(data: Uint8Array, what: string): Uint8Array {
    try {
      if (this.trust.kind === 'pinned') return verifySignedDocument(data, this.trust.coordinatorKey);
      const envelope = openSignedDocument(data);
      if (!signatureHolds(envelope)) throw new SignatureError('tampered', 'the signature does not match the request bytes (changed after signing)');
      return envelope.document;
    } catch (error) {
      if (!(error instanceof SignatureError)) throw error;
      if (error.problem === 'unsigned' && this.trust.kind === 'unsigned-allowed') return data;
      const hint = error.problem === 'unsigned' ? '; this agent pins the coordinator key and acts only on signed requests: pass --signing-key (coordinator-signing.nk) to the command that sent it' : '';
      throw new RequestRefusedError(`${error.problem} ${what}: ${errorMessage(error)}${hint}`);
    }
  }

  #forgetExpired(now: number): void {
    for (const [nonce, until] of this.#seen) if (until < now) this.#seen.delete(nonce);
  }
}
