import { FleetClient } from './fleet-client.js';
import { fleetTargets, type HostTarget } from './fleet-targets.js';
import { keyFleetSecrets, sealDocumentSecrets } from './fleet-secrets.js';
import { cliLogger } from './cli-logger.js';
import type { NatsAccess } from '../shared/nats-connection.js';
import { loadSigningKey } from './signing-key.js';
import { authorClaimsOf } from './author-claims.js';
import { findHostKeys } from './fleet-host-keys.js';
import { parseStorageLimits } from '../shared/stream-replicas.js';
import { describeHeartbeatAge, isStaleHost, type Heartbeat } from './heartbeat-age.js';
import { checkPlacementHosts } from './known-hosts.js';
import type { FleetFile } from '../shared/fleet-spec.js';
import { HostwrightError } from '../shared/errors.js';
import { effectiveLabels } from '../shared/host-control.js';
import { cordonSkips, type Cordon, type CordonSkip } from './cordon.js';
import type { HostInfo } from './placement.js';
import { acceptedValues } from '../shared/host-report.js';
import type { HostRegistration } from '../shared/wire.js';

/** How to reach the fleet's NATS, as the CLI's options (or a context) give it. */
export interface FleetTarget {
  readonly natsUrl: string;
  readonly access: NatsAccess;
  /** Where the fleet's auth manifest is, as given (--fleet-auth, $HOSTWRIGHT_FLEET_AUTH); else looked for beside the creds. */
  readonly fleetAuth?: string | undefined;
}

/**
 * Runs `work` with a connected client and always closes it. A command that writes desired state
 * passes `signing`: its client signs with the --signing-key seed file (or $HOSTWRIGHT_SIGNING_KEY)
 * when one is given. Read-only commands never read the secret key, even when the variable is set.
 * $HOSTWRIGHT_STORAGE_LIMITS sets the stream's and buckets' limits (parseStorageLimits).
 */
export async function withFleet<T>(target: FleetTarget, work: (client: FleetClient) => Promise<T>, signing?: { readonly keyFile: string | undefined; readonly as?: string | undefined }): Promise<T> {
  const keyFile = signing && (signing.keyFile ?? process.env.HOSTWRIGHT_SIGNING_KEY);
  const signer = keyFile ? await loadSigningKey(keyFile) : undefined;
  // Every desired write records who made it (shared/desired-author.ts).
  const author = signer ? await authorClaimsOf(target.access.credsFile, signing?.as) : undefined;
  const hostKeys = await findHostKeys(target.fleetAuth, target.access.credsFile);
  // The stream's and buckets' limits, where the coordinator creates them (docs/fleet.md, "Storage limits").
  const limits = parseStorageLimits(process.env.HOSTWRIGHT_STORAGE_LIMITS);
  const client = await FleetClient.connect(target.natsUrl, cliLogger(), target.access, signer, hostKeys, limits, author);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/**
 * The fleet (as read from -f) resolved against the registered hosts and what each host was told
 * before. A placement on a host that never registered is refused (known-hosts.ts) unless the host
 * is in `allowUnregistered`, or already holds desired state of the project.
 */
export async function targetsFor(client: FleetClient, fleet: FleetFile, correlationID: string, options: { readonly pruneVolumes?: boolean; readonly allowUnregistered?: readonly string[] } = {}): Promise<{ project: string; targets: HostTarget[]; cordonSkips: CordonSkip[] }> {
  const [reports, existing, controls] = await Promise.all([client.hostReports(), client.desiredOf(fleet.project), client.hostControls()]);
  const { hosts, cordons } = placementHosts(acceptedValues(reports), controls);
  const registeredIds = new Set(reports.map((report) => report.hostId));
  checkPlacementHosts(fleet, [...registeredIds], options.allowUnregistered ?? [], new Set(existing.keys()));
  // Secret files are sealed to each host here: what is stored or sent from now on is ciphertext.
  const keyed = keyFleetSecrets(fleet, client.hostKeys?.secretDigestKey);
  const targets = fleetTargets(keyed, hosts, existing, correlationID, { registeredIds, cordons, hostKeys: client.hostKeys, ...(options.pruneVolumes === true ? { pruneVolumes: true } : {}) });
  return {
    project: fleet.project,
    targets: targets.map((target) => (target.changed ? { ...target, document: sealDocumentSecrets(target.document, client.hostKeys?.curveKeyOf?.(target.hostId)) } : target)),
    cordonSkips: cordonSkips(fleet, hosts, existing, cordons),
  };
}

/**
 * Pure: the registered hosts as placement sees them: the agent's labels with the coordinator's over them
 * (`hosts label`), and the cordoned ones (`hosts cordon`). A host control that fails its signature
 * check stops the command: placing by a forged cordon or label would move services.
 */
export function placementHosts(registrations: readonly HostRegistration[], { controls, refused }: Awaited<ReturnType<FleetClient['hostControls']>>): { hosts: HostInfo[]; cordons: Map<string, Cordon> } {
  if (refused.length > 0) {
    throw new HostwrightError(`refusing to place: the cordon and labels of ${refused.map((entry) => `host ${entry.hostId} (${entry.reason})`).join(', ')} fail their checks; find out who wrote them, then set them again with \`hostwright hosts label\` or \`hosts cordon\`/\`uncordon\` (signed with the coordinator's key)`);
  }
  const hosts = registrations.map((host): HostInfo => ({ hostId: host.hostId, labels: effectiveLabels(host.labels, controls.get(host.hostId)?.control) }));
  const cordons = new Map<string, Cordon>();
  for (const [hostId, { control }] of controls) {
    if (!control.cordon && !control.drain) continue;
    const keep = control.drain && !control.drain.force ? new Set(control.drain.left.map((entry) => `${entry.project}/${entry.service}`)) : new Set<string>();
    cordons.set(hostId, { reason: control.cordon?.reason ?? 'drain', ...(control.drain ? { drain: { keep } } : {}) });
  }
  return { hosts, cordons };
}


/** Stale by the host's own heartbeat period, never sooner than 15 s (coordinator/heartbeat-age.ts). */
export function isStale(host: Heartbeat | undefined, now = Date.now()): boolean {
  return isStaleHost(host, now);
}

export function ago(timestamp: string | undefined, now = Date.now()): string {
  return describeHeartbeatAge(timestamp, now);
}
