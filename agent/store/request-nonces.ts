// The nonces of signed requests (retry, pull, exec) while they are valid: a restarted agent still
// refuses a request it ran before the restart. Expired ones are deleted as new ones are written.
import type { Level } from 'level';
import { z } from 'zod';
import { decode, encode } from '../../shared/codec.js';
import type { BatchWriter } from './batch-writer.js';
import { PREFIX, range } from './keys.js';

const nonceRecordSchema = z.object({ until: z.number() });

/** Owns the `nonce:` range: one key per nonce, with the time (ms) after which no request carrying it can be valid. */
export class RequestNonces {
  readonly #until = new Map<string, number>();

  private constructor(private readonly writer: BatchWriter) {}

  static async load(db: Level<string, Uint8Array>, writer: BatchWriter): Promise<RequestNonces> {
    const nonces = new RequestNonces(writer);
    for await (const [key, value] of db.iterator(range(PREFIX.nonce))) nonces.#until.set(key.slice(PREFIX.nonce.length), decode(nonceRecordSchema, value, `journal ${key}`).until);
    return nonces;
  }

  /** Every nonce remembered, with its time. */
  remembered(): ReadonlyMap<string, number> {
    return this.#until;
  }

  /** Remembers a nonce (fsync'd before the request runs) and forgets those expired by `now`. */
  async remember(nonce: string, until: number, now: number): Promise<void> {
    const expired = [...this.#until].filter(([, time]) => time < now).map(([key]) => key);
    await this.writer.write([{ type: 'put', key: `${PREFIX.nonce}${nonce}`, value: encode({ until }) }, ...expired.map((key) => ({ type: 'del' as const, key: `${PREFIX.nonce}${key}` }))]);
    for (const key of expired) this.#until.delete(key);
    this.#until.set(nonce, until);
  }
}
