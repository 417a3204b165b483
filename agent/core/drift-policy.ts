import type { DriftAction, DriftPolicyInput } from '../../shared/fleet-spec.js';

export type DriftKind = 'missing' | 'stopped' | 'modified' | 'unhealthy';

export interface DriftPolicy {
  readonly missing: DriftAction;
  readonly stopped: DriftAction;
  readonly modified: DriftAction;
}

/** Defaults: recreate what vanished and restart what stopped; never silently undo a hand edit. */
export const DEFAULT_DRIFT_POLICY: DriftPolicy = { missing: 'repair', stopped: 'repair', modified: 'report' };

/** The service's policy overrides the project's, which overrides the defaults, field by field. */
export function resolveDriftPolicy(project: DriftPolicyInput | undefined, service: DriftPolicyInput | undefined): DriftPolicy {
  return { ...DEFAULT_DRIFT_POLICY, ...expand(project), ...expand(service) };
}

function expand(policy: DriftPolicyInput | undefined): Partial<DriftPolicy> {
  if (policy === undefined) return {};
  if (typeof policy === 'string') return { missing: policy, stopped: policy, modified: policy };
  const expanded: { -readonly [K in keyof DriftPolicy]?: DriftAction } = {};
  if (policy.missing) expanded.missing = policy.missing;
  if (policy.stopped) expanded.stopped = policy.stopped;
  if (policy.modified) expanded.modified = policy.modified;
  return expanded;
}
