import { InvalidInputError } from '../../../../shared/errors.js';
import { removalTargets } from '../../../project-removal.js';
import { EXIT } from '../../exit-codes.js';
import { writeTargets, type HostProgress } from '../../../fleet-apply.js';
import { withFleet } from '../../../fleet-session.js';
import { modeOf } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { projectOf } from '../../project-option.js';
import { hostProgressLine } from '../../render/apply-view.js';
import { printable, printableJson } from '../../render/printable.js';
import { waitForHosts } from '../../../fleet-wait.js';
import type { DownOptions } from './options.js';

/**
 * `down`: writes every host that holds desired state of the project an empty, signed document
 * (allowEmpty), with compare-and-set; with --wait, waits until each host reports it removed.
 */
export async function runDown(options: DownOptions): Promise<void> {
  const mode = modeOf(options, 'down');
  if (mode.kind !== 'fleet') return;
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  const project = (await projectOf('down', options, true)) as string;
  const say = (line: string) => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  await withFleet(
    mode,
    async (client) => {
      client.requireSigner('down');
      const existing = await client.desiredOf(project);
      if (existing.size === 0) throw new InvalidInputError(`down: no host holds desired state of project ${project} (nothing to remove; \`hostwright status\` lists the projects hosts run)`);
      const correlationID = client.newCorrelationID();
      const targets = removalTargets(project, existing, correlationID);
      const written = await writeTargets(client, targets.map((target) => ({ target, plan: undefined, error: undefined })));
      for (const target of targets) say(target.changed ? `${printable(target.hostId)}: desired r${target.document.revision}: remove project ${printable(project)}` : `${printable(target.hostId)}: already told to remove ${printable(project)} (r${target.document.revision})`);
      const summary = { schema: 'hostwright.down/v1', project, correlationID, written: written.map((host) => ({ hostId: host.hostId, revision: host.document.revision })) };
      if (!options.wait) {
        if (options.json) process.stdout.write(`${printableJson(summary, 2)}\n`);
        else say(`Written. The project leaves \`hostwright status\` once each host has removed it (\`down --wait\` waits for that).`);
        return;
      }
      // Hosts already told before are waited for too (`down --wait` again waits for a removal under
      // way); a host no agent registered as (written with --allow-unregistered) has nothing to remove.
      const registered = new Set((await client.hostReports()).map((report) => report.hostId));
      for (const target of targets) if (!registered.has(target.hostId)) say(`${printable(target.hostId)}: NOT REGISTERED: no agent has registered as this host; the removal (r${target.document.revision}) is applied if one does, and not waited for`);
      const awaited = targets.filter((target) => registered.has(target.hostId)).map((target) => ({ hostId: target.hostId, document: target.document }));
      const final = await waitForHosts(client, awaited, timeoutMs, (hostId, state, detail) => say(hostProgressLine(hostId, state === 'converged' ? 'removed' : state, state === 'converged' ? `project ${project} is gone from it` : detail)), () => undefined);
      if (options.json) process.stdout.write(`${printableJson({ ...summary, hosts: [...final].map(([hostId, state]) => ({ hostId, state: state === 'converged' ? 'removed' : state })) }, 2)}\n`);
      const states = [...final.values()];
      if (states.every((state) => state === 'converged')) {
        say(`Project ${printable(project)} removed from ${states.length} host(s).`);
        return;
      }
      process.exitCode = states.some((state: HostProgress) => state === 'blocked') && states.every((state) => state === 'converged' || state === 'blocked') ? EXIT.blocked : EXIT.error;
    },
    { keyFile: options.signingKey, as: options.as },
  );
}
