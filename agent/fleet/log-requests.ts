import type Docker from 'dockerode';
import type { Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { decode, encode } from '../../shared/codec.js';
import { errorMessage } from '../../shared/errors.js';
import { LOG_SESSION_IDLE_MS, logRequestSchema, type LogChunk } from '../../shared/log-stream.js';
import { MAX_WIRE_BYTES } from '../../shared/wire.js';
import type { RuntimeSnapshot } from '../core/snapshot.js';
import { LogSession, type LogSessionPorts, type OwnedInstance } from './log-session.js';

/** Sessions one agent serves at once: each holds engine streams open. */
const MAX_LOG_SESSIONS = 64;

export interface LogRequestPorts {
  readonly hostId: string;
  /** undefined: this agent's runtime is not a Docker engine it can read logs from. */
  readonly docker: Docker | undefined;
  observe(): Promise<RuntimeSnapshot>;
  publish(subject: string, data: Uint8Array): void;
  maxPayload(): number;
  readonly logger: Logger;
}

/**
 * Answers `hostwright logs` requests (hw.rpc.<hostId>.logs): a request opens a session or grants an
 * open one more credit. Only the coordinator may publish on this subject (nats-auth.ts), and a
 * session reads only containers this agent proves it owns, of the project and service asked.
 */
export class LogRequests {
  readonly #sessions = new Map<string, LogSession>();
  readonly #idleCheck: NodeJS.Timeout;

  constructor(private readonly ports: LogRequestPorts) {
    // A coordinator that went away grants no more credit: its sessions end here.
    this.#idleCheck = setInterval(() => this.#closeIdle(Date.now()), LOG_SESSION_IDLE_MS / 4);
    this.#idleCheck.unref();
  }

  handle(msg: Msg): void {
    if (!msg.reply) return;
    let request;
    try {
      if (msg.data.byteLength > MAX_WIRE_BYTES) throw new Error(`request of ${msg.data.byteLength} bytes exceeds the ${MAX_WIRE_BYTES}-byte limit`);
      request = decode(logRequestSchema, msg.data, 'logs request');
    } catch (error) {
      this.#refuse(msg.reply, 'unknown', errorMessage(error));
      return;
    }
    const open = this.#sessions.get(request.session);
    if (request.stop) {
      open?.close();
      this.#sessions.delete(request.session);
      return;
    }
    if (open && !open.closed && !request.restart) {
      open.grant(msg.reply, request.credit, Date.now());
      return;
    }
    open?.close();
    this.#sessions.delete(request.session);
    const docker = this.ports.docker;
    if (!docker) return this.#refuse(msg.reply, request.session, 'this agent does not run on a Docker engine it can read logs from');
    if (this.#sessions.size >= MAX_LOG_SESSIONS) return this.#refuse(msg.reply, request.session, `this agent serves ${MAX_LOG_SESSIONS} log streams already; try again later`);
    const session = new LogSession(request, this.#sessionPorts(docker));
    session.grant(msg.reply, request.credit, Date.now());
    this.#sessions.set(request.session, session);
    session
      .run()
      .catch((error: unknown) => this.ports.logger.warn({ error: errorMessage(error), session: request.session }, 'log stream failed'))
      .finally(() => {
        if (this.#sessions.get(request.session) === session) this.#sessions.delete(request.session);
      });
  }

  close(): void {
    clearInterval(this.#idleCheck);
    for (const session of this.#sessions.values()) session.close();
    this.#sessions.clear();
  }

  #closeIdle(now: number): void {
    for (const [id, session] of this.#sessions) {
      if (now - session.lastGrantAt < LOG_SESSION_IDLE_MS) continue;
      session.close();
      this.#sessions.delete(id);
    }
  }

  #refuse(subject: string, session: string, error: string): void {
    this.ports.publish(subject, encode({ session, hostId: this.ports.hostId, seq: 1, entries: [], end: true, error } satisfies LogChunk));
  }

  #sessionPorts(docker: Docker): LogSessionPorts {
    return {
      hostId: this.ports.hostId,
      docker,
      ownedInstances: async (project, service, instance) => ownedInstancesOf(await this.ports.observe(), project, service, instance),
      publish: (subject, data) => this.ports.publish(subject, data),
      maxPayload: () => this.ports.maxPayload(),
      now: () => new Date(),
    };
  }
}

/**
 * Pure: the service's instances whose containers this agent owns (proved, not just labelled), one
 * container per instance: the newest, a running one before any other (a replacement may overlap).
 */
export function ownedInstancesOf(snapshot: RuntimeSnapshot, project: string, service: string, instance: number | undefined): OwnedInstance[] {
  const byInstance = new Map<number, { owned: OwnedInstance; createdAt: number }>();
  for (const container of snapshot.containers) {
    const { identity } = container;
    if (!container.ownership.owned || identity.project !== project || identity.service !== service) continue;
    if (instance !== undefined && identity.instance !== instance) continue;
    const running = container.state === 'running' || container.state === 'restarting';
    const seen = byInstance.get(identity.instance);
    const better = !seen || (running && !seen.owned.running) || (running === seen.owned.running && container.createdAt > seen.createdAt);
    if (better) byInstance.set(identity.instance, { owned: { instance: identity.instance, containerId: container.id, running }, createdAt: container.createdAt });
  }
  return [...byInstance.values()].map((entry) => entry.owned).sort((a, b) => a.instance - b.instance);
}
