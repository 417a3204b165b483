import { applyFleet, StalePlanError, type ApplyProgress, type ApplySource } from '../../../operations/apply-fleet.js';
import { readSavedPlan } from '../../../fleet-apply.js';
import { withFleet } from '../../../fleet-session.js';
import { allowedUnregistered } from '../../../known-hosts.js';
import { EXIT } from '../../exit-codes.js';
import type { FleetTarget } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { readWorkload } from '../../workload.js';
import { PullProgressLines } from '../../render/pull-view.js';
import { applyProgressLine, applySummaryLine, stalePlanMessage } from '../../render/apply-view.js';
import type { ApplyOptions } from './options.js';
import { printableJson } from '../../render/printable.js';

/** `apply` in fleet mode: parses the options, runs coordinator/operations/apply-fleet.ts, and prints its progress and result. */
export async function applyToFleet(target: FleetTarget, planFile: string | undefined, options: ApplyOptions): Promise<void> {
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  const source: ApplySource = planFile
    ? { kind: 'saved', plan: await readSavedPlan(planFile) }
    : { kind: 'fleet', fleet: (await readWorkload(options)).fleet, pruneVolumes: options.pruneVolumes === true, allowUnregistered: allowedUnregistered(options.allowUnregistered) };
  const say = (line: string) => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  const pulls = new PullProgressLines(say);
  const show = (progress: ApplyProgress) => {
    if (progress.type === 'pulls') pulls.show(progress.hostId, progress.pulls);
    else say(applyProgressLine(progress));
  };
  await withFleet(target, async (client) => {
    const result = await applyFleet(client, { source, timeoutMs, wait: options.wait === true }, show).catch((error: unknown) => {
      if (!(error instanceof StalePlanError) || planFile === undefined) throw error;
      process.stderr.write(stalePlanMessage(error.reasons, planFile));
      process.exitCode = EXIT.error;
      return undefined;
    });
    if (result === undefined) return;
    if (result.waited.length > 0) say(`\n${applySummaryLine(result.waited.map((host) => host.state))}`);
    if (options.json) process.stdout.write(`${printableJson(result.json, 2)}\n`);
    if (result.outcome !== 'ok') process.exitCode = result.outcome === 'blocked' ? EXIT.blocked : EXIT.error;
  }, { keyFile: options.signingKey, as: options.as });
}
