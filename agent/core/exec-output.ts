import { EXEC_OUTPUT_WINDOW, EXEC_REPLY_BYTES, type ExecFrame } from '../../shared/exec-wire.js';

/**
 * An exec session's output until the coordinator acknowledges it: numbered frames, kept until a
 * poll asks for a later sequence, so a lost reply is sent again and nothing is repeated once
 * acknowledged. `full` says the reader must pause the container's stream. Pure.
 */
export class ExecOutput {
  #frames: ExecFrame[] = [];
  #nextSeq = 0;
  #unacked = 0;
  #exit: { readonly code: number | null } | undefined;
  readonly totals = { stdout: 0, stderr: 0 };

  /** Appends output, cut into frames a reply can carry. */
  push(stream: ExecFrame['stream'], data: Uint8Array): void {
    this.totals[stream] += data.byteLength;
    for (let offset = 0; offset < data.byteLength; offset += EXEC_REPLY_BYTES) {
      const part = data.subarray(offset, Math.min(data.byteLength, offset + EXEC_REPLY_BYTES));
      this.#frames.push({ seq: this.#nextSeq++, stream, data: part });
      this.#unacked += part.byteLength;
    }
  }

  /** The command ended: no frame comes after those pushed. */
  end(code: number | null): void {
    this.#exit ??= { code };
  }

  get full(): boolean {
    return this.#unacked >= EXEC_OUTPUT_WINDOW;
  }

  get ended(): boolean {
    return this.#exit !== undefined;
  }

  /** Every frame before `seq` arrived: they are dropped. */
  ack(seq: number): void {
    while (this.#frames.length > 0 && (this.#frames[0] as ExecFrame).seq < seq) this.#unacked -= (this.#frames.shift() as ExecFrame).data.byteLength;
  }

  /** Whether a poll from `seq` has something to carry now (frames, or the end). */
  ready(seq: number): boolean {
    return this.#exit !== undefined || this.#frames.some((frame) => frame.seq >= seq);
  }

  /**
   * The frames from `seq` that fit in one reply, and the exit once every frame was sent (a reply
   * carries it only when its frames reach the last one).
   */
  from(seq: number): { frames: ExecFrame[]; exit?: { code: number | null; frames: number } } {
    const frames: ExecFrame[] = [];
    let bytes = 0;
    for (const frame of this.#frames) {
      if (frame.seq < seq) continue;
      if (frames.length > 0 && bytes + frame.data.byteLength > EXEC_REPLY_BYTES) break;
      frames.push(frame);
      bytes += frame.data.byteLength;
    }
    const last = frames.length > 0 ? (frames[frames.length - 1] as ExecFrame).seq + 1 : seq;
    if (this.#exit !== undefined && last >= this.#nextSeq) return { frames, exit: { code: this.#exit.code, frames: this.#nextSeq } };
    return { frames };
  }
}

/**
 * Splits Docker's multiplexed attach stream (no TTY: an 8-byte header before each payload, byte 0
 * the stream, bytes 4-7 the length) into stdout and stderr, across chunk boundaries.
 */
export class DockerStreamDemuxer {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: ExecFrame['stream'], data: Uint8Array) => void) {}

  write(chunk: Buffer): void {
    this.#pending = this.#pending.byteLength === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.byteLength >= 8) {
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.byteLength < 8 + size) return;
      const kind = this.#pending[0];
      const payload = this.#pending.subarray(8, 8 + size);
      this.#pending = this.#pending.subarray(8 + size);
      if (size > 0) this.onFrame(kind === 2 ? 'stderr' : 'stdout', payload);
    }
  }
}
