import { z } from 'zod';
import { decode, encode } from './codec.js';
import { SchemaError } from './errors.js';

/**
 * A plan reply travels in parts, each within the server's max payload: a plan of thousands of
 * actions is larger than one NATS message. More parts than this and the agent answers with an
 * error instead (a plan that large is no plan a person reads).
 */
export const MAX_PLAN_REPLY_PARTS = 64;

/** Room left in each part for the envelope around its bytes. */
const PART_OVERHEAD_BYTES = 1024;

const bytesSchema = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes');
export const planReplyPartSchema = z.strictObject({
  part: z.number().int().min(0).max(MAX_PLAN_REPLY_PARTS - 1),
  parts: z.number().int().min(1).max(MAX_PLAN_REPLY_PARTS),
  bytes: bytesSchema,
});
export type PlanReplyPart = z.infer<typeof planReplyPartSchema>;

/** The encoded parts of an encoded reply, or undefined when it needs more than MAX_PLAN_REPLY_PARTS. */
export function splitReply(reply: Uint8Array, maxPayload: number): Uint8Array[] | undefined {
  const size = Math.max(1, maxPayload - PART_OVERHEAD_BYTES);
  const parts = Math.max(1, Math.ceil(reply.byteLength / size));
  if (parts > MAX_PLAN_REPLY_PARTS) return undefined;
  return Array.from({ length: parts }, (_, part) => encode({ part, parts, bytes: reply.subarray(part * size, (part + 1) * size) }));
}

/** Collects the parts of one reply, in any order; the joined bytes once every part arrived. */
export class ReplyAssembler {
  #parts: (Uint8Array | undefined)[] = [];
  #received = 0;

  /** Throws SchemaError on a malformed part, a part that disagrees on the count, or a repeated one. */
  add(message: Uint8Array): Uint8Array | undefined {
    const { part, parts, bytes } = decode(planReplyPartSchema, message, 'plan reply part');
    if (this.#received === 0) this.#parts = new Array<Uint8Array | undefined>(parts).fill(undefined);
    if (parts !== this.#parts.length || part >= parts) throw new SchemaError(`plan reply part ${part + 1} of ${parts} disagrees with the first part's count (${this.#parts.length})`, []);
    if (this.#parts[part] !== undefined) throw new SchemaError(`plan reply part ${part + 1} arrived twice`, []);
    this.#parts[part] = bytes;
    this.#received += 1;
    return this.#received === parts ? Buffer.concat(this.#parts as Uint8Array[]) : undefined;
  }
}
