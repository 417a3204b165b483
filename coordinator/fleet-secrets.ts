import { createCurve, type KeyPair } from '@nats-io/nkeys';
import { InvalidInputError } from '../shared/errors.js';
import { fileSecretDigest, isPlain } from '../shared/file-secrets.js';
import { sealFileSecret } from '../shared/file-secret-keys.js';
import type { FleetFile } from '../shared/fleet-spec.js';
import type { HostDesired } from '../shared/host-desired.js';
import { fileSecretNames } from './secret-names.js';

// The coordinator's side of compose secrets and configs (docs/secrets.md): their digests keyed with
// the fleet's digest key, then each host's copy sealed to that host's curve key, before anything is
// stored or sent. Only the coordinator's memory holds a value in the clear.

/** The fleet with every secret file's digest computed under the digest key; refused without one. */
export function keyFleetSecrets(fleet: FleetFile, digestKey: Uint8Array | undefined): FleetFile {
  const names = fileSecretNames(fleet);
  if (names.length === 0) return fleet;
  if (digestKey === undefined) {
    throw new InvalidInputError(
      `project ${fleet.project} mounts secrets or configs (${names.join(', ')}), which travel sealed to each host's curve key: that needs the fleet's keys from \`hostwright fleet init\` (fleet-auth.json and secret-digest.key beside the --creds file, or --fleet-auth DIR). An unauthenticated NATS, and local mode, do not carry them`,
    );
  }
  const services: FleetFile['services'] = {};
  for (const [name, service] of Object.entries(fleet.services)) {
    services[name] = service.secrets === undefined ? service : { ...service, secrets: service.secrets.map((file) => (isPlain(file.value) ? { ...file, value: { content: file.value.content, digest: fileSecretDigest(file.value.content, digestKey) } } : file)) };
  }
  return { ...fleet, services };
}

/**
 * The document with each plain secret file sealed to its host's curve key (`curveKey`, from
 * fleet-auth.json); refused, naming the fix, when the host has none.
 */
export function sealDocumentSecrets(document: HostDesired, curveKey: string | undefined, newSender: () => KeyPair = createCurve): HostDesired {
  const plain = Object.values(document.services).some((service) => service.secrets?.some((file) => isPlain(file.value)));
  if (!plain) return document;
  if (curveKey === undefined) {
    throw new InvalidInputError(`host ${document.hostId} is placed secrets or configs of project ${document.project}, but fleet-auth.json has no curve key for it (a host added before secrets): run \`hostwright fleet add-host ${document.hostId} --rotate --dir AUTH_DIR\` and restart its agent with the new --creds and --curve-key files`);
  }
  const services: HostDesired['services'] = {};
  for (const [name, service] of Object.entries(document.services)) {
    services[name] = service.secrets === undefined ? service : { ...service, secrets: service.secrets.map((file) => sealFileSecret(file, curveKey, newSender())) };
  }
  return { ...document, services };
}
