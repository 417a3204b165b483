import { compareStrings } from '../shared/compare.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { DesiredEntry } from './fleet-client.js';
import type { HostTarget } from './fleet-targets.js';
import { desiredContentHash } from './placement.js';

/**
 * Pure: `down`'s documents: every host that holds desired state of the project gets it with no
 * services (allowEmpty, as a fleet file's `services: {}` does), sorted by host. A host already told
 * so is unchanged; a damaged key is written again. Volumes are kept (as `docker compose down` without -v).
 */
export function removalTargets(project: string, existing: ReadonlyMap<string, DesiredEntry>, correlationID: string): HostTarget[] {
  return [...existing]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([hostId, entry]): HostTarget => {
      const empty: HostDesired = { hostId, project, revision: entry.document.revision + 1, services: {}, allowEmpty: true, correlationID };
      if (entry.damaged !== true && desiredContentHash(entry.document) === desiredContentHash(empty)) return { hostId, document: { ...entry.document, correlationID }, kvRevision: entry.kvRevision, changed: false };
      return { hostId, document: empty, kvRevision: entry.kvRevision, changed: true };
    });
}
