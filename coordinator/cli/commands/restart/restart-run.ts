import { InvalidInputError } from '../../../../shared/errors.js';
import { nameSchema } from '../../../../shared/fleet-spec.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { restartTargets } from '../../../restart.js';
import { EXIT } from '../../exit-codes.js';
import { writeTargets } from '../../../fleet-apply.js';
import { collectPlans } from '../../../fleet-plan.js';
import { renderFleetPlan } from '../../render/plan-view.js';
import { withFleet } from '../../../fleet-session.js';
import { modeOf } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { projectOf } from '../../project-option.js';
import { hostProgressLine, writtenLine } from '../../render/apply-view.js';
import { printable, printableJson } from '../../render/printable.js';
import { waitForHosts } from '../../../fleet-wait.js';
import type { RestartOptions } from './options.js';

/**
 * `restart SERVICE…`: raises the services' restart generation in the desired state of every host
 * that runs them (compare-and-set, signed); each agent restarts their instances in place, one at a
 * time. Shows each host's plan first; with --wait, waits until every host converged.
 */
export async function runRestart(services: readonly string[], options: RestartOptions): Promise<void> {
  const mode = modeOf(options, 'restart');
  if (mode.kind !== 'fleet') return;
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  for (const service of services) if (!nameSchema.safeParse(service).success) throw new InvalidInputError(`restart ${service}: not a service name (lowercase letters, digits, "-" or "_", at most 63)`);
  const project = (await projectOf('restart', options, true)) as string;
  const say = (line: string) => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  await withFleet(
    mode,
    async (client) => {
      client.requireSigner('restart');
      if (options.host !== undefined) requireKnownHost('--host', options.host, await client.knownHostIds());
      const current = await client.desiredOf(project);
      if (current.size === 0) throw new InvalidInputError(`restart: no host holds desired state of project ${project} (\`hostwright status\` lists the projects hosts run)`);
      const correlationID = client.newCorrelationID();
      const targets = restartTargets(project, current, [...new Set(services)], { hostId: options.host, correlationID, nowSeconds: Date.now() / 1000 });
      const plans = await collectPlans(client, targets, correlationID, Math.min(timeoutMs, 5_000));
      say(renderFleetPlan(project, plans));
      const written = await writeTargets(client, plans);
      say(writtenLine(written.map((w) => ({ hostId: w.hostId, revision: w.document.revision })), correlationID));
      const summary = { schema: 'hostwright.restart/v1', project, services: [...new Set(services)].sort(), correlationID, written: written.map((w) => ({ hostId: w.hostId, revision: w.document.revision, restarts: w.document.restarts ?? {} })) };
      if (!options.wait) {
        if (options.json) process.stdout.write(`${printableJson(summary, 2)}\n`);
        else say(`Each host restarts them one instance at a time; \`hostwright status\` and \`hostwright events --type restarted\` follow it (\`restart --wait\` waits for it).`);
        return;
      }
      const final = await waitForHosts(client, written, timeoutMs, (hostId, state, detail) => say(hostProgressLine(hostId, state, detail)), () => undefined);
      if (options.json) process.stdout.write(`${printableJson({ ...summary, hosts: [...final].map(([hostId, state]) => ({ hostId, state })) }, 2)}\n`);
      const states = [...final.values()];
      if (states.every((state) => state === 'converged')) {
        say(`Restarted ${summary.services.map((service) => printable(service)).join(', ')} on ${states.length} host(s).`);
        return;
      }
      process.exitCode = states.some((state) => state === 'blocked') && states.every((state) => state === 'converged' || state === 'blocked') ? EXIT.blocked : EXIT.error;
    },
    { keyFile: options.signingKey },
  );
}
