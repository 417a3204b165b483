import type { Logger } from 'pino';
import { openAgentHost, type AgentHost } from '../../agent/agent-host.js';
import { LOCAL_HOST_POLICY } from '../../agent/core/host-policy.js';
import { InvalidInputError } from '../../shared/errors.js';
import type { FleetFile } from '../../shared/fleet-spec.js';
import { hostIdSchema } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { desiredContentHash, desiredForHost } from '../placement.js';
import { refuseLocalSecrets } from '../secret-names.js';
import { cliLogger } from './cli-logger.js';
import { registryAuthOf } from './registry-auth-option.js';
import { defaultDataDir, parseLabels, parseParallel, type LocalOptions } from './options.js';
import { imageGraceOf } from './parse.js';

/** This machine as local mode drives it (agent/agent-host.ts). */
export type LocalHost = AgentHost;

/** Local mode's host id: --host-id, or "local". */
export function localHostId(options: LocalOptions): string {
  const hostId = options.hostId ?? 'local';
  const parsedHost = hostIdSchema.safeParse(hostId);
  if (!parsedHost.success) throw new InvalidInputError(`--host-id ${hostId}: ${parsedHost.error.issues[0]?.message ?? 'invalid'}`);
  return hostId;
}

/** Opens the local data dir and Docker engine; the caller closes it. Logs nowhere unless given a logger or HOSTWRIGHT_LOG. */
export async function openLocalHost(options: LocalOptions, logger: Logger = cliLogger()): Promise<LocalHost> {
  // Local mode: whoever runs the command owns the host already, so its policy allows everything.
  return openAgentHost(options.dataDir ?? defaultDataDir(), { hostId: localHostId(options), parallelism: parseParallel(options.parallel), logger, policy: LOCAL_HOST_POLICY, registryAuth: await registryAuthOf(options.registryAuth, 'local', logger), ...imageGraceOf(options) });
}

/**
 * The desired document a fleet file gives this host: the stored revision when the content is
 * unchanged, the next revision otherwise. Without --host-id, local mode ignores placement.
 */
export async function desiredFromFleet(host: LocalHost, fleet: FleetFile, options: LocalOptions & { allowEmpty?: boolean; pruneVolumes?: boolean; correlationID?: string }): Promise<{ document: HostDesired; changed: boolean; previous: HostDesired | undefined }> {
  refuseLocalSecrets(fleet);
  const previous = (await host.journal.desiredDocuments()).find((document) => document.project === fleet.project);
  const draft = desiredForHost(fleet, { hostId: host.hostId, labels: parseLabels(options.label) }, {
    revision: 1,
    allowEmpty: options.allowEmpty ?? false,
    ...(options.pruneVolumes === true ? { pruneVolumes: true } : {}),
    ignorePlacement: options.hostId === undefined,
    ...(options.correlationID === undefined ? {} : { correlationID: options.correlationID }),
  });
  if (previous && desiredContentHash(previous) === desiredContentHash(draft)) return { document: { ...previous, correlationID: draft.correlationID }, changed: false, previous };
  return { document: { ...draft, revision: (previous?.revision ?? 0) + 1 }, changed: true, previous };
}
