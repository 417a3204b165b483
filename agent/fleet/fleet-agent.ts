import type { Server } from 'node:http';
import type { Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { decode, encode } from '../../shared/codec.js';
import { errorMessage } from '../../shared/errors.js';
import { HOST_PROJECT } from '../../shared/events.js';
import { bindFleet, readCredentials, type HostConnection, type NatsAccess } from '../../shared/nats-connection.js';
import { BUCKETS, desiredFeedCreatedSubject, hostInboxPrefix, kvKeySubject, planRpcSubject } from '../../shared/subjects.js';
import { MAX_WIRE_BYTES, planRequestSchema, type HostRegistration, type PlanReply, type StatusReport } from '../../shared/wire.js';
import type { HostStatus } from '../../shared/host-status.js';
import { AgentLoop } from '../agent-loop.js';
import { startControlServer } from '../control-server.js';
import { failedEvent } from '../host-events.js';
import { AgentMetrics } from '../metrics.js';
import { planReport } from '../plan-report.js';
import type { CycleReport } from '../cycle.js';
import { Reconciler } from '../reconciler.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import type { RuntimeAdapter } from '../runtime/runtime-adapter.js';
import { wakeOnRuntimeEvents } from '../runtime-triggers.js';
import { openJournalWhenWritable } from '../store/open-journal.js';
import { isMissingFeed, watchDesired, type DesiredTrust } from './desired-watcher.js';
import { sealReport } from '../../shared/host-report.js';
import { signingKeyOf, type DocumentSigningKey } from '../../shared/signed-document.js';
import { splitReply } from '../../shared/plan-reply-parts.js';
import { OutboxPublisher } from './outbox-publisher.js';
import { sleep } from '../../shared/sleep.js';

export const AGENT_VERSION = '0.1.0';

/** How long an agent waiting for its desired-state feed goes without looking again (the advisory usually comes first). */
const FEED_LOOK_AGAIN_MS = 10_000;

export interface FleetAgentOptions {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly natsUrl: string;
  /** Whose desired state to accept: the pinned coordinator key, or (explicitly) anyone's. */
  readonly trust: DesiredTrust;
  /** Credentials and TLS; the inbox prefix is set here, to this host's own. */
  readonly natsAccess?: NatsAccess;
  readonly dataDir: string;
  readonly namePrefix: string;
  readonly parallelism: number;
  readonly resyncMs: number;
  readonly heartbeatMs: number;
  readonly metricsAddr: string | undefined;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Told once everything is started (tests, the CLI). */
  readonly onReady?: () => void;
  /** The runtime to reconcile; the local Docker engine when omitted (benchmarks inject a simulated one). */
  readonly runtime?: RuntimeAdapter;
}

/**
 * A host agent in a fleet: reconciles from its journal (so it keeps working without NATS),
 * takes desired state from KV, publishes events from its outbox, its status and a heartbeat,
 * and answers dry-run plan requests. Stops cleanly when the signal aborts.
 */
export async function runFleetAgent(options: FleetAgentOptions): Promise<void> {
  const { hostId, logger: log } = options;
  if (options.trust.kind === 'unsigned-allowed') {
    log.warn({ hostId }, 'INSECURE: started with --allow-unsigned; this agent accepts desired state that nobody signed, so anyone who can write to NATS can make it run containers. Pass --coordinator-key to pin the coordinator\'s key.');
  }
  const opened = await openJournalWhenWritable(options.dataDir, log, options.signal);
  if (!opened) return;
  const { journal } = opened;
  if (opened.unavailable) {
    const { since, reason } = opened.unavailable;
    const message = `the journal could not be opened for ${Math.round((Date.now() - since.getTime()) / 1000)} s (${reason}); no container was changed meanwhile`;
    log.warn({ since: since.toISOString() }, message);
    await journal.appendEvents([failedEvent({ hostId, project: HOST_PROJECT, message, severity: 'warning' })]);
  }
  // The host signs its status, registration and events with its NATS user key, which the
  // coordinator checks against the public key `fleet init` recorded.
  const hostKey: DocumentSigningKey | undefined = options.natsAccess?.credsFile ? signingKeyOf(new TextEncoder().encode((await readCredentials(options.natsAccess.credsFile)).seed)) : undefined;
  const seal = (bytes: Uint8Array) => sealReport(bytes, hostKey);
  const runtime = options.runtime ?? new DockerRuntime();
  const metrics = new AgentMetrics();
  const reconciler = new Reconciler({ runtime, journal, hostId, namePrefix: options.namePrefix, parallelism: options.parallelism, logger: log.child({ component: 'reconciler' }), onCyclesInFlight: (inFlight) => metrics.recordCyclesInFlight(inFlight) });
  const startedAt = new Date().toISOString();
  let fleet: HostConnection | undefined;
  /** Ends the current desired-state watch so that a fresh one starts (set while one runs). */
  let rewatchDesired: ((reason: string) => void) | undefined;
  let lastReport = '';

  /** `observed`: the status the cycle that just finished computed (it observed after acting); otherwise observed now. */
  const publishStatus = async (force: boolean, observed?: HostStatus): Promise<void> => {
    if (!fleet || fleet.nc.isClosed()) return;
    const status = observed ?? (await reconciler.observeStatus());
    const outboxDepth = await journal.outboxDepth();
    metrics.outboxDepth.set(outboxDepth);
    const body = JSON.stringify({ status: { ...status, observedAt: '' }, outboxDepth });
    if (!force && body === lastReport) return;
    const marked = options.trust.kind === 'unsigned-allowed' ? { ...status, acceptsUnsigned: true } : status;
    const report: StatusReport = { hostId, reportedAt: new Date().toISOString(), agentVersion: AGENT_VERSION, outboxDepth, status: marked };
    await fleet.js.publish(kvKeySubject(BUCKETS.status, hostId), seal(encode(report)));
    lastReport = body;
  };
  const publishStatusSafely = (force: boolean, observed?: HostStatus) => publishStatus(force, observed).catch((error: unknown) => log.debug({ error: errorMessage(error) }, 'status not published'));

  let cycleStarted = Date.now();
  const loop = new AgentLoop(reconciler, journal, {
    resyncMs: options.resyncMs,
    logger: log.child({ component: 'loop' }),
    onCycle: (report: CycleReport | Error) => {
      metrics.recordCycle(report, (Date.now() - cycleStarted) / 1000);
      cycleStarted = Date.now();
      void publishStatusSafely(false, report instanceof Error ? undefined : report.status);
    },
  });

  wakeOnRuntimeEvents(runtime, reconciler, loop, log, options.signal);
  const control = await startControlServer(options.dataDir, reconciler, journal, log.child({ component: 'control' }));
  const metricsServer: Server | undefined = options.metricsAddr ? await metrics.serve(options.metricsAddr) : undefined;
  loop.start();

  const background = connectAndServe();
  options.onReady?.();
  log.info({ hostId, nats: options.natsUrl, dataDir: options.dataDir }, 'agent running');

  // A stop requested during startup has already fired its event: check before waiting for it.
  if (!options.signal.aborted) await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  log.info('stopping: finishing the cycle in flight');
  await loop.stop();
  // A connect still waiting for the server must not hold up the shutdown.
  await Promise.race([background.catch(() => undefined), sleep(3_000, new AbortController().signal)]);
  if (fleet) {
    await publishStatusSafely(true);
    await fleet.close();
  }
  await new Promise<void>((resolve) => control.close(() => resolve()));
  if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
  await journal.close();
  log.info('stopped');

  /** Connects (retrying forever) and runs the NATS-facing parts until the signal aborts. */
  async function connectAndServe(): Promise<void> {
    let delay = 500;
    while (!options.signal.aborted) {
      try {
        // The host's NATS user may receive replies only under its own inbox prefix.
        const access: NatsAccess = { ...options.natsAccess, inboxPrefix: hostInboxPrefix(hostId) };
        fleet = await bindFleet({ servers: options.natsUrl, name: `hostwright-agent-${hostId}`, logger: log, waitOnFirstConnect: true, access, hostId });
        break;
      } catch (error) {
        log.warn({ error: errorMessage(error), retryInMs: delay }, 'NATS not reachable; reconciling from the local journal meanwhile');
        await sleep(delay, options.signal);
        delay = Math.min(delay * 2, 15_000);
      }
    }
    const connection = fleet;
    if (!connection) return;
    if (options.signal.aborted) {
      // Connected only after the stop began: nothing may start now (the listeners below would never fire).
      await connection.close();
      return;
    }
    metrics.natsConnected.set(1);
    void (async () => {
      for await (const status of connection.nc.status()) {
        if (status.type === 'disconnect') metrics.natsConnected.set(0);
        if (status.type === 'reconnect') {
          metrics.natsConnected.set(1);
          void publishStatusSafely(true);
        }
        // A node left or joined the cluster: the watch's consumer may have been on the node that died.
        if (status.type === 'update') rewatchDesired?.('the NATS cluster changed');
      }
    })();

    const register = async () => {
      const registration: HostRegistration = { hostId, labels: { ...options.labels }, agentVersion: AGENT_VERSION, startedAt, heartbeatAt: new Date().toISOString(), journalId: journal.id };
      await connection.js.publish(kvKeySubject(BUCKETS.hosts, hostId), seal(encode(registration)));
    };
    const heartbeat = setInterval(() => {
      register().catch((error: unknown) => log.debug({ error: errorMessage(error) }, 'heartbeat not published'));
    }, options.heartbeatMs);
    options.signal.addEventListener('abort', () => clearInterval(heartbeat), { once: true });
    await register().catch((error: unknown) => log.warn({ error: errorMessage(error) }, 'registration not published yet'));

    connection.nc.subscribe(planRpcSubject(hostId), {
      callback: (error, msg) => {
        if (error) log.warn({ error: errorMessage(error) }, 'plan subscription error');
        else answerPlan(msg).catch((cause: unknown) => log.error({ error: errorMessage(cause) }, 'plan request not answered'));
      },
    });
    const publisher = new OutboxPublisher(connection.js, journal, log.child({ component: 'outbox' }), seal);
    await Promise.all([publisher.run(options.signal), keepWatchingDesired(connection), publishStatusSafely(true)]);
  }

  /**
   * Keeps reading this host's desired-state feed. The feed rides on a consumer on one NATS node;
   * nats.js notices that node's death only after missed heartbeats, so when the cluster changes
   * the feed is read afresh instead (unacknowledged documents come again; the journal takes a
   * revision it holds as unchanged). Until the coordinator has made the feed, it looks again now
   * and then.
   */
  async function keepWatchingDesired(connection: HostConnection): Promise<void> {
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
      rewatchDesired = (reason) => {
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
          onAccepted: (document) => loop.trigger('desired', { correlationID: document.correlationID }),
          onRefused: () => void publishStatusSafely(false),
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
   * A plan request carries an unsigned candidate: it is only planned against (a dry run, which
   * writes nothing, not even the journal) and never stored or applied, so it needs no signature.
   * The reply goes out in parts within the server's max payload; one that needs more parts than
   * allowed is answered with an error saying so.
   */
  async function answerPlan(msg: Msg): Promise<void> {
    let reply: PlanReply;
    try {
      if (msg.data.byteLength > MAX_WIRE_BYTES) throw new Error(`request of ${msg.data.byteLength} bytes exceeds the ${MAX_WIRE_BYTES}-byte limit`);
      const request = decode(planRequestSchema, msg.data, 'plan request');
      if (request.candidate.hostId !== hostId) throw new Error(`candidate is for host ${request.candidate.hostId}, not ${hostId}`);
      const report = await reconciler.runCycle({ dryRun: true, explicit: true, candidate: [request.candidate], correlationID: request.correlationID });
      reply = { ok: true, hostId, plan: planReport(report) };
    } catch (error) {
      reply = { ok: false, hostId, error: errorMessage(error) };
      await journal.appendEvents([failedEvent({ hostId, project: HOST_PROJECT, message: `rejected a plan request: ${errorMessage(error)}` })]).catch(() => undefined);
    }
    if (!msg.reply) return;
    const maxPayload = fleet?.nc.info?.max_payload ?? 1024 * 1024;
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
