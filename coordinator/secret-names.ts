import { InvalidInputError } from '../shared/errors.js';
import type { FleetFile } from '../shared/fleet-spec.js';

// Which secret files a fleet mounts, apart from their sealing (fleet-secrets.ts): local mode checks
// this without loading any key code.

/** The names (service.kind.name) of the secret files a fleet mounts, sorted. */
export function fileSecretNames(fleet: FleetFile): string[] {
  return Object.entries(fleet.services)
    .flatMap(([service, spec]) => (spec.secrets ?? []).map((file) => `${service}: ${file.kind} ${file.name}`))
    .sort();
}

/** Local mode writes the document into its own journal: a value would land there in the clear. */
export function refuseLocalSecrets(fleet: FleetFile): void {
  const names = fileSecretNames(fleet);
  if (names.length > 0) throw new InvalidInputError(`project ${fleet.project} mounts secrets or configs (${names.join(', ')}): local mode does not carry them (its journal would hold them in the clear); run an agent with fleet credentials (docs/secrets.md), or give the value as an env {secret_file: /path}`);
}
