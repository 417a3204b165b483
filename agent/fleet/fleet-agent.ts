import type { Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { decode, encode } from '../../shared/codec.js';
import { DESIRED_SCHEMA_VERSION, HOSTWRIGHT_VERSION, newerSchemaRefusal } from '../../shared/desired-schema.js';
import { InvalidInputError, errorMessage } from '../../shared/errors.js';
import { HOST_PROJECT } from '../../shared/events.js';
import { FLEET_SIZE_EVERY_BEATS, heartbeatPeriodMs } from '../../shared/heartbeat-period.js';
import { sealReport } from '../../shared/host-report.js';
import type { HostStatus } from '../../shared/host-status.js';
import { bindFleet, readCredentials, type HostConnection, type NatsAccess } from '../../shared/nats-connection.js';
import { splitReply } from '../../shared/plan-reply-parts.js';
import { signingKeyOf, type DocumentSigningKey } from '../../shared/signed-document.js';
import { sleep } from '../../shared/sleep.js';
import { dependenciesOf } from '../../shared/depends-on.js';
import { BUCKETS, desiredFeedCreatedSubject, execIoRpcSubject, execRpcSubject, hostInboxPrefix, kvKeySubject, logsRpcSubject, planRpcSubject, pullRpcSubject, retryRpcSubject } from '../../shared/subjects.js';
import { MAX_WIRE_BYTES, planRequestSchema, retryRequestSchema, type HostRegistration, type RetryRequest, type PlanReply, type RetryReply, type StatusReport } from '../../shared/wire.js';
import type { CycleProgress, CycleReport } from '../cycle.js';
import { AgentDaemon, type AgentDaemonOptions, type DesiredSource } from '../daemon.js';
import { failedEvent } from '../host-events.js';
import { planReport } from '../plan-report.js';
import { EndpointPublisher } from './endpoint-publisher.js';
import { EndpointView } from './endpoint-registry.js';
import { PullsInFlight } from '../pulls-in-flight.js';
import { candidateOf } from './candidate.js';
import { isMissingFeed, watchDesired, type DesiredTrust } from './desired-watcher.js';
import { ExecSessions } from './exec-sessions.js';
import { fleetHostCount } from './fleet-size.js';
import { MeshAgent } from '../mesh/mesh-agent.js';
import { MeshRepair } from '../mesh/mesh-repair.js';
import { readHostUpstreamResolvers } from '../resolver/host-upstream.js';
import { HostResolver } from '../resolver/host-resolver.js';
import { OutboxPublisher } from './outbox-publisher.js';
import { answerPullRequest } from './pull-request.js';
import { RequestGuard } from './request-guard.js';
import { LogRequests } from './log-requests.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';

export const AGENT_VERSION = HOSTWRIGHT_VERSION;

/** While pulls are in flight the status is sent again at most this often with their progress. */
const PULL_PROGRESS_STATUS_MS = 1_000;

/** How long an agent waiting for its desired-state feed goes without looking again (the advisory usually comes first). */
const FEED_LOOK_AGAIN_MS = 10_000;

export interface FleetAgentOptions extends AgentDaemonOptions {
  readonly labels: Readonly<Record<string, string>>;
  readonly natsUrl: string;
  /** Whose desired state to accept: the pinned coordinator key, or (explicitly) anyone's. */
  readonly trust: DesiredTrust;
  /** Credentials and TLS; the inbox prefix is set here, to this host's own. */
  readonly natsAccess?: NatsAccess;
  readonly heartbeatMs: number;
  /** `--allow-exec`: answer signed `hostwright exec` requests (off by default). */
  readonly allowExec?: boolean;
  /** Take part in the fleet's WireGuard mesh (docs/networking.md). */
  readonly mesh?: { readonly interfaceName: string; readonly endpoint: string };
}

/**
 * A host agent in a fleet: the daemon reconciling from its journal (so it keeps working without
 * NATS) with the fleet as its desired-state source. Stops cleanly when the signal aborts.
 */
export async function runFleetAgent(options: FleetAgentOptions): Promise<void> {
  if (options.trust.kind === 'unsigned-allowed') {
    options.logger.warn({ hostId: options.hostId }, 'INSECURE: started with --allow-unsigned; this agent accepts desired state, retry and pull requests that nobody signed, so anyone who can write to NATS can make it run containers and pull images. Pass --coordinator-key to pin the coordinator\'s key.');
  }
  // The host signs its status, registration and events with its NATS user key, which the
  // coordinator checks against the public key `fleet init` recorded.
  const hostKey = options.natsAccess?.credsFile ? signingKeyOf(new TextEncoder().encode((await readCredentials(options.natsAccess.credsFile)).seed)) : undefined;
  const daemon = await AgentDaemon.open(options);
  if (!daemon) return;
  await daemon.run(new FleetSource(daemon, options, hostKey));
}

/**
 * The fleet as a daemon's desired-state source: connects to NATS (retrying forever), reads the
 * host's desired-state feed, publishes its events from the outbox, its status and a heartbeat,
 * all signed with the host key, and answers dry-run plan, retry, pull and logs requests.
 */
class FleetSource implements DesiredSource {
  readonly publishesEvents = true;
  readonly #log: Logger;
  readonly #startedAt = new Date().toISOString();
  #connection: HostConnection | undefined;
  /** Ends the current read of the feed so that a fresh one starts (set while one runs). */
  #rewatch: ((reason: string) => void) | undefined;
  /** The last status published, without its times: an unchanged one is not sent again. */
  #lastReport = '';
  /** The status last computed (by a cycle or an observation): a progress update re-sends it with the pulls in flight. */
  #lastStatus: HostStatus | undefined;
  readonly #pulls = new PullsInFlight();
  /** Admits retry and pull requests: signed by the pinned key, for this host, fresh, single-use. */
  readonly #requests: RequestGuard;
  readonly #exec: ExecSessions;
  #progressTimer: NodeJS.Timeout | undefined;
  /** The period the last registration announced, and the wait until the next: `--heartbeat`, or longer in a large fleet (shared/heartbeat-period.ts). */
  #heartbeatMs: number;
  /** This host's end of the fleet's WireGuard mesh, when the agent takes part in one. */
  readonly #mesh: MeshAgent | undefined;
  /** Puts back what of the mesh was changed by hand, on a period and after each cycle. */
  readonly #meshRepair: MeshRepair | undefined;
  /** The fleet resolver on the host's mesh address, while the host takes part in the mesh. */
  readonly #resolver: HostResolver | undefined;
  #progressSentAt = 0;
  #logRequests: LogRequests | undefined;
  /** This host's endpoint records, and its view of the endpoints of its projects' services on other hosts (docs/networking.md). */
  #endpointPublisher: EndpointPublisher | undefined;
  endpoints: EndpointView | undefined;
  /**
   * Status publications run one at a time, so an older status never lands after a newer one; those
   * asked for meanwhile become one, with the newest status (a stalled NATS queues nothing more).
   */
  #publishing: Promise<void> | undefined;
  #nextPublish: { readonly force: boolean; readonly observed: HostStatus | 'last' | undefined } | undefined;

  constructor(
    private readonly daemon: AgentDaemon,
    private readonly options: FleetAgentOptions,
    private readonly hostKey: DocumentSigningKey | undefined,
  ) {
    this.#log = options.logger;
    this.#heartbeatMs = options.heartbeatMs;
    this.#requests = new RequestGuard(options.hostId, options.trust, () => daemon.host.journal.requestNonces());
    this.#exec = new ExecSessions(daemon, this.#requests, options.trust, options.allowExec === true, options.logger.child({ component: 'exec' }));
    if (options.mesh !== undefined) {
      // A mesh document says whom this host trusts on the network: it is never taken unsigned.
      if (options.trust.kind !== 'pinned') throw new InvalidInputError('--mesh-endpoint needs --coordinator-key: the mesh\'s peers and keys are taken only from documents the pinned coordinator key signed');
      const mesh = new MeshAgent({ hostId: options.hostId, dataDir: options.dataDir, interfaceName: options.mesh.interfaceName, endpoint: options.mesh.endpoint, coordinatorKey: options.trust.coordinatorKey, logger: options.logger.child({ component: 'mesh' }) });
      this.#mesh = mesh;
      this.#meshRepair = new MeshRepair({ hostId: options.hostId, mesh, record: (events) => daemon.host.journal.appendEvents(events), logger: options.logger.child({ component: 'mesh' }) });
      this.#resolver = new HostResolver({ hostId: options.hostId, runtime: daemon.host.runtime, source: { resolve: (project, name, network) => this.endpoints?.resolve(project, name, network) ?? [] }, logger: options.logger.child({ component: 'resolver' }) });
      // Only with an accepted mesh document: until then the host plans exactly as a single host does.
      const upstream = readHostUpstreamResolvers();
      daemon.host.reconciler.useMesh(() => {
        const hostMesh = mesh.hostMesh();
        return hostMesh === undefined ? undefined : { ...hostMesh, upstream };
      });
    } else {
      this.#resolver = undefined;
      this.#meshRepair = undefined;
    }
  }

  /** A value of this host's mesh key: a refusal is an error event, like a refused desired document; the last good mesh stays. */
  async #acceptMesh(value: Uint8Array): Promise<void> {
    const mesh = this.#mesh;
    if (mesh === undefined) return;
    try {
      const outcome = await mesh.accept(value);
      if ('refused' in outcome) this.#log.error({ reason: outcome.refused }, 'rejected the mesh document; keeping the last good mesh');
      else {
        await this.#meshChanged(outcome.accepted === 'unchanged');
        // The registration then says which revision is in place.
        await this.#meshRepair?.check();
      }
    } catch (error) {
      this.#log.error({ error: errorMessage(error) }, 'the mesh interface could not be brought to the mesh document; it is tried again at the next repair check');
    }
  }

  /** The resolver follows the mesh address; a new mesh changes what cycles plan (networks, `dns:`), so one runs. */
  async #meshChanged(unchanged: boolean): Promise<void> {
    await this.#resolver?.sync(this.#mesh?.hostMesh()?.resolver);
    if (!unchanged) this.daemon.loop.trigger('mesh');
  }

  onCycle(report: CycleReport | Error): void {
    this.#meshRepair?.afterCycle();
    void this.#resolver?.refresh();
    void this.#publishStatusSafely(false, report instanceof Error ? undefined : report.status);
    this.#endpointPublisher?.publishSoon();
  }

  /** A pull in flight shows in the status, at most one status a second while it lasts. */
  onProgress(progress: CycleProgress): void {
    if (!this.#pulls.update(progress) || this.#progressTimer) return;
    const wait = Math.max(0, this.#progressSentAt + PULL_PROGRESS_STATUS_MS - Date.now());
    this.#progressTimer = setTimeout(() => {
      this.#progressTimer = undefined;
      this.#progressSentAt = Date.now();
      void this.#publishStatusSafely(false, 'last');
    }, wait);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#progressTimer);
    this.#meshRepair?.stop();
    this.#logRequests?.close();
    this.#exec.close();
    await this.#resolver?.close();
    if (!this.#connection) return;
    this.endpoints?.close();
    await this.#endpointPublisher?.withdrawAll();
    await this.#publishStatusSafely(true);
    await this.#connection.close();
  }

  async run(): Promise<void> {
    // The kept mesh first: containers on other hosts stay reachable while NATS is away.
    await this.#mesh?.resume().catch((error: unknown) => this.#log.error({ error: errorMessage(error) }, 'the kept mesh could not be brought up'));
    await this.#resolver?.sync(this.#mesh?.hostMesh()?.resolver);
    this.#meshRepair?.start();
    const connection = await this.#connect();
    if (!connection) return;
    this.#connection = connection;
    const { metrics, host } = this.daemon;
    metrics.natsConnected.set(1);
    void (async () => {
      for await (const status of connection.nc.status()) {
        if (status.type === 'disconnect') metrics.natsConnected.set(0);
        if (status.type === 'reconnect') {
          metrics.natsConnected.set(1);
          void this.#publishStatusSafely(true);
          // A beat at once: in a large fleet the next one may be a minute away, and the host reads stale until it comes.
          this.#register(connection).catch((error: unknown) => this.#log.debug({ error: errorMessage(error) }, 'heartbeat not published'));
        }
        // A node left or joined the cluster: the feed's consumer may have been on the node that died.
        if (status.type === 'update') this.#rewatch?.('the NATS cluster changed');
      }
    })();
    await this.#register(connection).catch((error: unknown) => this.#log.warn({ error: errorMessage(error) }, 'registration not published yet'));
    void this.#heartbeats(connection);
    connection.nc.subscribe(planRpcSubject(this.options.hostId), {
      callback: (error, msg) => {
        if (error) this.#log.warn({ error: errorMessage(error) }, 'plan subscription error');
        else this.#answerPlan(msg).catch((cause: unknown) => this.#log.error({ error: errorMessage(cause) }, 'plan request not answered'));
      },
    });
    connection.nc.subscribe(retryRpcSubject(this.options.hostId), {
      callback: (error, msg) => {
        if (error) this.#log.warn({ error: errorMessage(error) }, 'retry subscription error');
        else this.#answerRetry(msg).catch((cause: unknown) => this.#log.error({ error: errorMessage(cause) }, 'retry request not answered'));
      },
    });
    connection.nc.subscribe(pullRpcSubject(this.options.hostId), {
      callback: (error, msg) => {
        if (error) this.#log.warn({ error: errorMessage(error) }, 'pull subscription error');
        else
          answerPullRequest(this.daemon, this.#requests, msg.data)
            .then((reply) => msg.reply && msg.respond(encode(reply)))
            .catch((cause: unknown) => this.#log.error({ error: errorMessage(cause) }, 'pull request not answered'));
      },
    });
    const { runtime, reconciler } = this.daemon.host;
    const logRequests = new LogRequests({
      hostId: this.options.hostId,
      docker: runtime instanceof DockerRuntime ? runtime.docker : undefined,
      observe: () => reconciler.observer.observe(),
      publish: (subject, data) => connection.nc.publish(subject, data),
      maxPayload: () => connection.nc.info?.max_payload ?? 1024 * 1024,
      logger: this.#log.child({ component: 'logs' }),
    });
    this.#logRequests = logRequests;
    connection.nc.subscribe(logsRpcSubject(this.options.hostId), {
      callback: (error, msg) => {
        if (error) this.#log.warn({ error: errorMessage(error) }, 'logs subscription error');
        else logRequests.handle(msg);
      },
    });
    connection.nc.subscribe(execRpcSubject(this.options.hostId), {
      callback: (error, msg) => {
        if (error) this.#log.warn({ error: errorMessage(error) }, 'exec subscription error');
        else
          this.#exec
            .start(msg.data)
            .then((reply) => msg.reply && msg.respond(encode(reply)))
            .catch((cause: unknown) => this.#log.error({ error: errorMessage(cause) }, 'exec request not answered'));
      },
    });
    connection.nc.subscribe(execIoRpcSubject(this.options.hostId), {
      callback: (error, msg) => {
        if (error) this.#log.warn({ error: errorMessage(error) }, 'exec io subscription error');
        else
          this.#exec
            .io(msg.data)
            .then((reply) => msg.reply && msg.respond(encode(reply)))
            .catch((cause: unknown) => this.#log.error({ error: errorMessage(cause) }, 'exec io request not answered'));
      },
    });
    await this.#startEndpoints(connection);
    const publisher = new OutboxPublisher(connection.js, host.journal, this.#log.child({ component: 'outbox' }), (bytes) => this.#seal(bytes));
    await Promise.all([publisher.run(this.options.signal), this.#keepWatchingDesired(connection), this.#publishStatusSafely(true)]);
  }

  /** Publishes this host's endpoints and follows those of the services its projects have elsewhere. */
  async #startEndpoints(connection: HostConnection): Promise<void> {
    const { host } = this.daemon;
    const log = this.#log.child({ component: 'endpoints' });
    this.#endpointPublisher = new EndpointPublisher(connection.js, host, this.options.namePrefix ?? '', (bytes) => this.#seal(bytes), log);
    this.#endpointPublisher.start(this.options.signal);
    const view = new EndpointView(connection.nc, this.options.hostId);
    // Said once a minute per key: a host that floods forged records does not flood this log.
    const said = new Map<string, number>();
    view.on('refused', ({ key, reason }) => {
      if (Date.now() - (said.get(key) ?? 0) < 60_000) return;
      if (said.size > 1_000) said.clear();
      said.set(key, Date.now());
      log.warn({ key, reason }, 'refused an endpoint record');
    });
    view.setDesired(await host.journal.desiredDocuments());
    this.endpoints = view;
    host.reconciler.useRemoteRecords((project, service) => view.records(project, service));
    // A dependency on another host that became ready may let a dependent here start (one that timed out waiting retries).
    view.on('change', ({ project, service }) => {
      host.journal
        .desiredDocuments()
        .then((documents) => {
          const document = documents.find((candidate) => candidate.project === project);
          const waited = Object.values(document?.services ?? {}).some((candidate) => candidate.replicas > 0 && dependenciesOf(candidate.depends_on).some((dependency) => dependency.service === service));
          if (waited) this.daemon.loop.trigger('endpoints');
        })
        .catch((error: unknown) => log.debug({ error: errorMessage(error) }, 'endpoint change not followed'));
    });
  }

  /** A newly accepted desired document may place services elsewhere: the view follows, the host publishes. */
  #followPlacements(): void {
    const view = this.endpoints;
    if (!view) return;
    this.daemon.host.journal
      .desiredDocuments()
      .then((documents) => view.setDesired(documents))
      .catch((error: unknown) => this.#log.debug({ error: errorMessage(error) }, 'endpoint placements not updated'));
    this.#endpointPublisher?.publishSoon();
  }

  #seal(bytes: Uint8Array): Uint8Array {
    return sealReport(bytes, this.hostKey);
  }

  /** Connects, retrying with backoff while the journal keeps the host reconciled; undefined once the signal aborted. */
  async #connect(): Promise<HostConnection | undefined> {
    const { hostId, signal } = this.options;
    let delay = 500;
    while (!signal.aborted) {
      try {
        // The host's NATS user may receive replies only under its own inbox prefix.
        const access: NatsAccess = { ...this.options.natsAccess, inboxPrefix: hostInboxPrefix(hostId) };
        const connection = await bindFleet({ servers: this.options.natsUrl, name: `hostwright-agent-${hostId}`, logger: this.#log, waitOnFirstConnect: true, access, hostId });
        // Connected only after the stop began: nothing may start now (the listeners would never fire).
        if (!signal.aborted) return connection;
        await connection.close();
        return undefined;
      } catch (error) {
        this.#log.warn({ error: errorMessage(error), retryInMs: delay }, 'NATS not reachable; reconciling from the local journal meanwhile');
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 15_000);
      }
    }
    return undefined;
  }

  /**
   * Beats every #heartbeatMs until the agent stops. The period follows the fleet's size, read on
   * the first beat and every FLEET_SIZE_EVERY_BEATS after; a period that changes is announced at
   * once, so no reader waits on the old one.
   */
  async #heartbeats(connection: HostConnection): Promise<void> {
    const { signal } = this.options;
    for (let beat = 0; !signal.aborted; beat += 1) {
      if (beat % FLEET_SIZE_EVERY_BEATS === 0) {
        const before = this.#heartbeatMs;
        const hosts = await fleetHostCount(connection, this.options.hostId);
        this.#heartbeatMs = heartbeatPeriodMs(this.options.heartbeatMs, hosts);
        if (this.#heartbeatMs !== before) {
          this.#log.info({ hosts, heartbeatMs: this.#heartbeatMs }, 'heartbeat period follows the fleet\'s size');
          await this.#register(connection).catch((error: unknown) => this.#log.debug({ error: errorMessage(error) }, 'heartbeat not published'));
        }
      }
      await sleep(this.#heartbeatMs, signal);
      if (signal.aborted) return;
      await this.#register(connection).catch((error: unknown) => this.#log.debug({ error: errorMessage(error) }, 'heartbeat not published'));
    }
  }

  async #register(connection: HostConnection): Promise<void> {
    const { hostId } = this.options;
    const mesh = this.#mesh === undefined ? undefined : await this.#mesh.registration();
    const meshLive = this.#meshRepair?.live;
    const registration: HostRegistration = { hostId, labels: { ...this.options.labels }, agentVersion: AGENT_VERSION, desiredSchema: DESIRED_SCHEMA_VERSION, startedAt: this.#startedAt, heartbeatAt: new Date().toISOString(), heartbeatMs: this.#heartbeatMs, journalId: this.daemon.host.journal.id, signedRequests: true, ...(mesh === undefined ? {} : { mesh }), ...(meshLive === undefined ? {} : { meshLive }) };
    await connection.js.publish(kvKeySubject(BUCKETS.hosts, hostId), this.#seal(encode(registration)));
  }

  /**
   * `observed`: the status the cycle that just finished computed (it observed after acting); 'last':
   * the last one computed, sent again with the pulls in flight now; otherwise observed now.
   */
  async #publishStatus(force: boolean, observed?: HostStatus | 'last'): Promise<void> {
    const connection = this.#connection;
    if (!connection || connection.nc.isClosed()) return;
    const { hostId } = this.options;
    const { journal, reconciler } = this.daemon.host;
    const observedStatus = (observed === 'last' ? this.#lastStatus : observed) ?? (await reconciler.observeStatus());
    this.#lastStatus = observedStatus;
    const pulls = this.#pulls.list();
    const status = pulls.length > 0 ? { ...observedStatus, pulls } : observedStatus;
    const outboxDepth = await journal.outboxDepth();
    this.daemon.metrics.outboxDepth.set(outboxDepth);
    const body = JSON.stringify({ status: { ...status, observedAt: '' }, outboxDepth });
    if (!force && body === this.#lastReport) return;
    const marked = this.options.trust.kind === 'unsigned-allowed' ? { ...status, acceptsUnsigned: true } : status;
    const report: StatusReport = { hostId, reportedAt: new Date().toISOString(), agentVersion: AGENT_VERSION, outboxDepth, status: marked };
    await connection.js.publish(kvKeySubject(BUCKETS.status, hostId), this.#seal(encode(report)));
    this.#lastReport = body;
  }

  #publishStatusSafely(force: boolean, observed?: HostStatus | 'last'): Promise<void> {
    if (observed !== undefined && observed !== 'last') this.#lastStatus = observed;
    this.#nextPublish = { force: force || this.#nextPublish?.force === true, observed };
    this.#publishing ??= this.#publishInTurn();
    return this.#publishing;
  }

  async #publishInTurn(): Promise<void> {
    try {
      while (this.#nextPublish) {
        const { force, observed } = this.#nextPublish;
        this.#nextPublish = undefined;
        await this.#publishStatus(force, observed).catch((error: unknown) => this.#log.debug({ error: errorMessage(error) }, 'status not published'));
      }
    } finally {
      this.#publishing = undefined;
    }
  }

  /**
   * Keeps reading this host's desired-state feed. The feed rides on a consumer on one NATS node;
   * nats.js notices that node's death only after missed heartbeats, so when the cluster changes
   * the feed is read afresh instead (unacknowledged documents come again; the journal takes a
   * revision it holds as unchanged). Until the coordinator has made the feed, it looks again now
   * and then.
   */
  async #keepWatchingDesired(connection: HostConnection): Promise<void> {
    const { hostId } = this.options;
    const options = this.options;
    const log = this.#log;
    const { journal } = this.daemon.host;
    let waitingSaid = false;
    // The server's advisory says at once when the coordinator made this host's feed; subscribed
    // before the first look, so that a feed made right after a look that found none is not missed.
    let feedMade = false;
    let wakeOnFeed: (() => void) | undefined;
    const advisory = connection.nc.subscribe(desiredFeedCreatedSubject(hostId), {
      callback: () => {
        feedMade = true;
        wakeOnFeed?.();
      },
    });
    options.signal.addEventListener('abort', () => {
      advisory.unsubscribe();
      wakeOnFeed?.();
    }, { once: true });
    while (!options.signal.aborted) {
      feedMade = false;
      const restart = new AbortController();
      this.#rewatch = (reason) => {
        log.info({ reason }, 'reading desired state afresh');
        restart.abort();
      };
      let pause = restart.signal.aborted ? 100 : 1_000;
      try {
        await watchDesired(connection.js, {
          hostId,
          trust: options.trust,
          journal,
          logger: log.child({ component: 'desired' }),
          signal: AbortSignal.any([options.signal, restart.signal]),
          onAccepted: (document) => {
            this.daemon.loop.trigger('desired', { correlationID: document.correlationID });
            this.#followPlacements();
          },
          onRefused: () => void this.#publishStatusSafely(false),
          ...(this.#mesh === undefined ? {} : { onMesh: (value: Uint8Array) => this.#acceptMesh(value) }),
        });
        waitingSaid = false;
      } catch (error) {
        if (isMissingFeed(error)) {
          if (!waitingSaid) log.info({ hostId }, 'no desired state for this host yet: the coordinator sets up its desired-state feed on its first apply to this host');
          waitingSaid = true;
          // A slow look stands in for a lost advisory.
          if (!feedMade) {
            const advised = new AbortController();
            wakeOnFeed = () => advised.abort();
            await sleep(FEED_LOOK_AGAIN_MS, AbortSignal.any([advised.signal, options.signal]));
          }
          wakeOnFeed = undefined;
          pause = 0;
        } else {
          log.warn({ error: errorMessage(error) }, 'desired-state feed ended; reading it again');
        }
      }
      await sleep(restart.signal.aborted ? 100 : pause, options.signal);
    }
  }

  /**
   * A retry request lifts one project's rejection on this host (the loop records it as an event and
   * tries the revision again). Only the coordinator may publish on this host's retry subject, and
   * with a pinned key the request must be signed, for this host, fresh and single-use (RequestGuard).
   */
  async #answerRetry(msg: Msg): Promise<void> {
    const { hostId } = this.options;
    let reply: RetryReply;
    try {
      let request: RetryRequest;
      try {
        request = await this.#requests.admit(msg.data, retryRequestSchema, 'retry request', Date.now());
      } catch (error) {
        await this.daemon.host.journal.appendEvents([failedEvent({ hostId, project: HOST_PROJECT, message: `rejected a retry request: ${errorMessage(error)}` })]).catch(() => undefined);
        throw error;
      }
      reply = { ok: true, hostId, ...(await this.daemon.loop.retry(request.project, request.correlationID)) };
    } catch (error) {
      reply = { ok: false, hostId, error: errorMessage(error) };
    }
    if (msg.reply) msg.respond(encode(reply));
  }

  /**
   * A plan request carries an unsigned candidate: it is only planned against (a dry run, which
   * writes nothing, not even the journal) and never stored or applied, so it needs no signature.
   * The reply goes out in parts within the server's max payload; one that needs more parts than
   * allowed is answered with an error saying so.
   */
  async #answerPlan(msg: Msg): Promise<void> {
    const { hostId } = this.options;
    const { journal, reconciler } = this.daemon.host;
    let reply: PlanReply;
    try {
      if (msg.data.byteLength > MAX_WIRE_BYTES) throw new Error(`request of ${msg.data.byteLength} bytes exceeds the ${MAX_WIRE_BYTES}-byte limit`);
      const refusal = newerSchemaRefusal(candidateOf(msg.data));
      if (refusal) throw new Error(`the candidate is ${refusal}`);
      const request = decode(planRequestSchema, msg.data, 'plan request');
      if (request.candidate.hostId !== hostId) throw new Error(`candidate is for host ${request.candidate.hostId}, not ${hostId}`);
      // Planned as the loop's cycle will apply it once written: among the host's other projects, not explicitly.
      const report = await reconciler.runCycle({ dryRun: true, candidate: [request.candidate], correlationID: request.correlationID });
      reply = { ok: true, hostId, plan: planReport(report) };
    } catch (error) {
      reply = { ok: false, hostId, error: errorMessage(error) };
      await journal.appendEvents([failedEvent({ hostId, project: HOST_PROJECT, message: `rejected a plan request: ${errorMessage(error)}` })]).catch(() => undefined);
    }
    if (!msg.reply) return;
    const maxPayload = this.#connection?.nc.info?.max_payload ?? 1024 * 1024;
    let parts = splitReply(encode(reply), maxPayload);
    if (!parts) {
      const size = encode(reply).byteLength;
      const actions = reply.ok ? reply.plan.actions.length : 0;
      parts = splitReply(encode({ ok: false, hostId, error: `the plan (${actions} actions) takes ${Math.round(size / 1024)} KiB, more than a plan reply may carry; plan fewer services per project or per host` } satisfies PlanReply), maxPayload) ?? [];
    }
    // The coordinator validates the reply (planReplySchema) once every part arrived.
    for (const part of parts) msg.respond(part);
  }
}
