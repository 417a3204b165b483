import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { decode, encode } from '../shared/codec.js';
import { HostwrightError, errorMessage } from '../shared/errors.js';
import { EXEC_POLL_WAIT_MS, EXEC_STDIN_CHUNK, execIoReplySchema, execStartReplySchema, type ExecIoReply, type ExecIoRequest, type ExecRequest, type ExecStartReply, type TerminalSize } from '../shared/exec-wire.js';
import { signRequest } from '../shared/signed-request.js';
import { execIoRpcSubject, execRpcSubject } from '../shared/subjects.js';
import type { DocumentSigningKey } from '../shared/signed-document.js';

/** Polls in a row that may go unanswered before the session counts as lost (the agent or NATS went away). */
const MAX_UNANSWERED = 5;

/** How long an exchange may take beyond a poll's own wait. */
const EXCHANGE_SLACK_MS = 5_000;

/** Where a session's bytes come from and go to (the terminal, or a test's streams). */
export interface ExecIo {
  /** Output, written in order; a returned promise holds the next poll back (the reader's pace sets the window's). */
  readonly write: (stream: 'stdout' | 'stderr', data: Uint8Array) => Promise<void> | void;
  /** Stdin as chunks, ended by the source; absent without -i. */
  readonly stdin?: AsyncIterable<Uint8Array> | undefined;
  /** Called with a function that sends the terminal's new size; returns how to stop listening. */
  readonly onResize?: ((send: (size: TerminalSize) => void) => () => void) | undefined;
}

export type ExecStart = Omit<ExecRequest, 'seal'>;

export type ExecStarted = Extract<ExecStartReply, { ok: true }>;

/**
 * Runs one `hostwright exec` session against a host's agent: a signed, sealed start request, then
 * output pulled in order (each poll acknowledges what came before it, so the agent's window moves
 * at this reader's pace and a lost reply is asked for again), stdin sent in numbered chunks.
 * Resolves with the command's exit code (null when the engine could not say).
 */
export async function runExecSession(nc: NatsConnection, signer: DocumentSigningKey, hostId: string, start: ExecStart, io: ExecIo, timeoutMs: number, onStarted?: (started: ExecStarted) => void, signal?: AbortSignal): Promise<{ readonly started: ExecStarted; readonly exitCode: number | null }> {
  const body = signRequest(start, hostId, signer, Date.now(), randomBytes(16).toString('hex'));
  const reply = await exchange(nc, execRpcSubject(hostId), body, timeoutMs, execStartReplySchema, hostId);
  if (!reply) throw new HostwrightError(`host ${hostId} did not answer the exec request within ${Math.round(timeoutMs / 1000)}s (is its agent running and connected?)`);
  if (!reply.ok) throw new HostwrightError(`host ${reply.hostId} refused the exec: ${reply.error}`);
  onStarted?.(reply);
  const session = reply.session;
  const send = async (request: Omit<ExecIoRequest, 'session'>, wait: number): Promise<Extract<ExecIoReply, { ok: true }> | undefined> => {
    const answer = await exchange(nc, execIoRpcSubject(hostId), encode({ session, ...request }), wait, execIoReplySchema, hostId);
    if (answer && !answer.ok) throw new HostwrightError(`host ${hostId}: ${answer.error}`);
    return answer;
  };
  let done = false;
  const stopResize = io.onResize?.((size) => void send({ resize: size }, EXCHANGE_SLACK_MS).catch(() => undefined));
  const input = io.stdin ? sendStdin(io.stdin, send, () => done) : Promise.resolve();
  input.catch(() => undefined);
  try {
    let ack = 0;
    let unanswered = 0;
    for (;;) {
      if (signal?.aborted) {
        await send({ close: true }, EXCHANGE_SLACK_MS).catch(() => undefined);
        throw new HostwrightError('exec interrupted; the session was closed');
      }
      const answer = await send({ ack }, EXEC_POLL_WAIT_MS + EXCHANGE_SLACK_MS);
      if (!answer) {
        unanswered += 1;
        if (unanswered >= MAX_UNANSWERED) throw new HostwrightError(`lost the exec session on host ${hostId}: ${MAX_UNANSWERED} polls went unanswered (its agent or NATS went away); the command may still be running there`);
        continue;
      }
      unanswered = 0;
      for (const frame of answer.frames) {
        // A frame sent again after a lost reply was written already.
        if (frame.seq !== ack) continue;
        await io.write(frame.stream, frame.data);
        ack += 1;
      }
      if (answer.exit && ack >= answer.exit.frames) {
        done = true;
        await send({ close: true }, EXCHANGE_SLACK_MS).catch(() => undefined);
        return { started: reply, exitCode: answer.exit.code };
      }
    }
  } finally {
    done = true;
    stopResize?.();
  }
}

/** Stdin in chunks numbered from 0, each sent until the agent's `stdinNext` passes it; then its end. */
async function sendStdin(stdin: AsyncIterable<Uint8Array>, send: (request: Omit<ExecIoRequest, 'session'>, wait: number) => Promise<{ stdinNext: number } | undefined>, finished: () => boolean): Promise<void> {
  let seq = 0;
  const deliver = async (request: Omit<ExecIoRequest, 'session'>): Promise<void> => {
    for (let attempt = 0; attempt < MAX_UNANSWERED && !finished(); attempt += 1) {
      const answer = await send(request, EXCHANGE_SLACK_MS);
      if (answer && answer.stdinNext > seq) return;
    }
  };
  for await (const chunk of stdin) {
    if (finished()) return;
    for (let offset = 0; offset < chunk.byteLength; offset += EXEC_STDIN_CHUNK) {
      await deliver({ stdinSeq: seq, stdin: chunk.subarray(offset, offset + EXEC_STDIN_CHUNK) });
      seq += 1;
    }
  }
  if (!finished()) await deliver({ stdinSeq: seq, stdinEnd: true });
}

/** One request, one reply, validated; undefined when nobody answered in time. */
async function exchange<T>(nc: NatsConnection, subject: string, body: Uint8Array, timeoutMs: number, schema: z.ZodType<T>, hostId: string): Promise<T | undefined> {
  try {
    const msg = await nc.request(subject, body, { timeout: timeoutMs });
    return decode(schema, msg.data, `exec reply of ${hostId}`);
  } catch (error) {
    const message = `${(error as { name?: string }).name ?? ''} ${errorMessage(error)}`;
    if (/timeout/i.test(message)) return undefined;
    if (/no responders|503/i.test(message)) throw new HostwrightError(`no agent of host ${hostId} is listening (is it running, connected, and a version with exec?)`, { cause: error });
    if (/permissions violation/i.test(message)) throw new HostwrightError(`the NATS user of --creds may not exec: only the admin role may (admin.nk, or a user added with \`fleet add-user NAME --role admin\`)`, { cause: error });
    throw error;
  }
}
