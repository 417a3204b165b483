import { acceptedValues } from '../../../../shared/host-report.js';
import type { Drain } from '../../../../shared/host-control.js';
import type { HostDesired } from '../../../../shared/host-desired.js';
import { drainTargets, planDrain, remainingOnHost, type DrainPlan } from '../../../drain.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { EXIT } from '../../exit-codes.js';
import { writeTargets, type WrittenHost } from '../../../fleet-apply.js';
import { readPhases, writeFleetChange } from '../../../fleet-moves.js';
import type { HostPlan } from '../../../fleet-plan.js';
import { isStale, placementHosts, withFleet } from '../../../fleet-session.js';
import { modeOf } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { hostProgressLine, moveProgressLine, writtenLine } from '../../render/apply-view.js';
import { remainingLine, renderDrainPlan } from '../../render/drain-view.js';
import { printable, printableJson } from '../../render/printable.js';
import { waitForHosts } from '../../../fleet-wait.js';
import { rewriteControl } from './hosts-control.js';
import type { HostDrainOptions } from './options.js';

/**
 * `hosts drain H`: cordons the host, then moves its instances to the other hosts that run the same
 * services, make-before-break, project by project, within --deadline; records the drain in the
 * host's control so `hosts` shows it and a second run (or coordinator) resumes it.
 */
export async function drainHost(hostId: string, options: HostDrainOptions): Promise<void> {
  const mode = modeOf(options, 'hosts drain');
  if (mode.kind !== 'fleet') return;
  const deadlineMs = parseTimeout(options.deadline, '--deadline');
  const say = (line: string) => {
    if (!options.json && line !== '') process.stdout.write(`${line}\n`);
  };
  await withFleet(
    mode,
    async (client) => {
      if (!options.dryRun) client.requireSigner('hosts drain');
      requireKnownHost('hosts drain', hostId, await client.knownHostIds());
      const started = Date.now();
      const [reports, controls, byHost] = await Promise.all([client.hostReports(), client.hostControls(), client.desiredProjectsByHost()]);
      // A forged cordon elsewhere must not steer where the instances go: refused as placement refuses it.
      const { cordons } = placementHosts(acceptedValues(reports), controls);
      const eligible = new Set(acceptedValues(reports).filter((host) => host.hostId !== hostId && !cordons.has(host.hostId) && !isStale(host)).map((host) => host.hostId));
      const projects = [...(byHost.get(hostId) ?? [])].sort();
      const desired = new Map(await Promise.all(projects.map(async (project) => [project, await client.desiredOf(project)] as const)));
      const recorded = controls.controls.get(hostId)?.control.drain;
      const resumed = recorded?.state === 'draining';
      const force = options.force === true || (resumed && recorded.force);
      const plan: DrainPlan = resumed ? { hostId, moves: recorded.moves, left: recorded.left } : planDrain(hostId, new Map([...desired].map(([project, entries]) => [project, new Map([...entries].map(([id, entry]) => [id, entry.document]))])), eligible);
      say(renderDrainPlan(plan, force, resumed));
      const summary = { schema: 'hostwright.drain/v1', hostId, force, moves: plan.moves, left: plan.left.map((entry) => ({ ...entry, action: force ? 'stop' : 'leave' })) };
      if (options.dryRun) {
        if (options.json) process.stdout.write(`${printableJson({ ...summary, dryRun: true, state: 'planned', written: [], remaining: [] }, 2)}\n`);
        else say('Dry run: nothing written.');
        return;
      }
      const drain: Drain = { state: 'draining', startedAt: resumed ? recorded.startedAt : new Date(started).toISOString(), until: new Date(started + deadlineMs).toISOString(), force, moves: [...plan.moves], left: [...plan.left] };
      await rewriteControl(client, hostId, (control, now) => ({ ...control, cordon: control.cordon ?? { reason: 'drain', at: now }, drain }));
      say(`${printable(hostId)} cordoned and draining (recorded in its host control: \`hostwright hosts\` shows it; \`hosts uncordon\` ends it).`);

      const correlationID = client.newCorrelationID();
      const written: (WrittenHost & { project: string })[] = [];
      let held = false;
      let blocked = false;
      for (const project of projects) {
        const plans: HostPlan[] = drainTargets(plan, project, await client.desiredOf(project), { force, correlationID }).map((target) => ({ target, plan: undefined, error: undefined }));
        if (!plans.some((p) => p.target.changed)) continue;
        say(`project ${printable(project)}:`);
        const phases = await readPhases(client, project, plans);
        if (options.detach) {
          // Phase 1 only: the receiving hosts start the replacements; a later run writes the drained host once they are healthy.
          const first = await writeTargets(client, phases.first.map((target) => ({ target, plan: undefined, error: undefined })));
          if (first.length > 0) say(`  ${writtenLine(first.map((w) => ({ hostId: w.hostId, revision: w.document.revision })), correlationID)}`);
          written.push(...first.map((w) => ({ ...w, project })));
          continue;
        }
        const remainingMs = Math.max(1_000, started + deadlineMs - Date.now());
        const result = await writeFleetChange(client, project, plans, phases, { timeoutMs: remainingMs, correlationID, onProgress: (progress) => say(moveProgressLine(progress).split('\n').map((l) => `  ${l}`).join('\n')) });
        written.push(...result.written.map((w) => ({ ...w, project })));
        held ||= result.held.length > 0;
        blocked ||= result.blocked;
      }

      const remainingOf = async () => {
        const documents = await client.currentDesired(projects.map((project) => ({ hostId, project })));
        return remainingOnHost(plan, new Map(documents.map((document): [string, HostDesired] => [document.project, document])), force);
      };
      if (options.detach) {
        say(`Detached: the receiving hosts start the replacements; run \`hostwright hosts drain ${printable(hostId)}\` to take the instances off ${printable(hostId)} once they are healthy.`);
        if (options.json) process.stdout.write(`${printableJson({ ...summary, state: 'draining', written: writtenJson(written), remaining: await remainingOf() }, 2)}\n`);
        return;
      }
      let finished = !held;
      if (finished) {
        // Drained once the host has stopped what the drain took off it, within what is left of the deadline.
        const leaving = written.filter((w) => w.hostId === hostId);
        const waitMs = Math.max(1_000, started + deadlineMs - Date.now());
        const final = leaving.length === 0 ? new Map() : await waitForHosts(client, leaving, waitMs, (id, state, detail) => say(hostProgressLine(id, state, detail)), () => undefined);
        finished = [...final.values()].every((state) => state === 'converged');
      }
      const remaining = finished ? [] : await remainingOf();
      if (finished) {
        await rewriteControl(client, hostId, (control, now) => ({ ...control, drain: { ...drain, state: 'drained', drainedAt: now } }));
        say(`${printable(hostId)} drained${plan.left.length > 0 && !force ? `; left running there: ${plan.left.map((entry) => `${printable(entry.project)}/${printable(entry.service)}`).join(', ')}` : ''}. It stays cordoned: \`hostwright hosts uncordon ${printable(hostId)}\` lets placement use it again.`);
      } else {
        say(remaining.length > 0 ? remainingLine(hostId, remaining) : `${printable(hostId)} has not stopped every instance the drain took off it yet: run \`hostwright hosts drain ${printable(hostId)}\` again to wait for it.`);
        process.exitCode = blocked ? EXIT.blocked : EXIT.error;
      }
      if (options.json) process.stdout.write(`${printableJson({ ...summary, state: finished ? 'drained' : 'draining', written: writtenJson(written), remaining }, 2)}\n`);
    },
    { keyFile: options.signingKey },
  );
}

function writtenJson(written: readonly (WrittenHost & { readonly project: string })[]): { hostId: string; project: string; revision: number }[] {
  return written.map((w) => ({ hostId: w.hostId, project: w.project, revision: w.document.revision }));
}
