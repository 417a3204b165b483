import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { describeAction } from '../../../agent/core/actions.js';
import { planReport } from '../../../agent/plan-report.js';
import type { CycleProgress } from '../../../agent/reconciler.js';
import { InvalidInputError } from '../../../shared/errors.js';
import { unmaskServices } from '../../../shared/secret-env.js';
import { loadFleetFile } from '../../fleet-file.js';
import type { FleetClient } from '../../fleet-client.js';
import { EXIT } from '../exit-codes.js';
import { progressOf, readSavedPlan, stalePlanReasons, writeTargets, type HostProgress, type WrittenHost } from '../fleet/fleet-apply.js';
import { collectPlans, type HostPlan } from '../fleet/fleet-plan.js';
import { targetsFor, withFleet } from '../fleet/fleet-session.js';
import { desiredFromFleet, openLocalHost, type LocalOptions } from '../local-host.js';
import { modeOf, withLocalOptions } from '../options.js';
import { parseTimeout } from '../parse.js';
import { renderPlan } from '../render/plan-view.js';
import { statusJson } from '../render/status-view.js';

interface ApplyOptions extends LocalOptions {
  readonly file?: string;
  readonly nats?: string;
  readonly json?: boolean;
  readonly allowEmpty?: boolean;
  readonly wait?: boolean;
  readonly timeout: string;
  readonly signingKey?: string;
}

export function registerApply(program: Command): void {
  withLocalOptions(program.command('apply'))
    .description('apply a fleet file (or exactly a saved plan): intent is persisted before each change and the result right after')
    .argument('[plan.json]', 'fleet mode: a plan saved with `plan --out`; refused if any host moved since')
    .option('-f, --file <fleet.yaml>', 'the fleet file')
    .option('--allow-empty', 'local mode: permit a plan that removes every running instance of the project')
    .option('--parallel <n>', 'local mode: instances changed at once (default 4)')
    .option('--wait', 'fleet mode: wait until every host reports converged (or failed), with progress')
    .option('--timeout <duration>', 'fleet mode: how long to wait for answers and convergence', '2m')
    .option('--json', 'print the result as JSON instead of progress lines')
    .option('--signing-key <file>', 'fleet mode: the coordinator\'s signing seed (coordinator-signing.nk); every desired document is signed with it (default: $HOSTWRIGHT_SIGNING_KEY)')
    .action(async (planFile: string | undefined, options: ApplyOptions) => {
      const mode = modeOf(options, 'apply');
      if (!options.file && !planFile) throw new InvalidInputError('apply: pass -f fleet.yaml, or a saved plan file');
      if (options.file && planFile) throw new InvalidInputError('apply: pass either -f fleet.yaml or a saved plan file, not both');
      if (mode.kind === 'local') {
        if (!options.file) throw new InvalidInputError('apply: local mode takes -f fleet.yaml (saved plans are for fleet mode)');
        return applyLocal(options.file, options);
      }
      const timeoutMs = parseTimeout(options.timeout, '--timeout');
      await withFleet(mode, (client) => applyFleet(client, planFile, options, timeoutMs), options.signingKey);
    });
}

async function applyFleet(client: FleetClient, planFile: string | undefined, options: ApplyOptions, timeoutMs: number): Promise<void> {
  client.requireSigner('apply');
  const say = (line: string) => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  const answerMs = Math.min(timeoutMs, 5_000);
  let plans: HostPlan[];
  let correlationID: string;
  if (planFile) {
    const saved = await readSavedPlan(planFile);
    const stale = await stalePlanReasons(client, saved, answerMs);
    if (stale.length > 0) {
      process.stderr.write(`error: the saved plan is stale; nothing was applied:\n${stale.map((reason) => `  ${reason}`).join('\n')}\nMake a new plan with \`hostwright plan -f <fleet.yaml> --out ${planFile}\`.\n`);
      process.exitCode = EXIT.error;
      return;
    }
    correlationID = saved.correlationID;
    const current = await client.desiredOf(saved.project);
    plans = saved.hosts.map((host) => {
      const { document, missing } = unmaskServices(host.document, current.get(host.hostId)?.document);
      if (missing.length > 0) throw new InvalidInputError(`${host.hostId}: the saved plan holds ${missing.join(', ')} only as a digest (plan files never store secret values) and the current desired state has no such value; apply the fleet file itself: \`hostwright apply -f fleet.yaml\``);
      return { target: { hostId: host.hostId, document, kvRevision: host.kvRevision, changed: host.changed }, plan: host.plan, error: host.error };
    });
  } else {
    correlationID = client.newCorrelationID();
    const { targets } = await targetsFor(client, options.file as string, correlationID);
    plans = await collectPlans(client, targets, correlationID, answerMs);
  }
  for (const { target, plan, error } of plans) {
    if (error) say(`${target.hostId}: ${error}`);
    else if (plan && plan.blocked.length > 0) say(`${target.hostId}: would block: ${plan.blocked.map((b) => `[${b.gate}] ${b.message}`).join('; ')}`);
  }
  const written = await writeTargets(client, plans);
  say(written.length === 0 ? 'Already converged: nothing to do.' : `Wrote desired state for ${written.length} host(s): ${written.map((w) => `${w.hostId} r${w.document.revision}`).join(', ')} (correlation ${correlationID})`);
  if (!options.wait || written.length === 0) {
    if (options.json) process.stdout.write(`${JSON.stringify({ schema: 'hostwright.fleetapply/v1', correlationID, written: written.map((w) => ({ hostId: w.hostId, revision: w.document.revision })) }, null, 2)}\n`);
    return;
  }
  const final = await waitForHosts(client, written, timeoutMs, (hostId, state, detail) => say(`  ${hostId.padEnd(12)} ${state.padEnd(10)} ${detail}`));
  const counts = new Map<HostProgress, number>();
  for (const state of final.values()) counts.set(state, (counts.get(state) ?? 0) + 1);
  say(`\n${[...counts.entries()].map(([state, count]) => `${count} ${state}`).join(', ')}.`);
  if (options.json) process.stdout.write(`${JSON.stringify({ schema: 'hostwright.fleetapply/v1', correlationID, hosts: [...final.entries()].map(([hostId, state]) => ({ hostId, state })) }, null, 2)}\n`);
  const states = [...final.values()];
  if (states.every((state) => state === 'converged')) return;
  process.exitCode = states.some((state) => state === 'blocked') && states.every((state) => state === 'converged' || state === 'blocked') ? EXIT.blocked : EXIT.error;
}

/** Polls status until every host converged, failed or was blocked, or the timeout passes; reports each change. */
async function waitForHosts(client: FleetClient, written: readonly WrittenHost[], timeoutMs: number, report: (hostId: string, state: HostProgress, detail: string) => void): Promise<Map<string, HostProgress>> {
  const deadline = Date.now() + timeoutMs;
  const states = new Map<string, HostProgress>();
  const done = (state: HostProgress | undefined) => state === 'converged' || state === 'failed' || state === 'blocked';
  for (;;) {
    const [statuses, hosts] = await Promise.all([client.statuses(), client.hosts()]);
    for (const host of written) {
      if (done(states.get(host.hostId))) continue;
      const progress = progressOf(host, statuses.find((s) => s.hostId === host.hostId), hosts.find((h) => h.hostId === host.hostId)?.heartbeatAt);
      if (states.get(host.hostId) !== progress.state) report(host.hostId, progress.state, progress.detail);
      states.set(host.hostId, progress.state);
    }
    if (written.every((host) => done(states.get(host.hostId)))) return states;
    if (Date.now() > deadline) {
      for (const host of written) {
        if (!done(states.get(host.hostId))) {
          report(host.hostId, 'timed-out', `still ${states.get(host.hostId) ?? 'waiting'} after ${Math.round(timeoutMs / 1000)}s`);
          states.set(host.hostId, 'timed-out');
        }
      }
      return states;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function applyLocal(file: string, options: ApplyOptions): Promise<void> {
  const fleet = await loadFleetFile(file);
  const host = await openLocalHost(options);
  try {
    const correlationID = randomUUID();
    const { document, changed, previous } = await desiredFromFleet(host, fleet, { ...options, correlationID });
    // Each journal write is an fsync: an unchanged apply (the common re-run) writes nothing.
    if (changed) await host.journal.putDesired(document);
    // An explicit apply retries a revision the agent had given up on.
    if ((await host.journal.rejectedRevisions()).has(document.project)) await host.journal.setRejected({ project: document.project });
    const say = (line: string) => {
      if (!options.json && line !== '') process.stdout.write(`${line}\n`);
    };
    say(changed ? `${fleet.project}: desired revision ${document.revision}${previous ? ` (was ${previous.revision})` : ''}` : `${fleet.project}: desired revision ${document.revision} (unchanged)`);
    const report = await host.reconciler.runCycle({ explicit: true, correlationID, onProgress: (progress) => say(progressLine(progress)) });
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ schema: 'hostwright.apply/v1', correlationID, plan: planReport(report), results: report.results.map((r) => ({ actionId: r.action.id, kind: r.action.kind, outcome: r.outcome, message: r.message, containerId: r.containerId ?? null, durationMs: r.durationMs })), status: report.status ? statusJson(report.status) : null }, null, 2)}\n`);
    } else if (report.blocks.length > 0) {
      say(`\n${renderPlan(planReport(report))}`);
    }
    const done = report.results.filter((r) => r.outcome === 'done').length;
    const already = report.results.filter((r) => r.outcome === 'already').length;
    if (report.failed) {
      say(`\nApply stopped at the first failed action; the host was left as it is. Run \`hostwright plan -f ${file} --local\` to see the way forward.`);
      process.exitCode = EXIT.error;
    } else if (report.blocks.length > 0) {
      say('\nApply blocked by a safety gate: nothing of the blocked project was changed.');
      process.exitCode = EXIT.blocked;
    } else if (report.runnable.length === 0) {
      say('Already converged: nothing to do.');
    } else {
      say(`\nApplied: ${done} changed, ${already} already as desired. Converged: ${report.status?.projects.every((p) => p.converged) ? 'yes' : 'no'}.`);
    }
  } finally {
    await host.close();
  }
}

function progressLine(progress: CycleProgress): string {
  switch (progress.type) {
    case 'planned':
      return progress.runnable.length === 0 ? '' : `Plan: ${progress.runnable.length} action(s)`;
    case 'action-started':
      return `  ${progress.action.id.padEnd(4)} ${describeAction(progress.action)} ...`;
    case 'action-finished': {
      const { report } = progress;
      const mark = report.outcome === 'failed' ? 'FAILED' : report.outcome === 'already' ? 'already' : 'done';
      return `  ${report.action.id.padEnd(4)} ${mark}: ${report.message} (${report.durationMs} ms)`;
    }
  }
}
