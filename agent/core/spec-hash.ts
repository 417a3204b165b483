import { contentHash } from '../../shared/canonical.js';
import { runtimeConfigOf, type ServiceSpec } from '../../shared/fleet-spec.js';
import { maskEnv } from '../../shared/secret-env.js';
import { maskFileSecret } from '../../shared/file-secrets.js';

/** Desired documents are immutable values: a spec object hashes to the same value every cycle. */
const hashes = new WeakMap<ServiceSpec, string>();

/** Hash of the fields that define a container; replicas, placement and drift policy are left out. */
export function specHashOf(service: ServiceSpec): string {
  let hash = hashes.get(service);
  if (hash === undefined) {
    // Over the masked env and secret files: a changed secret changes the hash (by its digest), and
    // the hash equals that of the masked form, whatever the sealing (new at every write).
    const config = runtimeConfigOf(service);
    hash = contentHash({ ...config, env: maskEnv(config.env), ...(config.secrets === undefined ? {} : { secrets: config.secrets.map(maskFileSecret) }) });
    hashes.set(service, hash);
  }
  return hash;
}
