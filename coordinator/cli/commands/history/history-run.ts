import { InvalidInputError } from '../../../../shared/errors.js';
import { revisionRows, type RevisionRow } from '../../../desired-history.js';
import type { FleetClient } from '../../../fleet-client.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { RolloutStore } from '../../../rollout/rollout-driver.js';
import { withFleet } from '../../../fleet-session.js';
import { modeOf } from '../../options.js';
import { projectOf } from '../../project-option.js';
import { renderHistory } from '../../render/history-view.js';
import { printableJson } from '../../render/printable.js';
import type { HistoryOptions } from './options.js';

/** `history`: every revision the desired bucket keeps of a project, per host, oldest first. */
export async function runHistory(options: HistoryOptions): Promise<void> {
  const mode = modeOf(options, 'history');
  if (mode.kind !== 'fleet') return;
  const project = (await projectOf('history', options, true)) as string;
  await withFleet(mode, async (client) => {
    const rows = await historyRows(client, project, options.host);
    process.stdout.write(options.json ? `${printableJson({ schema: 'hostwright.history/v1', project, ...(options.host === undefined ? {} : { hostId: options.host }), revisions: rows }, 2)}\n` : `${renderHistory(project, rows)}\n`);
  });
}

/** The rows of every host's history of the project (or one host's), hosts in order, each oldest first. */
export async function historyRows(client: FleetClient, project: string, hostId: string | undefined): Promise<RevisionRow[]> {
  if (hostId !== undefined) requireKnownHost('--host', hostId, await client.knownHostIds());
  const [histories, rollouts] = await Promise.all([client.desiredHistory(project, hostId), new RolloutStore(client).list()]);
  if (histories.size === 0) throw new InvalidInputError(`no desired state of project ${project}${hostId === undefined ? '' : ` on host ${hostId}`} (see \`hostwright status\`)`);
  const byCorrelation = new Map(rollouts.filter((rollout) => rollout.project === project).map((rollout) => [rollout.correlationID, rollout.id]));
  return [...histories].flatMap(([host, history]) => revisionRows(host, project, history, byCorrelation));
}
