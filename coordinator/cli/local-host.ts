import type { Logger } from 'pino';
import { openAgentHost, type AgentHost } from '../../agent/agent-host.js';
import { LOCAL_HOST_POLICY } from '../../agent/core/host-policy.js';
import { InvalidInputError } from '../../shared/errors.js';
import type { FleetFile } from '../../shared/fleet-spec.js';
import { hostIdSchema } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { desiredFromFleet as desiredOnHost } from '../local-desired.js';
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

/** The desired document a fleet file gives this host, placed by the local-mode flags (coordinator/local-desired.ts). */
export async function desiredFromFleet(host: LocalHost, fleet: FleetFile, options: LocalOptions & { allowEmpty?: boolean; pruneVolumes?: boolean; correlationID?: string }): Promise<{ document: HostDesired; changed: boolean; previous: HostDesired | undefined }> {
  return desiredOnHost(host, fleet, { hostId: options.hostId, labels: parseLabels(options.label), allowEmpty: options.allowEmpty, pruneVolumes: options.pruneVolumes, correlationID: options.correlationID });
}
