import type { DependencyCondition } from '../../shared/depends-on.js';
import type { EndpointRecord } from '../../shared/endpoint-record.js';

// depends_on across hosts: whether a dependency that runs on other hosts meets its condition, read
// from the endpoint records this host accepted (agent/fleet/endpoint-registry.ts). Pure: the
// records come in as a snapshot; the executor asks again until the verdict is met or time is up.

export type RemoteDependencyVerdict = { readonly kind: 'met'; readonly message: string } | { readonly kind: 'waiting' | 'failed'; readonly message: string };

/**
 * One instance on any of the hosts the desired state placed the dependency on suffices (a host that
 * is down must not hold its peers' dependents): service_started holds when a record counts a running
 * instance, service_healthy when it lists a reachable one (records list only instances that are
 * healthy, or have no health check). service_completed_successfully cannot be seen from another
 * host (a completed container publishes nothing): it fails, as the gates refuse it beforehand.
 * Records of hosts not in `hosts` are ignored.
 */
export function remoteDependencyVerdict(dependency: string, condition: DependencyCondition, hosts: readonly string[], records: readonly EndpointRecord[]): RemoteDependencyVerdict {
  if (condition === 'service_completed_successfully') return { kind: 'failed', message: `${dependency} runs on ${hosts.join(', ')}: service_completed_successfully holds on one host only` };
  if (hosts.length === 0) return { kind: 'failed', message: `${dependency} is placed on no host` };
  const placed = new Set(hosts);
  const ofPlaced = records.filter((record) => placed.has(record.hostId));
  const meets = (record: EndpointRecord): boolean => record.instances.length > 0 || (condition === 'service_started' && (record.running ?? 0) > 0);
  const meeting = ofPlaced.filter(meets).map((record) => record.hostId).sort();
  const what = condition === 'service_healthy' ? 'healthy' : 'running';
  if (meeting.length > 0) return { kind: 'met', message: `${dependency} is ${what} on ${meeting.join(', ')}` };
  const heard = ofPlaced.map((record) => record.hostId).sort();
  return { kind: 'waiting', message: `${dependency} has no ${what} instance on ${hosts.join(', ')}${heard.length === 0 ? ' (no endpoint record from them yet)' : ''}` };
}
