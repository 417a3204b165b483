import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { decode } from '../../shared/codec.js';
import { RequestRefusedError, errorMessage } from '../../shared/errors.js';
import type { ExecAudit } from '../../shared/exec-audit.js';
import { EXEC_IDLE_MS, EXEC_POLL_WAIT_MS, execIoRequestSchema, execRequestSchema, type ExecIoReply, type ExecIoRequest, type ExecRequest, type ExecStartReply } from '../../shared/exec-wire.js';
import { HOST_PROJECT, type HostwrightEvent } from '../../shared/events.js';
import { MAX_WIRE_BYTES } from '../../shared/wire.js';
import { DockerStreamDemuxer, ExecOutput } from '../core/exec-output.js';
import { execTarget } from '../core/exec-target.js';
import type { ObservedContainer } from '../core/snapshot.js';
import type { AgentDaemon } from '../daemon.js';
import { failedEvent } from '../host-events.js';
import type { RuntimeExec } from '../runtime/runtime-adapter.js';
import type { DesiredTrust } from './desired-watcher.js';
import type { RequestGuard } from './request-guard.js';

/** Sessions open at once at most: each holds a Docker connection and up to a window of output. */
const MAX_SESSIONS = 32;

/** A finished session is kept this long for a poll whose reply was lost, then forgotten. */
const ENDED_KEEP_MS = 15_000;

/** How long after its stream ended the exec's exit code is looked for (the engine records it just after). */
const EXIT_CODE_WAIT_MS = 2_000;

/**
 * Answers `hostwright exec` (hw.rpc.<hostId>.exec and .exec.io). Exec is remote code execution:
 * refused unless the agent was started with --allow-exec and pins the coordinator key, and then
 * only on a request signed by that key, sealed for this host, fresh and single-use (RequestGuard),
 * in a running container this agent owns. Every session is recorded as `exec` events through the
 * journal's outbox (who, where, argv, times, exit code and byte counts, never the bytes); every
 * refusal as a `failed` event.
 */
export class ExecSessions {
  readonly #sessions = new Map<string, ExecSession>();
  readonly #sweep: NodeJS.Timeout;

  constructor(
    private readonly daemon: AgentDaemon,
    private readonly guard: RequestGuard,
    private readonly trust: DesiredTrust,
    private readonly allowExec: boolean,
    private readonly log: Logger,
  ) {
    this.#sweep = setInterval(() => this.#forgetIdle(Date.now()), 5_000);
    this.#sweep.unref();
  }

  async start(data: Uint8Array): Promise<ExecStartReply> {
    const { hostId, journal } = this.daemon.host;
    let request: ExecRequest | undefined;
    try {
      if (!this.allowExec) throw new RequestRefusedError('this agent does not allow exec: start it with --allow-exec (or policy.allow_exec: true in its configuration file)');
      if (this.trust.kind !== 'pinned') throw new RequestRefusedError('exec needs a pinned coordinator key (--coordinator-key); this agent runs with --allow-unsigned');
      request = await this.guard.admit(data, execRequestSchema, 'exec request', Date.now());
      if (this.#sessions.size >= MAX_SESSIONS) throw new RequestRefusedError(`${MAX_SESSIONS} exec sessions are open on this host; try again when one ends`);
      const target = execTarget((await this.daemon.host.reconciler.observer.observe()).containers, request);
      if (typeof target === 'string') throw new RequestRefusedError(target);
      const runtime = this.daemon.host.runtime;
      if (!runtime.startExec) throw new RequestRefusedError('this host\'s runtime cannot run exec');
      const exec = await runtime.startExec(target.id, { argv: request.argv, tty: request.tty, stdin: request.stdin, size: request.size });
      const id = randomBytes(16).toString('hex');
      const audit: ExecAudit = { phase: 'started', session: id, signingKey: this.trust.coordinatorKey, ...requester(request), container: target.name, argv: request.argv, tty: request.tty, startedAt: new Date().toISOString() };
      const session = new ExecSession(id, exec, request.tty, (ended) => this.#ended(session, ended));
      session.context = { target, request, audit };
      this.#sessions.set(id, session);
      await journal.appendEvents([execEvent(hostId, target, request.correlationID, audit)]);
      this.log.info({ session: id, container: target.name, argv0: request.argv[0], who: request.who }, 'exec session started');
      return { ok: true, hostId, session: id, container: target.name, project: target.identity.project, service: target.identity.service, instance: target.identity.instance };
    } catch (error) {
      const who = request ? ` (${describeRequester(request)})` : '';
      await journal.appendEvents([failedEvent({ hostId, project: HOST_PROJECT, message: `rejected an exec request${who}: ${errorMessage(error)}`, ...(request ? { correlationID: request.correlationID } : {}) })]).catch(() => undefined);
      return { ok: false, hostId, error: errorMessage(error) };
    }
  }

  async io(data: Uint8Array): Promise<ExecIoReply> {
    try {
      if (data.byteLength > MAX_WIRE_BYTES) throw new RequestRefusedError(`request of ${data.byteLength} bytes exceeds the ${MAX_WIRE_BYTES}-byte limit`);
      const request = decode(execIoRequestSchema, data, 'exec io request');
      const session = this.#sessions.get(request.session);
      if (!session) throw new RequestRefusedError(`no exec session ${request.session} on this host (it ended, or went unpolled for ${EXEC_IDLE_MS / 1000}s)`);
      return await session.exchange(request);
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  }

  /** Ends every session (the agent stops). */
  close(): void {
    clearInterval(this.#sweep);
    for (const session of this.#sessions.values()) session.destroy();
  }

  #ended(session: ExecSession, ended: { code: number | null; stdin: number }): void {
    const context = session.context;
    if (!context) return;
    const { hostId, journal } = this.daemon.host;
    const audit: ExecAudit = { ...context.audit, phase: 'ended', endedAt: new Date().toISOString(), exitCode: ended.code, bytes: { stdin: ended.stdin, stdout: session.output.totals.stdout, stderr: session.output.totals.stderr } };
    journal.appendEvents([execEvent(hostId, context.target, context.request.correlationID, audit)]).catch((error: unknown) => this.log.error({ error: errorMessage(error), session: session.id }, 'exec session end not recorded'));
    this.log.info({ session: session.id, exitCode: ended.code }, 'exec session ended');
  }

  #forgetIdle(now: number): void {
    for (const [id, session] of this.#sessions) {
      const idle = now - session.lastContact;
      if (session.output.ended ? idle > ENDED_KEEP_MS : idle > EXEC_IDLE_MS) {
        session.destroy();
        this.#sessions.delete(id);
      }
    }
  }
}

/** One running command: its stream, its unacknowledged output and where its stdin is. */
class ExecSession {
  readonly output = new ExecOutput();
  lastContact = Date.now();
  context: { readonly target: ObservedContainer; readonly request: ExecRequest; readonly audit: ExecAudit } | undefined;
  #stdinNext = 0;
  #stdinBytes = 0;
  #wake = new Set<() => void>();
  #finishing = false;

  constructor(
    readonly id: string,
    private readonly exec: RuntimeExec,
    tty: boolean,
    private readonly onEnd: (ended: { code: number | null; stdin: number }) => void,
  ) {
    const demuxer = new DockerStreamDemuxer((stream, chunk) => this.output.push(stream, chunk));
    exec.stream.on('data', (chunk: Buffer) => {
      if (tty) this.output.push('stdout', chunk);
      else demuxer.write(chunk);
      // Flow control: nothing more is read from the engine while a window's worth waits for the coordinator.
      if (this.output.full) exec.stream.pause();
      this.#notify();
    });
    exec.stream.once('end', () => void this.#finish());
    exec.stream.once('close', () => void this.#finish());
    exec.stream.once('error', () => void this.#finish());
  }

  async exchange(request: ExecIoRequest): Promise<ExecIoReply> {
    this.lastContact = Date.now();
    if (request.close) this.destroy();
    if (request.resize) await this.exec.resize(request.resize).catch(() => undefined);
    if (request.stdinSeq !== undefined && request.stdinSeq > this.#stdinNext) throw new RequestRefusedError(`stdin chunk ${request.stdinSeq} arrived before chunk ${this.#stdinNext}`);
    if (request.stdinSeq === this.#stdinNext && !this.output.ended) {
      if (request.stdin) await this.#write(request.stdin);
      if (request.stdinEnd) this.exec.stream.end();
      this.#stdinNext += 1;
    }
    if (request.ack === undefined) return { ok: true, frames: [], stdinNext: this.#stdinNext };
    this.output.ack(request.ack);
    if (!this.output.full && this.exec.stream.isPaused()) this.exec.stream.resume();
    if (!this.output.ready(request.ack)) await this.#waitForOutput(EXEC_POLL_WAIT_MS);
    this.lastContact = Date.now();
    const { frames, exit } = this.output.from(request.ack);
    return { ok: true, frames, stdinNext: this.#stdinNext, ...(exit ? { exit } : {}) };
  }

  destroy(): void {
    this.exec.stream.destroy();
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#stdinBytes += bytes.byteLength;
    if (this.exec.stream.write(bytes)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.exec.stream.off('drain', done);
        this.exec.stream.off('close', done);
        resolve();
      };
      this.exec.stream.on('drain', done);
      this.exec.stream.on('close', done);
    });
  }

  #waitForOutput(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = this.#wake;
      function done(): void {
        clearTimeout(timer);
        wake.delete(done);
        resolve();
      }
      wake.add(done);
    });
  }

  #notify(): void {
    for (const wake of [...this.#wake]) wake();
  }

  async #finish(): Promise<void> {
    if (this.#finishing) return;
    this.#finishing = true;
    let code: number | null = null;
    const until = Date.now() + EXIT_CODE_WAIT_MS;
    for (;;) {
      code = await this.exec.exitCode().catch(() => null);
      if (code !== null || Date.now() > until) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.output.end(code);
    this.#notify();
    this.onEnd({ code, stdin: this.#stdinBytes });
  }
}

function requester(request: ExecRequest): Pick<ExecAudit, 'natsUser' | 'as'> {
  return { ...(request.who.natsUser === undefined ? {} : { natsUser: request.who.natsUser }), ...(request.who.as === undefined ? {} : { as: request.who.as }) };
}

function describeRequester(request: ExecRequest): string {
  return [request.who.as && `as ${request.who.as}`, request.who.natsUser && `NATS user ${request.who.natsUser}`].filter(Boolean).join(', ') || 'no name given';
}

/** An `exec` event: the session record, and a line a person reads (argv as given, never output). */
function execEvent(hostId: string, target: ObservedContainer, correlationID: string, audit: ExecAudit): HostwrightEvent {
  const who = audit.as ?? audit.natsUser ?? 'unnamed';
  const message = audit.phase === 'started' ? `exec by ${who} in ${target.name}: ${JSON.stringify(audit.argv)}` : `exec by ${who} in ${target.name} ended (exit ${audit.exitCode ?? 'unknown'}): ${JSON.stringify(audit.argv)}`;
  return {
    id: randomUUID(),
    type: 'exec',
    severity: 'info',
    hostId,
    project: target.identity.project,
    service: target.identity.service,
    instance: target.identity.instance,
    message,
    runtimeRef: target.id,
    timestamp: audit.endedAt ?? audit.startedAt,
    correlationID,
    exec: audit,
  };
}
