import { EXIT } from './exit-codes.js';

// `hostwright events | head -1`: once the reader is gone, a write fails with EPIPE. Node ignores
// SIGPIPE, so without this the failed write is an unhandled error with a stack trace.

/**
 * Ends the process quietly with EXIT.closedPipe when the reader of stdout or stderr goes away: the
 * status a shell reports for `git log | head -1`. Any other stream error is left to Node.
 */
export function endQuietlyOnClosedPipe(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr], exit: (code: number) => void = (code) => process.exit(code)): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      exit(EXIT.closedPipe);
    });
  }
}
