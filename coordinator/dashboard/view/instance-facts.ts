import type { DriftKindView, InstanceConditionView, InstanceView } from './dashboard-types.js';

/** Why an instance drifts, in words: what the host view shows beside the drift kind. */
const DRIFT_REASONS: Readonly<Record<DriftKindView, string>> = {
  missing: 'its container is gone (removed outside Hostwright)',
  stopped: 'its container is stopped',
  modified: 'its container no longer matches the desired spec',
  unhealthy: 'its health check fails',
};

export function driftReasons(instance: Pick<InstanceView, 'drift'>): string[] {
  return instance.drift.map((kind) => `${kind}: ${DRIFT_REASONS[kind] ?? kind}`);
}

/** `registry/app@sha256:…` → the image `registry/app` and the digest `sha256:…`; the image id when no digest is known. */
export function imageAndDigest(instance: Pick<InstanceView, 'imageDigest' | 'imageId'>): { image: string; digest: string } {
  const digest = instance.imageDigest;
  if (digest !== undefined) {
    const at = digest.lastIndexOf('@');
    return at < 0 ? { image: '-', digest } : { image: digest.slice(0, at), digest: digest.slice(at + 1) };
  }
  return { image: '-', digest: instance.imageId ?? '-' };
}

/** "12s ago", "3m ago": how long since `iso`, or "never". */
export function ago(iso: string | null | undefined, nowMs: number): string {
  if (iso === null || iso === undefined) return 'never';
  const ms = nowMs - Date.parse(iso);
  if (!Number.isFinite(ms)) return 'not a time';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/**
 * The last non-blank lines of a crash-looping or failed instance's output, as
 * shared/instance-condition.ts lastOutputLines picks them; kept here so the page's bundle needs no zod.
 */
export function lastLines(condition: Pick<InstanceConditionView, 'lastLines'>, count: number): string[] {
  return condition.lastLines.filter((line) => line.trim() !== '').slice(-count);
}
