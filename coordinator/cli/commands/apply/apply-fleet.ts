import { InvalidInputError } from '../../../../shared/errors.js';
import { unmaskServices } from '../../../../shared/secret-env.js';
import type { FleetClient } from '../../../fleet-client.js';
import { EXIT } from '../../exit-codes.js';
import { CONVERGED_SETTLE_MS, progressOf, readSavedPlan, stalePlanReasons, type HostProgress, type WrittenHost } from '../../fleet/fleet-apply.js';
import { actingHosts, readPhases, writeFleetChange } from '../../fleet/fleet-moves.js';
import { moveOrderJson } from '../../render/move-view.js';
import { collectPlans, type HostPlan } from '../../fleet/fleet-plan.js';
import { targetsFor, withFleet } from '../../fleet/fleet-session.js';
import { allowedUnregistered } from '../../../known-hosts.js';
import type { FleetTarget } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { readWorkload } from '../../workload.js';
import { PullProgressLines } from '../../render/pull-view.js';
import type { StatusReport } from '../../../../shared/wire.js';
import { hostProgressLine, notRegisteredLine, stalePlanMessage, unansweredHostLine, wouldBlockLine } from '../../render/apply-view.js';
import type { ApplyOptions } from './options.js';
import { printableJson } from '../../render/printable.js';
import { sleep } from '../../../../shared/sleep.js';

/** `apply` in fleet mode: writes each host's desired state over NATS, optionally waits for convergence. */
export async function applyToFleet(target: FleetTarget, planFile: string | undefined, options: ApplyOptions): Promise<void> {
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  await withFleet(target, (client) => applyFleet(client, planFile, options, timeoutMs), { keyFile: options.signingKey, as: options.as });
}

async function applyFleet(client: FleetClient, planFile: string | undefined, options: ApplyOptions, timeoutMs: number): Promise<void> {
  client.requireSigner('apply');
  const say = (line: string) => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  const answerMs = Math.min(timeoutMs, 5_000);
  let plans: HostPlan[];
  let correlationID: string;
  let project: string;
  if (planFile) {
    const saved = await readSavedPlan(planFile);
    const stale = await stalePlanReasons(client, saved, answerMs);
    if (stale.length > 0) {
      process.stderr.write(stalePlanMessage(stale, planFile));
      process.exitCode = EXIT.error;
      return;
    }
    correlationID = saved.correlationID;
    project = saved.project;
    const current = await client.desiredOf(saved.project);
    plans = saved.hosts.map((host) => {
      const { document, missing } = unmaskServices(host.document, current.get(host.hostId)?.document);
      if (missing.length > 0) throw new InvalidInputError(`${host.hostId}: the saved plan holds ${missing.join(', ')} only as a digest (plan files never store secret values) and the current desired state has no such value; apply the fleet file itself: \`hostwright apply -f fleet.yaml\``);
      return { target: { hostId: host.hostId, document, kvRevision: host.kvRevision, changed: host.changed, ...(host.unregistered ? { unregistered: true as const } : {}) }, plan: host.plan, error: host.error };
    });
  } else {
    correlationID = client.newCorrelationID();
    const resolved = await targetsFor(client, (await readWorkload(options)).fleet, correlationID, { pruneVolumes: options.pruneVolumes === true, allowUnregistered: allowedUnregistered(options.allowUnregistered) });
    project = resolved.project;
    plans = await collectPlans(client, resolved.targets, correlationID, answerMs);
  }
  for (const { target, plan, error } of plans) {
    if (error) say(unansweredHostLine(target.hostId, error));
    else if (plan && plan.blocked.length > 0) say(wouldBlockLine(target.hostId, plan.blocked));
  }
  // A move is written make-before-break: the giving hosts only once the receiving ones run it healthy.
  const phases = await readPhases(client, project, plans);
  const moves = phases.moves.length > 0 ? { phases: moveOrderJson(phases, actingHosts(plans)) } : {};
  const { written, held, blocked } = await writeFleetChange(client, project, plans, phases, { timeoutMs, correlationID, say });
  // Nobody applies a document of a host no agent registered as yet: it is not waited for.
  const unregistered = new Set(plans.filter(({ target }) => target.unregistered).map(({ target }) => target.hostId));
  for (const host of written) if (unregistered.has(host.hostId)) say(notRegisteredLine(host.hostId, host.document.revision));
  if (held.length > 0) {
    if (options.json) process.stdout.write(`${printableJson({ schema: 'hostwright.fleetapply/v1', correlationID, written: written.map((w) => ({ hostId: w.hostId, revision: w.document.revision })), ...moves, held }, 2)}\n`);
    process.exitCode = blocked ? EXIT.blocked : EXIT.error;
    return;
  }
  const awaited = written.filter((host) => !unregistered.has(host.hostId));
  if (!options.wait || awaited.length === 0) {
    if (options.json) process.stdout.write(`${printableJson({ schema: 'hostwright.fleetapply/v1', correlationID, written: written.map((w) => ({ hostId: w.hostId, revision: w.document.revision })), ...moves }, 2)}\n`);
    return;
  }
  const pulls = new PullProgressLines(say);
  const final = await waitForHosts(client, awaited, timeoutMs, (hostId, state, detail) => say(hostProgressLine(hostId, state, detail)), (hostId, report) => pulls.show(hostId, report?.status.pulls));
  const counts = new Map<HostProgress, number>();
  for (const state of final.values()) counts.set(state, (counts.get(state) ?? 0) + 1);
  say(`\n${[...counts.entries()].map(([state, count]) => `${count} ${state}`).join(', ')}.`);
  if (options.json) process.stdout.write(`${printableJson({ schema: 'hostwright.fleetapply/v1', correlationID, hosts: [...[...final.entries()].map(([hostId, state]) => ({ hostId, state })), ...written.filter((host) => unregistered.has(host.hostId)).map((host) => ({ hostId: host.hostId, state: 'not-registered' }))], ...moves }, 2)}\n`);
  const states = [...final.values()];
  if (states.every((state) => state === 'converged')) return;
  process.exitCode = states.some((state) => state === 'blocked') && states.every((state) => state === 'converged' || state === 'blocked') ? EXIT.blocked : EXIT.error;
}

/** Polls status until every host converged, failed or was blocked, or the timeout passes; reports each change, and each poll's status of a host still on its way. */
export async function waitForHosts(
  client: FleetClient,
  written: readonly WrittenHost[],
  timeoutMs: number,
  report: (hostId: string, state: HostProgress, detail: string) => void,
  polled: (hostId: string, status: StatusReport | undefined) => void,
): Promise<Map<string, HostProgress>> {
  const deadline = Date.now() + timeoutMs;
  const states = new Map<string, HostProgress>();
  // A host is done once it failed or was blocked, or has stayed converged for a moment (a crash shows within it).
  const convergedSince = new Map<string, { readonly at: number; readonly detail: string }>();
  const settled = (hostId: string) => Date.now() - (convergedSince.get(hostId)?.at ?? Infinity) >= CONVERGED_SETTLE_MS;
  const done = (hostId: string) => {
    const state = states.get(hostId);
    return state === 'failed' || state === 'blocked' || (state === 'converged' && settled(hostId));
  };
  for (;;) {
    const [statuses, hosts] = await Promise.all([client.statusReports(), client.hosts()]);
    const statusOf = new Map(statuses.map((report) => [report.hostId, report]));
    const heartbeatOf = new Map(hosts.map((host) => [host.hostId, host.heartbeatAt]));
    for (const host of written) {
      if (done(host.hostId)) continue;
      const progress = progressOf(host, statusOf.get(host.hostId), heartbeatOf.get(host.hostId));
      polled(host.hostId, statusOf.get(host.hostId)?.value);
      // Converged counts (and is shown) once it has held for the settle time.
      if (progress.state !== 'converged') convergedSince.delete(host.hostId);
      else if (!convergedSince.has(host.hostId)) convergedSince.set(host.hostId, { at: Date.now(), detail: progress.detail });
      if (progress.state === 'converged' && !settled(host.hostId)) continue;
      if (states.get(host.hostId) !== progress.state) report(host.hostId, progress.state, progress.detail);
      states.set(host.hostId, progress.state);
    }
    if (written.every((host) => done(host.hostId))) return states;
    if (Date.now() > deadline) {
      for (const host of written) {
        if (done(host.hostId)) continue;
        const converged = convergedSince.get(host.hostId);
        if (converged) {
          // Converged when time ran out, only not for the whole settle time: it counts.
          report(host.hostId, 'converged', converged.detail);
          states.set(host.hostId, 'converged');
        } else {
          report(host.hostId, 'timed-out', `still ${states.get(host.hostId) ?? 'waiting'} after ${Math.round(timeoutMs / 1000)}s`);
          states.set(host.hostId, 'timed-out');
        }
      }
      return states;
    }
    await sleep(300);
  }
}
