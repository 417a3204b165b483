import { z } from 'zod';
import { requestSealSchema } from './signed-request.js';

/**
 * `hostwright exec` on the wire. A session starts with one signed, sealed request on
 * hw.rpc.<host>.exec (like retry and pull: for one host, single-use, valid for a minute); its bytes
 * then move as requests on hw.rpc.<host>.exec.io, each answered once. Core NATS drops what a slow
 * reader cannot take, so the coordinator pulls output: a poll names the next output sequence it
 * wants (everything before it is acknowledged), and the agent keeps what is unacknowledged,
 * reading no more from the container while EXEC_OUTPUT_WINDOW bytes wait. A lost reply is asked
 * for again with the same sequence; nothing is lost or repeated. Stdin goes the same way, each
 * chunk numbered and acknowledged.
 */

/** Unacknowledged output an agent keeps per session before it stops reading the container's. */
export const EXEC_OUTPUT_WINDOW = 1024 * 1024;

/** Output bytes one poll reply carries at most: well inside the server's 1 MB max payload. */
export const EXEC_REPLY_BYTES = 256 * 1024;

/** A stdin chunk's bytes at most. */
export const EXEC_STDIN_CHUNK = 64 * 1024;

/** How long a poll waits for output before it is answered empty. */
export const EXEC_POLL_WAIT_MS = 2_000;

/** A session nobody polls for this long is closed (its stream ends; the command sees its stdin close). */
export const EXEC_IDLE_MS = 60_000;

export const terminalSizeSchema = z.strictObject({ cols: z.number().int().min(1).max(10_000), rows: z.number().int().min(1).max(10_000) });
export type TerminalSize = z.infer<typeof terminalSizeSchema>;

/** Who asked, as the coordinator says: its NATS user (public key) and the name given with --as (or $USER). */
export const execRequesterSchema = z.strictObject({
  natsUser: z.string().max(64).optional(),
  as: z.string().max(128).optional(),
});
export type ExecRequester = z.infer<typeof execRequesterSchema>;

/** Signed (shared/signed-request.ts) with the coordinator key; the seal is required. */
export const execRequestSchema = z.strictObject({
  correlationID: z.string().max(128),
  /** The project, or any project that has the service on this host. */
  project: z.string().min(1).max(128).optional(),
  service: z.string().min(1).max(128),
  /** The instance number (SERVICE/N); the lowest running one when omitted. */
  instance: z.number().int().min(1).optional(),
  argv: z.array(z.string().max(64 * 1024)).min(1).max(1024),
  tty: z.boolean(),
  stdin: z.boolean(),
  size: terminalSizeSchema.optional(),
  who: execRequesterSchema,
  seal: requestSealSchema,
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

export const execStartReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), hostId: z.string(), session: z.string(), container: z.string(), project: z.string(), service: z.string(), instance: z.number().int() }),
  z.strictObject({ ok: z.literal(false), hostId: z.string(), error: z.string() }),
]);
export type ExecStartReply = z.infer<typeof execStartReplySchema>;

/** Raw bytes (MessagePack bin; a Buffer once decoded). */
const bytesSchema = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes');

const sessionIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 hex digits');

/**
 * One exchange of a running session: `ack` is the next output sequence wanted (a poll waits up to
 * EXEC_POLL_WAIT_MS for it), `stdin` the chunk numbered `stdinSeq`, `stdinEnd` closes stdin after
 * the chunks before `stdinSeq`, `resize` the terminal's new size, `close` ends the session.
 */
export const execIoRequestSchema = z.strictObject({
  session: sessionIdSchema,
  ack: z.number().int().min(0).optional(),
  stdinSeq: z.number().int().min(0).optional(),
  stdin: bytesSchema.refine((bytes) => bytes.byteLength <= EXEC_STDIN_CHUNK, `at most ${EXEC_STDIN_CHUNK} bytes`).optional(),
  stdinEnd: z.boolean().optional(),
  resize: terminalSizeSchema.optional(),
  close: z.boolean().optional(),
});
export type ExecIoRequest = z.infer<typeof execIoRequestSchema>;

export const execFrameSchema = z.strictObject({ seq: z.number().int().min(0), stream: z.enum(['stdout', 'stderr']), data: bytesSchema });
export type ExecFrame = z.infer<typeof execFrameSchema>;

export const execIoReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({
    ok: z.literal(true),
    /** Output from the sequence asked for, in order. */
    frames: z.array(execFrameSchema),
    /** The next stdin chunk number the agent expects (every one before it was written). */
    stdinNext: z.number().int().min(0),
    /** Set once the command ended and every frame before `exit.frames` was sent. */
    exit: z.strictObject({ code: z.number().int().nullable(), frames: z.number().int().min(0) }).optional(),
  }),
  z.strictObject({ ok: z.literal(false), error: z.string() }),
]);
export type ExecIoReply = z.infer<typeof execIoReplySchema>;
