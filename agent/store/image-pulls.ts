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
  /** When cleanup first saw no revision name the reference (agent/core/image-cleanup.ts); absent while one does. */
  unreferencedSince: z.string().optional(),
});
export type ImagePullRecord = z.infer<typeof imagePullRecordSchema>;

/**
 * Owns the `image:` range: one record per reference, the latest pull's; it is the proof that Hostwright
 * pulled the image cleanup removes. A record goes when cleanup removed its image.
 */
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

  records(): ImagePullRecord[] {
    return [...this.#byReference.values()];
  }

  /** Sets or clears when each reference stopped being referenced, in one fsync'd write. */
  async markUnreferenced(marks: readonly { reference: string; unreferencedSince: string | undefined }[]): Promise<void> {
    const updated = marks.flatMap((mark) => {
      const record = this.#byReference.get(mark.reference);
      if (record === undefined) return [];
      const { unreferencedSince: _previous, ...rest } = record;
      return [mark.unreferencedSince === undefined ? rest : { ...rest, unreferencedSince: mark.unreferencedSince }];
    });
    if (updated.length === 0) return;
    await this.#writer.write(updated.map((record) => ({ type: 'put' as const, key: `${PREFIX.image}${record.reference}`, value: encode(record) })));
    for (const record of updated) this.#byReference.set(record.reference, record);
  }

  /** After cleanup removed an image: the records of its references that got that image go with it. */
  async forget(references: readonly string[], imageId: string): Promise<void> {
    const gone = references.filter((reference) => this.#byReference.get(reference)?.imageId === imageId);
    if (gone.length === 0) return;
    await this.#writer.write(gone.map((reference) => ({ type: 'del' as const, key: `${PREFIX.image}${reference}` })));
    for (const reference of gone) this.#byReference.delete(reference);
  }

  /** Fsync'd: a lost record only makes a time-based policy pull once more. */
  async record(record: ImagePullRecord): Promise<void> {
    await this.#writer.write([{ type: 'put', key: `${PREFIX.image}${record.reference}`, value: encode(record) }]);
    this.#byReference.set(record.reference, record);
  }
}
