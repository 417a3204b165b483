import { randomUUID } from 'node:crypto';
import { planReport } from '../../../../agent/plan-report.js';
import { EXIT } from '../../exit-codes.js';
import { desiredFromFleet, openLocalHost } from '../../local-host.js';
import { usePrivateUmask } from '../../private-umask.js';
import { actionProgressLine } from '../../render/apply-view.js';
import { renderPlan } from '../../render/plan-view.js';
import { statusJson } from '../../render/status-view.js';
import type { ApplyOptions } from './options.js';
import { readWorkload } from '../../workload.js';
import { printableJson } from '../../render/printable.js';

/** `apply --local`: one explicit reconcile cycle of this machine against the fleet file. */
export async function applyLocal(options: ApplyOptions): Promise<void> {
  // Opens the journal: what LevelDB creates later is 0600 too (process-wide, so set here and not in Journal).
  usePrivateUmask();
  const { fleet } = await readWorkload(options);
  const file = (options.file ?? []).join(' -f ');
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
    const report = await host.reconciler.runCycle({ explicit: true, correlationID }, { onProgress: (progress) => say(actionProgressLine(progress)) });
    if (options.json) {
      process.stdout.write(`${printableJson({ schema: 'hostwright.apply/v1', correlationID, plan: planReport(report), results: report.results.map((r) => ({ actionId: r.action.id, kind: r.action.kind, outcome: r.outcome, message: r.message, containerId: r.containerId ?? null, durationMs: r.durationMs })), status: report.status ? statusJson(report.status) : null }, 2)}\n`);
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
