import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { fromSeed } from '@nats-io/nkeys';
import { HostwrightError, InvalidInputError } from '../../../../shared/errors.js';
import { readCredentials } from '../../../../shared/nats-connection.js';
import type { TerminalSize } from '../../../../shared/exec-wire.js';
import { runExecSession, type ExecIo } from '../../../exec-client.js';
import { execHostOf, parseExecTarget } from '../../../exec-target.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { loadSigningKey } from '../../../signing-key.js';
import { withFleet } from '../../../fleet-session.js';
import { EXIT } from '../../exit-codes.js';
import type { FleetTarget } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import type { ExecOptions } from './options.js';

/** 128 + SIGINT, as a shell reports a command stopped with Ctrl-C. */
const INTERRUPTED = 130;

/**
 * `exec [--host H] SERVICE[/N] [-it] -- CMD…`: starts the command through the host's agent and
 * relays its output (and, with -i, this terminal's input); returns the command's exit code.
 */
export async function execOnFleet(target: FleetTarget, serviceArg: string, argv: readonly string[], options: ExecOptions): Promise<number> {
  const wanted = parseExecTarget(serviceArg);
  if (argv.length === 0) throw new InvalidInputError('exec: name the command to run after the service, e.g. `hostwright exec api -- sh -c "id"`');
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  const keyFile = options.signingKey ?? process.env.HOSTWRIGHT_SIGNING_KEY;
  if (!keyFile) throw new InvalidInputError('exec: agents run exec only on a request signed with the coordinator key: pass --signing-key FILE (coordinator-signing.nk) or set HOSTWRIGHT_SIGNING_KEY');
  const signer = await loadSigningKey(keyFile);
  const natsUser = target.access.credsFile ? fromSeed(new TextEncoder().encode((await readCredentials(target.access.credsFile)).seed)).getPublicKey() : undefined;
  const as = options.as ?? process.env.USER ?? safeUserName();
  const tty = options.tty === true;
  const interactive = options.interactive === true;
  const terminal = tty && interactive && process.stdin.isTTY ? process.stdin : undefined;
  const size = (): TerminalSize | undefined => (process.stdout.isTTY && process.stdout.columns && process.stdout.rows ? { cols: process.stdout.columns, rows: process.stdout.rows } : undefined);
  const abort = new AbortController();
  // Without a terminal in raw mode Ctrl-C stops this command: the session is closed, the exit is 130.
  const onInterrupt = (): void => abort.abort();
  process.once('SIGINT', onInterrupt);
  const io: ExecIo = {
    write: (stream, data) => writeOut(stream === 'stderr' ? process.stderr : process.stdout, data),
    stdin: interactive ? process.stdin : undefined,
    onResize: tty
      ? (send) => {
          const listener = (): void => {
            const now = size();
            if (now) send(now);
          };
          process.stdout.on('resize', listener);
          return () => process.stdout.off('resize', listener);
        }
      : undefined,
  };
  terminal?.setRawMode(true);
  try {
    const result = await withFleet(target, async (client) => {
      const hostId = options.host ?? execHostOf(await client.statuses(), wanted, options.project);
      if (options.host) requireKnownHost('--host', hostId, await client.knownHostIds());
      const current = size();
      return runExecSession(
        client.connection.nc,
        signer,
        hostId,
        { correlationID: randomUUID(), ...(options.project === undefined ? {} : { project: options.project }), service: wanted.service, ...(wanted.instance === undefined ? {} : { instance: wanted.instance }), argv: [...argv], tty, stdin: interactive, ...(tty && current ? { size: current } : {}), who: { ...(natsUser ? { natsUser } : {}), ...(as ? { as } : {}) } },
        io,
        timeoutMs,
        undefined,
        abort.signal,
      );
    });
    if (result.exitCode === null) {
      process.stderr.write(`error: the command in ${result.started.container} on ${result.started.hostId} ended, but its engine did not say with which exit code\n`);
      return EXIT.error;
    }
    return result.exitCode;
  } catch (error) {
    if (abort.signal.aborted && error instanceof HostwrightError) {
      process.stderr.write(`${error.message}\n`);
      return INTERRUPTED;
    }
    throw error;
  } finally {
    terminal?.setRawMode(false);
    process.off('SIGINT', onInterrupt);
    // Stdin stays open otherwise, and with it this process.
    if (interactive) process.stdin.destroy();
  }
}

function writeOut(stream: NodeJS.WriteStream, data: Uint8Array): Promise<void> | void {
  if (stream.write(data)) return;
  return new Promise((resolve) => stream.once('drain', resolve));
}

function safeUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
