import { retryUnanswered } from '../../../../shared/nats-connection.js';
import { InvalidInputError } from '../../../../shared/errors.js';
import type { HostDesired } from '../../../../shared/host-desired.js';
import { desiredKey } from '../../../../shared/subjects.js';
import { asWrittenOver } from '../../../placement.js';
import type { FleetClient } from '../../../fleet-client.js';
import { driveRollout, RolloutStore, writeIdempotently } from '../../../rollout/rollout-driver.js';
import { FINISHED_STATUSES, maskedRollout } from '../../../rollout/rollout-state.js';
import { rollbackDocument, startRollback } from '../../../rollout/rollout-step.js';
import { EXIT } from '../../exit-codes.js';
import { collectPlans } from '../../../fleet-plan.js';
import { renderFleetPlan } from '../../render/plan-view.js';
import { withFleet } from '../../../fleet-session.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { latestOf, parseRevision, revisionOf } from '../../../desired-history.js';
import { modeOf } from '../../options.js';
import { renderRollout, rolloutProgressLines } from '../../render/rollout-view.js';
import type { RollbackOptions } from './options.js';
import { printableJson } from '../../render/printable.js';

/** `rollback`: every host a rollout touched, or one host's project, back to its previous desired content. */
export async function runRollback(options: RollbackOptions): Promise<void> {
  const mode = modeOf(options, 'rollback');
  if (mode.kind !== 'fleet') return;
  if (options.to !== undefined && (options.rollout !== undefined || options.project === undefined)) throw new InvalidInputError('rollback --to REV: pass --project NAME (and --host ID for one host), not --rollout');
  if (!options.rollout && !options.to && !(options.host && options.project)) throw new InvalidInputError('rollback: pass --rollout ID, --host ID --project NAME, or --project NAME --to REV');
  const to = options.to === undefined ? undefined : parseRevision(options.to, '--to');
  await withFleet(
    mode,
    (client) => {
      if (!options.dryRun) client.requireSigner('rollback');
      if (to !== undefined) return rollbackTo(client, options.project as string, to, options);
      return options.rollout ? rollbackRollout(client, options.rollout, options) : rollbackHost(client, options.host as string, options.project as string, options);
    },
    { keyFile: options.signingKey, as: options.as },
  );
}

async function rollbackRollout(client: FleetClient, id: string, options: RollbackOptions): Promise<void> {
  const store = new RolloutStore(client);
  const found = await store.get(id);
  if (!found) throw new InvalidInputError(`no rollout ${id} (see \`hostwright rollout list\`)`);
  const touched = found.state.hosts.filter((host) => host.state !== 'pending' && host.state !== 'skipped' && host.state !== 'rolled-back');
  if (touched.length === 0) throw new InvalidInputError(`rollout ${id} touched no host that is not already back`);
  await showPlans(client, touched.map((host) => rollbackDocument(host)), found.state.correlationID);
  if (options.dryRun) return;
  // Each host goes straight back to what it ran before the rollout: no waves, no canary.
  const started = await store.setStatus(id, (state) => ({ ...startRollback({ ...state, status: state.status === 'aborted' ? 'paused' : state.status, reason: 'rolled back by an operator' }, new Date()).state }));
  process.stdout.write(`rolling back ${touched.length} host(s) of rollout ${id}\n`);
  const final = FINISHED_STATUSES.includes(started.status) ? started : await driveRollout(client, store, id, { pollMs: 500, onStep: (next, previous) => rolloutProgressLines(next, previous).forEach((line) => process.stdout.write(`${line}\n`)) });
  process.stdout.write(options.json ? `${printableJson(maskedRollout(final))}\n` : `\n${renderRollout(final)}\n`);
  if (final.status !== 'rolled-back') process.exitCode = EXIT.error;
}

async function rollbackHost(client: FleetClient, hostId: string, project: string, options: RollbackOptions): Promise<void> {
  requireKnownHost('--host', hostId, await client.knownHostIds());
  const key = desiredKey(hostId, project);
  const documents = await retryUnanswered(async () => {
    const found: HostDesired[] = [];
    for await (const entry of await client.connection.desired.history({ key })) {
      if (entry.operation !== 'PUT') continue;
      try {
        found.push(client.openDesired(entry.value, `desired ${key}`));
      } catch {
        // A damaged value in the history is never a rollback target.
      }
    }
    return found;
  });
  const current = documents.at(-1);
  const previous = [...documents].reverse().find((document) => current && document.revision < current.revision && JSON.stringify(document.services) !== JSON.stringify(current.services));
  if (!current || !previous) throw new InvalidInputError(`${key} has no earlier revision with other content in its history`);
  process.stdout.write(`${key}: r${current.revision} -> content of r${previous.revision}, written as r${current.revision + 1}\n`);
  await showPlans(client, [previous], client.newCorrelationID());
  if (options.dryRun) return;
  const revision = await writeIdempotently(client, previous, client.newCorrelationID());
  process.stdout.write(`wrote ${key} r${revision}; follow it with \`hostwright status --host ${hostId} --watch\`\n`);
}

/**
 * `rollback --to REV`: each host (one with --host) that keeps revision REV of the project gets a new
 * revision with its content, signed now by this coordinator (a fresh signing time and author, so the
 * agents' replay window takes it). A host already running that content is left as it is.
 */
async function rollbackTo(client: FleetClient, project: string, revision: number, options: RollbackOptions): Promise<void> {
  if (options.host !== undefined) requireKnownHost('--host', options.host, await client.knownHostIds());
  const histories = await client.desiredHistory(project, options.host);
  if (histories.size === 0) throw new InvalidInputError(`no desired state of project ${project}${options.host === undefined ? '' : ` on host ${options.host}`} (see \`hostwright status\`)`);
  // One host: its revision must be there. Every host: those that keep it (revisions are per host).
  const kept = [...histories].filter(([, history]) => options.host !== undefined || history.some((stored) => stored.document?.revision === revision)).map(([hostId, history]) => revisionOf(hostId, project, history, revision));
  if (kept.length === 0) throw new InvalidInputError(`no host keeps revision ${revision} of project ${project} (see \`hostwright history --project ${project}\`)`);
  const correlationID = client.newCorrelationID();
  // --json prints only the result; otherwise what goes where, and each host's plan, first.
  if (!options.json) {
    for (const [hostId, history] of histories) {
      const current = latestOf(history);
      process.stdout.write(kept.some((document) => document.hostId === hostId) ? `${hostId}.${project}: r${current?.revision ?? 0} -> content of r${revision}\n` : `${hostId}.${project}: keeps no revision ${revision}; left as it is\n`);
    }
    await showPlans(client, kept, correlationID);
  }
  if (options.dryRun) return;
  const written = await Promise.all(kept.map(async (document) => ({ hostId: document.hostId, revision: await writeIdempotently(client, document, correlationID) })));
  if (options.json) {
    process.stdout.write(`${printableJson({ schema: 'hostwright.rollback/v1', project, to: revision, correlationID, hosts: written })}\n`);
    return;
  }
  for (const { hostId, revision: now } of written) process.stdout.write(`wrote ${hostId}.${project} r${now}\n`);
  process.stdout.write('follow it with `hostwright status --watch`\n');
}

/** Each host's plan, headed by the revision the rollback will write (the next one), not the old revision whose content it restores. */
async function showPlans(client: FleetClient, documents: readonly HostDesired[], correlationID: string): Promise<void> {
  const project = documents[0]?.project ?? '';
  const stored = await client.desiredOf(project);
  const targets = documents.map((document) => {
    const current = stored.get(document.hostId);
    return { hostId: document.hostId, ...asWrittenOver(current?.document, document), kvRevision: current?.kvRevision ?? 0 };
  });
  const plans = await collectPlans(client, targets, correlationID, 5_000);
  process.stdout.write(`${renderFleetPlan(project, plans)}\n\n`);
}
