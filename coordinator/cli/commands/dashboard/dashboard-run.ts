import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { DashboardSession } from '../../../../shared/dashboard-api.js';
import { InvalidInputError } from '../../../../shared/errors.js';
import { HOSTWRIGHT_VERSION } from '../../../../shared/version.js';
import { authorClaimsOf } from '../../../author-claims.js';
import { credentialUser, dashboardToken, roleMayAct } from '../../../dashboard/dashboard-access.js';
import { DashboardAssetsMissingError, findAssets } from '../../../dashboard/dashboard-assets.js';
import { createDashboardServer } from '../../../dashboard/dashboard-server.js';
import { parseListen } from '../../../dashboard/dashboard-security.js';
import { startFleetFeeds } from '../../../dashboard/fleet-feeds.js';
import { FleetModel } from '../../../dashboard/fleet-model.js';
import { LiveHub } from '../../../dashboard/live-hub.js';
import { RolloutActions } from '../../../dashboard/rollout-actions.js';
import { cliConfigPath } from '../../cli-context.js';
import { cliLogger } from '../../cli-logger.js';
import { EXIT } from '../../exit-codes.js';
import { withFleet } from '../../fleet/fleet-session.js';
import { modeOf } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { printable } from '../../render/printable.js';
import type { DashboardOptions } from './options.js';

/** `hostwright dashboard`: serves the page and its API until SIGINT or SIGTERM. */
export async function runDashboard(options: DashboardOptions): Promise<void> {
  const listen = parseListen(options.listen);
  const staleAfterMs = parseTimeout(options.staleAfter, '--stale-after');
  if (staleAfterMs < 1_000) throw new InvalidInputError(`--stale-after ${options.staleAfter}: expected at least 1s (agents heartbeat every few seconds)`);
  let assetsDir: string;
  try {
    assetsDir = findAssets();
  } catch (error) {
    if (!(error instanceof DashboardAssetsMissingError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = EXIT.dashboardAssetsMissing;
    return;
  }
  const mode = modeOf({ ...options }, 'dashboard');
  if (mode.kind !== 'fleet') return;
  // Beyond loopback anyone who reaches the port could watch the fleet: a token is required.
  const token = listen.loopback && options.tokenFile === undefined ? undefined : await dashboardToken(options.tokenFile, dirname(cliConfigPath()));
  const { name: fleetUser, role } = await credentialUser(mode.access.credsFile, mode.fleetAuth);
  const actionsAllowed = options.allowActions === true && roleMayAct(role);
  if (options.allowActions === true && !actionsAllowed) process.stderr.write(`note: --allow-actions has no effect: the credential's role is ${role}, and pausing, resuming or aborting a rollout needs deployer or admin\n`);
  const claims = await authorClaimsOf(mode.access.credsFile, undefined);
  const user = fleetUser ?? claims.natsUser ?? claims.name ?? 'unknown';
  const session: DashboardSession = { schema: 'hostwright.dashboard.session/v1', user, role, actionsAllowed, version: HOSTWRIGHT_VERSION };
  const logger = cliLogger();
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  await withFleet(mode, async (client) => {
    const model = new FleetModel(staleAfterMs);
    const hub = new LiveHub(model);
    // An interrupt while the watches start ends the command too.
    await Promise.race([startFleetFeeds(client, model, hub, logger, stop.signal), aborted(stop.signal)]);
    if (stop.signal.aborted) return;
    const actions = actionsAllowed ? new RolloutActions(client, `${claims.name ?? user} (dashboard)`, logger, stop.signal) : undefined;
    const server = createDashboardServer({ client, model, hub, listen, token: token?.token, session, assetsDir, actions, logger });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new InvalidInputError(`--listen ${options.listen}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`, { cause: error })));
      server.listen(listen.port, listen.host, () => resolve());
    });
    hub.start();
    const port = (server.address() as AddressInfo).port;
    const url = `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}/`;
    process.stdout.write(options.json ? `${JSON.stringify({ schema: 'hostwright.dashboard.start/v1', url, tokenRequired: token !== undefined, actionsAllowed })}\n` : `dashboard listening on ${url}\n`);
    if (token) process.stderr.write(`A token is required (listening beyond loopback): it is in ${printable(token.file)}${token.generated ? ' (made now, mode 0600)' : ''}; open ${url}login?token=TOKEN once, or send Authorization: Bearer TOKEN\n`);
    await aborted(stop.signal);
    hub.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }, options.allowActions === true ? { keyFile: options.signingKey } : undefined);
}

function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
