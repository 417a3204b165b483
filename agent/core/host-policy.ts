import { DEFAULT_CAPABILITIES, capabilityName } from '../../shared/container-options.js';
import type { ServiceSpec } from '../../shared/fleet-spec.js';
import { hostPathOf } from '../../shared/volume-mounts.js';

/**
 * What this host lets desired state ask for beyond an ordinary container, set by the agent's own
 * configuration, never by the coordinator: a stolen coordinator key alone must not get root on
 * every host (as Nomad's docker driver has allow_privileged and allow_caps).
 */
export interface HostPolicy {
  readonly allowPrivileged: boolean;
  readonly allowDevices: boolean;
  /** Capabilities beyond Docker's defaults a service may add ("ALL": any). */
  readonly allowCaps: readonly string[];
  /** Host paths (and everything below them) a service may bind-mount. */
  readonly allowHostPaths: readonly string[];
  readonly allowHostNetwork: boolean;
}

/** A fleet agent's default: nothing beyond an ordinary container. */
export const STRICT_HOST_POLICY: HostPolicy = { allowPrivileged: false, allowDevices: false, allowCaps: [], allowHostPaths: [], allowHostNetwork: false };

/** Local mode: whoever runs the command owns the host and its Docker engine already. */
export const LOCAL_HOST_POLICY: HostPolicy = { allowPrivileged: true, allowDevices: true, allowCaps: ['ALL'], allowHostPaths: ['/'], allowHostNetwork: true };

/** Why a service asks for more than the policy allows: one message per refusal, saying what to do. Pure. */
export function policyRefusals(serviceName: string, service: ServiceSpec, policy: HostPolicy): string[] {
  const refusals: string[] = [];
  if (service.privileged && !policy.allowPrivileged) refusals.push(`${serviceName}: privileged is refused by this host's policy (start its agent with --allow-privileged to permit it)`);
  if ((service.devices?.length ?? 0) > 0 && !policy.allowDevices) refusals.push(`${serviceName}: devices (${(service.devices ?? []).join(', ')}) are refused by this host's policy (start its agent with --allow-devices)`);
  const allowedCaps = new Set(policy.allowCaps.map(capabilityName));
  const extraCaps = (service.cap_add ?? []).map(capabilityName).filter((cap) => !DEFAULT_CAPABILITIES.includes(cap) && !allowedCaps.has('ALL') && !allowedCaps.has(cap));
  if (extraCaps.length > 0) refusals.push(`${serviceName}: cap_add ${extraCaps.join(', ')} is refused by this host's policy (start its agent with ${extraCaps.map((cap) => `--allow-cap ${cap}`).join(' ')})`);
  if (service.network_mode === 'host' && !policy.allowHostNetwork) refusals.push(`${serviceName}: network_mode host is refused by this host's policy (start its agent with --allow-host-network)`);
  for (const volume of service.volumes) {
    const source = hostPathOf(volume);
    if (source !== undefined && !policy.allowHostPaths.some((allowed) => isWithin(source, allowed))) refusals.push(`${serviceName}: the bind mount of host path ${source} is refused by this host's policy (start its agent with --allow-host-path ${source}, or use a named volume)`);
  }
  return refusals;
}

/** path is `base` or below it, compared by whole path segments after normalising ".." away. */
function isWithin(path: string, base: string): boolean {
  const segments = (text: string) => {
    const out: string[] = [];
    for (const part of text.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') out.pop();
      else out.push(part);
    }
    return out;
  };
  const [inner, outer] = [segments(path), segments(base)];
  return outer.length <= inner.length && outer.every((part, i) => inner[i] === part);
}
