import { InvalidInputError } from '../../../../shared/errors.js';
import { EXIT } from '../../exit-codes.js';
import { allPulled, prePullFleet } from '../../../fleet-pull.js';
import { targetsFor, withFleet } from '../../../fleet-session.js';
import { requireKnownHost } from '../../../known-hosts.js';
import type { FleetTarget } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { printableJson } from '../../render/printable.js';
import { PullProgressLines, renderPullOutcomes } from '../../render/pull-view.js';
import { readWorkload } from '../../workload.js';
import type { PullOptions } from './options.js';

/**
 * `pull -f fleet.yaml [--host H]`: each host the file places services on pulls what they need and
 * it lacks, with progress per host. Exit 0 when every host pulled everything it lacked, 3 when a
 * host's gates would block the revision (it pulled nothing for it), 1 on any other failure.
 */
export async function pullOnFleet(target: FleetTarget, options: PullOptions): Promise<void> {
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  const only = new Set((options.host ?? []).flatMap((host) => host.split(',')).filter((host) => host !== ''));
  const { fleet } = await readWorkload(options);
  const say = (line: string) => process.stdout.write(options.json ? `${printableJson({ progress: line })}\n` : `${line}\n`);
  await withFleet(target, async (client) => {
    const correlationID = client.newCorrelationID();
    if (only.size > 0) {
      const known = await client.knownHostIds();
      for (const hostId of only) requireKnownHost('--host', hostId, known);
    }
    const { project, targets } = await targetsFor(client, fleet, correlationID);
    // No agent answers for a host that never registered: it pulls when its agent applies the revision.
    const placed = targets.filter((host) => !host.unregistered && (only.size === 0 || only.has(host.hostId)));
    const unplaced = [...only].filter((hostId) => !targets.some((host) => host.hostId === hostId));
    if (unplaced.length > 0) throw new InvalidInputError(`--host ${unplaced.join(', ')}: ${project} places no service there (placed on: ${targets.map((host) => host.hostId).join(', ') || 'no host'})`);
    if (placed.length === 0) throw new InvalidInputError(`${project} places no service on any registered host: nothing to pull`);
    const lines = new PullProgressLines(say);
    if (!options.json) say(`Pulling the images of ${project} on ${placed.length} host(s) (correlation ${correlationID})`);
    const outcomes = await prePullFleet(client, placed.map((host) => host.document), correlationID, timeoutMs, (hostId, pulls) => lines.show(hostId, pulls));
    if (options.json) {
      process.stdout.write(`${printableJson({ schema: 'hostwright.pull/v1', correlationID, project, hosts: outcomes.map(({ hostId, reply }) => ({ answered: reply !== undefined, ...(reply ?? {}), hostId })) })}\n`);
    } else {
      process.stdout.write(`\n${renderPullOutcomes(outcomes)}\n`);
    }
    // A host that could not pull is an error; one whose gates would block the revision pulled nothing for it.
    if (!allPulled(outcomes)) process.exitCode = outcomes.some(({ reply }) => reply?.ok === true && reply.blocked.length > 0) && outcomes.every(({ reply }) => reply?.ok === true && reply.pulled.every((pulled) => pulled.outcome === 'pulled')) ? EXIT.blocked : EXIT.error;
  }, { keyFile: options.signingKey });
}
