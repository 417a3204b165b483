import type { z } from 'zod';
import { decode } from '../../shared/codec.js';
import { RequestRefusedError, SignatureError, errorMessage } from '../../shared/errors.js';
import { openSignedDocument, signatureHolds, verifySignedDocument } from '../../shared/signed-document.js';
import { REQUEST_CLOCK_SKEW_MS, sealRefusal, type RequestSeal } from '../../shared/signed-request.js';
import { MAX_WIRE_BYTES } from '../../shared/wire.js';
import type { DesiredTrust } from './desired-watcher.js';

/** Nonces kept at most: far more than a coordinator signs for one host within a request's validity. */
const MAX_REMEMBERED_NONCES = 10_000;

/** Where a guard keeps nonces across restarts (the journal's `nonce:` range, agent/store/request-nonces.ts). */
export interface NonceStore {
  remembered(): ReadonlyMap<string, number>;
  remember(nonce: string, until: number, now: number): Promise<void>;
}

/**
 * Admits retry, pull and exec requests the way desired state is admitted: with a pinned coordinator
 * key, only a request signed by it, sealed for this host, not expired, and not seen before (its
 * nonce is remembered while the request is valid, in the journal when the guard has one, written
 * before the request runs, so a restarted agent cannot be made to run it again). With
 * --allow-unsigned an unsigned request runs, as before signing; a seal, when there is one, is still checked.
 */
export class RequestGuard {
  /** Nonce to the time (ms) after which no request carrying it can be valid. */
  readonly #seen = new Map<string, number>();

  #store: Promise<NonceStore | undefined> | undefined;

  constructor(
    private readonly hostId: string,
    private readonly trust: DesiredTrust,
    private readonly openStore?: () => Promise<NonceStore>,
  ) {}

  /**
   * The request, if this agent may act on it; RequestRefusedError otherwise. `check` runs on the
   * signed bytes before they are decoded with the schema (a newer candidate's schema is named so).
   */
  async admit<T extends { readonly seal?: RequestSeal | undefined }>(data: Uint8Array, schema: z.ZodType<T>, what: string, now: number, check?: (bytes: Uint8Array) => void): Promise<T> {
    if (data.byteLength > MAX_WIRE_BYTES) throw new RequestRefusedError(`request of ${data.byteLength} bytes exceeds the ${MAX_WIRE_BYTES}-byte limit`);
    const bytes = this.#signedBytes(data, what);
    check?.(bytes);
    const request = decode(schema, bytes, what);
    if (request.seal === undefined) {
      if (this.trust.kind === 'pinned') throw new RequestRefusedError(`the ${what} carries no seal (host, nonce, expiry)`);
      return request;
    }
    const store = await this.#openedStore();
    this.#forgetExpired(now);
    const refusal = sealRefusal(request.seal, this.hostId, now, (nonce) => this.#seen.has(nonce));
    if (refusal) throw new RequestRefusedError(refusal);
    if (this.#seen.size >= MAX_REMEMBERED_NONCES) throw new RequestRefusedError(`${MAX_REMEMBERED_NONCES} signed requests are still valid; try again in a minute`);
    const until = Date.parse(request.seal.expiresAt) + REQUEST_CLOCK_SKEW_MS;
    this.#seen.set(request.seal.nonce, until);
    await store?.remember(request.seal.nonce, until, now);
    return request;
  }

  /** The store, read into memory once: the nonces an earlier run of this agent admitted. */
  #openedStore(): Promise<NonceStore | undefined> {
    this.#store ??= (async () => {
      if (!this.openStore) return undefined;
      const store = await this.openStore();
      for (const [nonce, until] of store.remembered()) this.#seen.set(nonce, until);
      return store;
    })();
    return this.#store;
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
