import { contentHash } from '../../shared/canonical.js';
import { runtimeConfigOf, type ServiceSpec } from '../../shared/fleet-spec.js';

/** Hash of the fields that define a container; replicas, placement and drift policy are left out. */
export function specHashOf(service: ServiceSpec): string {
  return contentHash(runtimeConfigOf(service));
}
