import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { DashboardSession } from '../../shared/dashboard-api.js';
import { InvalidInputError, errorMessage } from '../../shared/errors.js';
import type { FleetClient } from '../fleet-client.js';
import type { RolloutChange } from '../rollout/rollout-change.js';
import { ASSETS, readAsset } from './dashboard-assets.js';
import { hostHeaderAllowed, postAllowed, securityHeaders, tokenCookie, tokenMatches, tokenOf, type ListenAddress } from './dashboard-security.js';
import { lastPlanOf, parseEventsFilter, queryEvents } from './event-queries.js';
import type { FleetModel } from './fleet-model.js';
import type { LiveHub } from './live-hub.js';
import { parseLogsQuery, serveLogs } from './logs-endpoint.js';
import { isHostId, isProjectName, projectView } from './project-view.js';
import type { RolloutActions } from './rollout-actions.js';
import { rolloutView } from './rollout-view.js';

/** Events of a host GET /api/hosts/:id returns. */
const HOST_EVENTS = 100;

export interface DashboardServerOptions {
  readonly client: FleetClient;
  readonly model: FleetModel;
  readonly hub: LiveHub;
  readonly listen: ListenAddress;
  /** Required on every request when set (beyond loopback). */
  readonly token: string | undefined;
  readonly session: DashboardSession;
  readonly assetsDir: string;
  /** Present only with --allow-actions and a credential whose role may write. */
  readonly actions: RolloutActions | undefined;
  readonly logger: Logger;
}

/** A request the route cannot serve: its status and a message saying what to do. */
class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The dashboard's HTTP server: the page, its API and its live stream, behind the checks of dashboard-security.ts. */
export function createDashboardServer(options: DashboardServerOptions): Server {
  return createServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      // A malformed %-escape in the path (URIError) is the request's fault, not the server's.
      const status = error instanceof HttpError ? error.status : error instanceof InvalidInputError || error instanceof URIError ? 400 : 500;
      if (status === 500) options.logger.error({ err: errorMessage(error), url: request.url }, 'dashboard request failed');
      if (response.headersSent) {
        response.destroy();
        return;
      }
      sendJson(response, status, { error: errorMessage(error) });
    });
  });
}

async function handle(options: DashboardServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
  const path = url.pathname;
  for (const [name, value] of Object.entries(securityHeaders(path))) response.setHeader(name, value);
  // The port accepted on: `--listen ADDR:0` is known only once listening.
  const listen = { ...options.listen, port: request.socket.localPort ?? options.listen.port };
  if (!hostHeaderAllowed(request.headers.host, listen)) throw new HttpError(421, `Host ${request.headers.host ?? '(none)'} is not this dashboard: open it as http://127.0.0.1:${listen.port}/ or http://localhost:${listen.port}/`);
  const method = request.method ?? 'GET';
  if (path === '/login' && method === 'GET') {
    if (options.token === undefined) return redirectHome(response);
    if (!tokenMatches(url.searchParams.get('token') ?? undefined, options.token)) throw new HttpError(401, 'wrong token: use the token the dashboard printed at start (its --token-file)');
    response.setHeader('Set-Cookie', tokenCookie(options.token));
    return redirectHome(response);
  }
  if (options.token !== undefined && !tokenMatches(tokenOf(request.headers.authorization, request.headers.cookie), options.token)) {
    throw new HttpError(401, 'this dashboard needs its token: open /login?token=TOKEN once, or send Authorization: Bearer TOKEN');
  }
  if (method === 'POST') {
    const allowed = postAllowed({ contentType: request.headers['content-type'], origin: request.headers.origin, host: request.headers.host });
    if (!allowed.ok) throw new HttpError(403, allowed.reason);
    const action = /^\/api\/rollouts\/([^/]+)\/(pause|resume|abort)$/.exec(path);
    if (!action) throw new HttpError(404, `no action at ${path}`);
    request.resume();
    await rolloutAction(options, decodeURIComponent(action[1] as string), action[2] as RolloutChange, response);
    return;
  }
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not served here`);
  if (path in ASSETS) {
    const body = await readAsset(options.assetsDir, path as keyof typeof ASSETS);
    if (body === undefined) throw new HttpError(404, `${path}: the dashboard's build has no such file; run \`npm run build\``);
    response.writeHead(200, { 'Content-Type': ASSETS[path as keyof typeof ASSETS].type, 'Content-Length': body.length });
    response.end(method === 'HEAD' ? undefined : body);
    return;
  }
  const now = Date.now();
  const { model, client } = options;
  if (path === '/api/session') return sendJson(response, 200, options.session);
  if (path === '/api/fleet') return sendJsonText(response, 200, model.snapshotJson(now));
  if (path === '/api/live') return options.hub.attach(response);
  if (path === '/api/rollouts') return sendJson(response, 200, { schema: 'hostwright.dashboard.rollouts/v1', rollouts: model.rollouts(now) });
  if (path === '/api/events') return sendJson(response, 200, { schema: 'hostwright.dashboard.events/v1', events: await queryEvents(client, parseEventsFilter(url.searchParams), closedSignal(response)) });
  if (path === '/api/logs') return serveLogs(client, parseLogsQuery(url.searchParams), response);
  const host = /^\/api\/hosts\/([^/]+)$/.exec(path);
  if (host) {
    const hostId = decodeURIComponent(host[1] as string);
    const view = isHostId(hostId) ? model.host(hostId, now) : undefined;
    if (!view) throw new HttpError(404, `no host ${hostId} (GET /api/fleet lists them)`);
    const events = await queryEvents(client, { host: hostId, limit: HOST_EVENTS }, closedSignal(response));
    return sendJson(response, 200, { schema: 'hostwright.dashboard.host/v1', host: view, events, lastPlan: lastPlanOf(events) });
  }
  const project = /^\/api\/projects\/([^/]+)$/.exec(path);
  if (project) {
    const name = decodeURIComponent(project[1] as string);
    if (!isProjectName(name)) throw new HttpError(404, `no project ${name}: expected a project name`);
    const histories = await client.desiredHistory(name);
    if (histories.size === 0) throw new HttpError(404, `no project ${name}: no host holds desired state of it`);
    return sendJson(response, 200, projectView(name, histories, (hostId) => model.summary(hostId, now), model.rolloutStates()));
  }
  const rollout = /^\/api\/rollouts\/([^/]+)$/.exec(path);
  if (rollout) {
    const view = model.rollout(decodeURIComponent(rollout[1] as string), now);
    if (!view) throw new HttpError(404, `no rollout ${decodeURIComponent(rollout[1] as string)} (GET /api/rollouts lists them)`);
    return sendJson(response, 200, { schema: 'hostwright.dashboard.rollout/v1', rollout: view });
  }
  throw new HttpError(404, `nothing at ${path}`);
}

async function rolloutAction(options: DashboardServerOptions, id: string, change: RolloutChange, response: ServerResponse): Promise<void> {
  if (!options.session.actionsAllowed || options.actions === undefined) {
    throw new HttpError(403, options.session.role === 'deployer' || options.session.role === 'admin' ? 'actions are off: start the dashboard with --allow-actions' : `actions need a deployer or admin credential; this dashboard reads NATS as ${options.session.role}`);
  }
  if (!options.model.rollout(id, Date.now())) throw new HttpError(404, `no rollout ${id} (GET /api/rollouts lists them)`);
  const state = await options.actions.change(change, id);
  sendJson(response, 200, { schema: 'hostwright.dashboard.rolloutaction/v1', rollout: rolloutView(state, Date.now()) });
}

/** 303 to the page: after a login, or a login where no token is needed. */
function redirectHome(response: ServerResponse): void {
  response.writeHead(303, { Location: '/' });
  response.end();
}

function sendJson(response: ServerResponse, status: number, body: object): void {
  sendJsonText(response, status, JSON.stringify(body));
}

function sendJsonText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  response.end(text);
}

/** Aborted when the browser goes away: a long read of the events stream stops with it. */
function closedSignal(response: ServerResponse): AbortSignal {
  const abort = new AbortController();
  response.once('close', () => abort.abort());
  return abort.signal;
}
