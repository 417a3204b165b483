import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { engineTimeParameter, type LogTime } from '../../shared/log-stream.js';
import { isNotFound } from './docker-errors.js';

export interface ContainerLogQuery {
  readonly follow: boolean;
  readonly since?: LogTime | undefined;
  readonly until?: LogTime | undefined;
  readonly tail?: number | undefined;
  readonly signal: AbortSignal;
}

/** A piece of a container's output as the engine sent it, each line starting with its timestamp. */
export interface LogPiece {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/**
 * A container's output from the engine's logs API with timestamps, as a stream read only as fast
 * as it is consumed (so an unread stream stops the engine sending). Always a stream, also without
 * `follow` (dockerode would buffer the whole output then). undefined when the container is gone.
 */
export async function readContainerLogs(docker: Docker, containerId: string, query: ContainerLogQuery): Promise<AsyncIterable<LogPiece> | undefined> {
  let tty: boolean;
  try {
    tty = (await docker.getContainer(containerId).inspect({ abortSignal: query.signal })).Config.Tty;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const options: Record<string, string | number | boolean> = { stdout: true, stderr: true, timestamps: true, follow: query.follow };
  if (query.since !== undefined) options.since = engineTimeParameter(query.since);
  if (query.until !== undefined) options.until = engineTimeParameter(query.until);
  if (query.tail !== undefined) options.tail = query.tail;
  let stream: Readable;
  try {
    stream = await new Promise<Readable>((resolve, reject) => {
      docker.modem.dial(
        { path: `/containers/${containerId}/logs?`, method: 'GET', isStream: true, abortSignal: query.signal, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' }, options },
        (error: unknown, data: unknown) => (error ? reject(error as Error) : resolve(data as Readable)),
      );
    });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  query.signal.addEventListener('abort', () => stream.destroy(), { once: true });
  return tty ? rawPieces(stream) : demultiplexed(stream);
}

async function* rawPieces(stream: Readable): AsyncIterable<LogPiece> {
  for await (const chunk of stream as AsyncIterable<Buffer>) yield { stream: 'stdout', text: chunk.toString('utf8') };
}

/** Without a TTY the engine frames its output: 8 header bytes (stream type, size) then the payload. */
async function* demultiplexed(stream: Readable): AsyncIterable<LogPiece> {
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      const pieces: LogPiece[] = [];
      while (offset + 8 <= pending.length) {
        const size = pending.readUInt32BE(offset + 4);
        if (offset + 8 + size > pending.length) break;
        const kind = pending[offset] === 2 ? 'stderr' : 'stdout';
        const payload = pending.subarray(offset + 8, offset + 8 + size);
        // Consecutive frames of one stream go out as one piece.
        const last = pieces.at(-1);
        if (last && last.stream === kind) pieces[pieces.length - 1] = { stream: kind, text: last.text + payload.toString('utf8') };
        else pieces.push({ stream: kind, text: payload.toString('utf8') });
        offset += 8 + size;
      }
      pending = pending.subarray(offset);
      for (const piece of pieces) yield piece;
    }
  } catch (error) {
    // The signal destroyed the stream: that ends it, it is no failure.
    if ((error as NodeJS.ErrnoException).code !== 'ABORT_ERR' && !stream.destroyed) throw error;
  }
}
