import { readFile } from 'node:fs/promises';
import { validate } from '../shared/codec.js';
import { InvalidInputError, errorMessage } from '../shared/errors.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { HostReport } from '../shared/host-report.js';
import { conditionsDetail } from '../shared/instance-condition.js';
import type { StatusReport } from '../shared/wire.js';
import { runBounded } from '../shared/worker-pool.js';
import type { FleetClient } from './fleet-client.js';
import type { HostTarget } from './fleet-targets.js';
import { collectPlans, type HostPlan } from './fleet-plan.js';
import { savedPlanSchema, type SavedPlan } from '../shared/fleet-plan-json.js';
import type { HOST_PROGRESS_STATES } from '../shared/fleet-apply-json.js';
import { isStale } from './fleet-session.js';
import type { Heartbeat } from './heartbeat-age.js';

export async function readSavedPlan(path: string): Promise<SavedPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`cannot read plan file ${path}: ${errorMessage(error)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidInputError(`${path} is not JSON: expected a plan saved with \`hostwright plan -f fleet.yaml --out ${path}\``);
  }
  try {
    return validate(savedPlanSchema, raw, `plan file ${path}`);
  } catch (error) {
    throw new InvalidInputError(errorMessage(error));
  }
}

/**
 * Why each host of a saved plan can no longer be applied exactly: its desired key moved, or its
 * agent now observes something else than when the plan was made. Empty: the plan is current.
 */
export async function stalePlanReasons(client: FleetClient, saved: SavedPlan, timeoutMs: number): Promise<string[]> {
  const reasons: string[] = [];
  const [existing, registered] = await Promise.all([client.desiredOf(saved.project), client.hosts()]);
  for (const host of saved.hosts) {
    if (host.unregistered && registered.some((registration) => registration.hostId === host.hostId)) reasons.push(`${host.hostId}: its agent has registered since the plan (the plan has no answer from it)`);
    else if (!host.plan && !host.unregistered) reasons.push(`${host.hostId}: the plan has no answer from this host (${host.error ?? 'unknown'})`);
    const current = existing.get(host.hostId)?.kvRevision ?? 0;
    if (current !== host.kvRevision) reasons.push(`${host.hostId}: its desired state changed since the plan (revision ${current}, plan made at ${host.kvRevision})`);
  }
  const fresh = await collectPlans(client, saved.hosts.map((host): HostTarget => ({ hostId: host.hostId, document: host.document, kvRevision: host.kvRevision, changed: host.changed, ...(host.unregistered ? { unregistered: true as const } : {}) })), saved.correlationID, timeoutMs);
  for (const { target, plan, error } of fresh) {
    const planned = saved.hosts.find((host) => host.hostId === target.hostId)?.plan;
    if (error) reasons.push(`${target.hostId}: ${error}`);
    else if (planned && plan && planned.observationFingerprint !== plan.observationFingerprint) reasons.push(`${target.hostId}: its containers changed since the plan (observation ${plan.observationFingerprint.slice(0, 8)}, plan made at ${planned.observationFingerprint.slice(0, 8)})`);
  }
  return reasons;
}

export interface WrittenHost {
  readonly hostId: string;
  readonly document: HostDesired;
}

/** Desired-state writes in flight at once: one awaited write per host cost a server round trip each (~30 ms under load at 1000 hosts). */
export const PIPELINED_WRITES = 64;

/**
 * Writes every host that must act (a new document, or a plan with changes) with compare-and-set,
 * up to `inFlight` at once; after a failed write no further write starts, and the first error is thrown.
 */
export async function writeTargets(client: FleetClient, plans: readonly HostPlan[], inFlight = PIPELINED_WRITES): Promise<WrittenHost[]> {
  const due = plans.flatMap(({ target, plan }): WrittenHost[] => {
    if (!target.changed && !plan?.changes) return [];
    // An unchanged document still gets a new revision when its host must act: the agent converges new revisions.
    return [{ hostId: target.hostId, document: target.changed ? target.document : { ...target.document, revision: target.document.revision + 1 } }];
  });
  const expected = new Map(plans.map(({ target }) => [target.hostId, target.kvRevision]));
  // A host whose agent is too old stops the whole apply before anything is written.
  await client.checkAgentVersions(due.map((host) => host.document));
  await runBounded(due, inFlight, (host) => client.writeDesired(host.document, expected.get(host.hostId) ?? 0));
  return due;
}

export type HostProgress = (typeof HOST_PROGRESS_STATES)[number];

/**
 * Where one host stands on the revision it was given. A status report that failed its checks
 * counts for nothing: the host is `refused` until a report that holds arrives (or the wait ends).
 */
export function progressOf(host: WrittenHost, reported: HostReport<StatusReport> | undefined, heartbeat: Heartbeat | undefined): { state: HostProgress; detail: string } {
  if (reported?.trust.verdict === 'refused') return { state: 'refused', detail: `its status report was refused: ${reported.trust.reason}` };
  const report = reported?.value;
  const project = report?.status.projects.find((p) => p.project === host.document.project);
  if (project?.rejected?.revision === host.document.revision) return { state: 'failed', detail: project.rejected.reason };
  if (project && project.desiredRevision === host.document.revision) {
    if (project.blocked.length > 0) return { state: 'blocked', detail: project.blocked.map((b) => b.message).join('; ') };
    const failing = conditionsDetail(project);
    if (project.appliedRevision === host.document.revision && failing !== undefined) return { state: 'failed', detail: failing };
    if (project.appliedRevision === host.document.revision && project.converged) return { state: 'converged', detail: `${project.instances.length} instance(s)` };
    return { state: 'applying', detail: `${project.pendingActions} pending action(s)` };
  }
  if (isStale(heartbeat)) return { state: 'stale', detail: 'no heartbeat: the agent is down or cut off; it applies the change when it is back' };
  return { state: 'waiting', detail: 'the agent has not picked up the revision yet' };
}

/** How long `apply --wait` keeps watching a converged host: a container that dies at once has not shown it yet. */
export const CONVERGED_SETTLE_MS = 1_500;
