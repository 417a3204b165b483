import type { AgentHost } from '../agent/agent-host.js';
import type { FleetFile } from '../shared/fleet-spec.js';
import type { HostDesired } from '../shared/host-desired.js';
import { desiredContentHash, desiredForHost } from './placement.js';
import { refuseLocalSecrets } from './secret-names.js';

/** How local mode places a fleet file on this machine: as the host --host-id names, with its --label pairs; without a host id, placement is ignored. */
export interface LocalPlacement {
  readonly hostId?: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly allowEmpty?: boolean | undefined;
  readonly pruneVolumes?: boolean | undefined;
  readonly correlationID?: string | undefined;
}

/**
 * The desired document a fleet file gives this host: the stored revision when the content is
 * unchanged, the next revision otherwise. Without a host id, local mode ignores placement.
 */
export async function desiredFromFleet(host: AgentHost, fleet: FleetFile, placement: LocalPlacement): Promise<{ document: HostDesired; changed: boolean; previous: HostDesired | undefined }> {
  refuseLocalSecrets(fleet);
  const previous = (await host.journal.desiredDocuments()).find((document) => document.project === fleet.project);
  const draft = desiredForHost(fleet, { hostId: host.hostId, labels: { ...placement.labels } }, {
    revision: 1,
    allowEmpty: placement.allowEmpty ?? false,
    ...(placement.pruneVolumes === true ? { pruneVolumes: true } : {}),
    ignorePlacement: placement.hostId === undefined,
    ...(placement.correlationID === undefined ? {} : { correlationID: placement.correlationID }),
  });
  if (previous && desiredContentHash(previous) === desiredContentHash(draft)) return { document: { ...previous, correlationID: draft.correlationID }, changed: false, previous };
  return { document: { ...draft, revision: (previous?.revision ?? 0) + 1 }, changed: true, previous };
}
