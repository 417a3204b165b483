// The images this host pulled: per reference, when it was last pulled and what it got. Read at open and kept
// in memory; the pull policies that pull a present image again (daily, weekly, every_<duration>) read the time.
import type { Level } from 'level';
import { z } from 'zod';
import { decode, encode } from '../../shared/codec.js';
import type { BatchWriter } from './batch-writer.js';
import { PREFIX, range } from './keys.js';

export const imagePullRecordSchema = z.object({
  /** The reference as normalized for comparison (agent/core/images.ts). */
  reference: z.string(),
  pulledAt: z.string(),
  imageId: z.string().optional(),
  digest: z.string().optional(),
});
export type ImagePullRecord = z.infer<typeof imagePullRecordSchema>;

/** Owns the `image:` range: one record per reference, the latest pull's. Retention: a reference no desired revision names may go. */
export class ImagePulls {
  readonly #writer: BatchWriter;
  readonly #byReference = new Map<string, ImagePullRecord>();

  private constructor(writer: BatchWriter) {
    this.#writer = writer;
  }

  static async load(db: Level<string, Uint8Array>, writer: BatchWriter): Promise<ImagePulls> {
    const pulls = new ImagePulls(writer);
    for await (const [key, value] of db.iterator(range(PREFIX.image))) {
      const record = decode(imagePullRecordSchema, value, `journal ${key}`);
      pulls.#byReference.set(record.reference, record);
    }
    return pulls;
  }

  lastPulledAt(): Map<string, string> {
    return new Map([...this.#byReference].map(([reference, record]) => [reference, record.pulledAt]));
  }

  /** Fsync'd: a lost record only makes a time-based policy pull once more. */
  async record(record: ImagePullRecord): Promise<void> {
    await this.#writer.write([{ type: 'put', key: `${PREFIX.image}${record.reference}`, value: encode(record) }]);
    this.#byReference.set(record.reference, record);
  }
}
