import { randomUUID } from 'node:crypto';
import { errorMessage, InvalidInputError } from '../../../../shared/errors.js';
import type { HostDesired } from '../../../../shared/host-desired.js';
import type { FleetClient } from '../../../fleet-client.js';
import { driveRollout, RolloutStore } from '../../../rollout/rollout-driver.js';
import { FINISHED_STATUSES, maskedRollout, type RolloutOptions, type RolloutState } from '../../../rollout/rollout-state.js';
import { startRollout } from '../../../rollout/rollout-step.js';
import { changedRollout } from '../../../rollout/rollout-change.js';
import { EXIT } from '../../exit-codes.js';
import { targetsFor, withFleet } from '../../fleet/fleet-session.js';
import { allowedUnregistered } from '../../../known-hosts.js';
import { hasFile, modeOf } from '../../options.js';
import { readWorkload } from '../../workload.js';
import type { RolloutDefaults } from '../../../compose/compose-translate.js';
import { parseTimeout } from '../../parse.js';
import { printable, printableJson } from '../../render/printable.js';
import { renderRollout, renderRolloutList, renderRolloutStart, rolloutProgressLines } from '../../render/rollout-view.js';
import { allPulled, PullProgressLines, renderPullOutcomes } from '../../render/pull-view.js';
import { prePullFleet } from '../../fleet/fleet-pull.js';
import type { RolloutChange, RolloutCommandOptions } from './options.js';
import { sleep } from '../../../../shared/sleep.js';
import { phasesOf } from '../../fleet/fleet-moves.js';
import { rolloutMoveOrder } from '../../../move-phases.js';
import { updateOrderExceptions } from '../../../../shared/update-order.js';

const POLL_MS = 500;

/** `rollout -f fleet.yaml`: stores a new rollout of the fleet file and drives it. */
export async function startRolloutCommand(options: RolloutCommandOptions): Promise<void> {
  if (!hasFile(options)) throw new InvalidInputError('rollout: pass -f fleet.yaml or compose.yaml (or a subcommand: status, list, pause, resume, abort)');
  const mode = modeOf(options, 'rollout');
  if (mode.kind !== 'fleet') return;
  const workload = await readWorkload(options);
  const flags = withFileDefaults(options, workload.rollout);
  const parsed = parseRolloutOptions(flags);
  const prePullTimeoutMs = parseTimeout(options.prePullTimeout ?? '10m', '--pre-pull-timeout');
  await withFleet(mode, async (client) => {
    client.requireSigner('rollout');
    const store = new RolloutStore(client);
    const correlationID = randomUUID();
    const { project, targets } = await targetsFor(client, workload.fleet, correlationID, { allowUnregistered: allowedUnregistered(options.allowUnregistered) });
    const active = (await store.list()).find((r) => r.project === project && !FINISHED_STATUSES.includes(r.status));
    if (active) throw new InvalidInputError(`rollout ${active.id} of project ${project} is ${active.status}; \`hostwright rollout resume ${active.id}\` or \`hostwright rollout abort ${active.id}\` first`);
    const existing = await client.desiredOf(project);
    // A move goes make-before-break: its giving hosts in waves after its receiving ones (docs/rollout.md, "Moves").
    const phases = phasesOf(targets.map((target) => ({ target, plan: undefined, error: undefined })), existing, await client.statuses(), project);
    const after = rolloutMoveOrder(phases);
    const changed = targets.filter((t) => t.changed || phases.receiving.has(t.hostId));
    const maxFailures = flags.maxFailures.includes('.') ? Math.floor(Number(flags.maxFailures) * changed.length) : Number(flags.maxFailures);
    const state = startRollout({
      id: `${project}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomUUID().slice(0, 6)}`,
      project,
      correlationID,
      now: new Date(),
      options: { ...parsed, maxFailures },
      targets: changed.map((t) => ({ hostId: t.hostId, target: withOrder(t.document, parsed.order), previous: existing.get(t.hostId)?.document ?? null, ...(after.has(t.hostId) ? { after: after.get(t.hostId) } : {}) })),
    });
    // Before anything changes: a service asked to update start-first that will run stop-first.
    for (const exception of updateOrderExceptions(state.hosts.map((host) => host.target))) {
      const line = `${exception.message}: two instances cannot bind it at once, so its instances are replaced stop-first (a short gap per host)`;
      process.stdout.write(options.json ? `${printableJson({ progress: line, rollout: state.id, updateOrder: exception })}\n` : `${line}\n`);
    }
    if (options.prePull) {
      // As Kamal does: every host of the rollout has its images before the first one switches.
      const say = (line: string) => process.stdout.write(options.json ? `${printableJson({ progress: line, rollout: state.id })}\n` : `${line}\n`);
      say(`Pre-pulling the images of ${project} on ${changed.length} host(s)`);
      const outcomes = await prePullFleet(client, changed.map((t) => t.document), correlationID, prePullTimeoutMs, say);
      if (!allPulled(outcomes)) {
        process.stderr.write(`${renderPullOutcomes(outcomes)}\n\nrollout not started: the pre-pull did not succeed on every host; nothing was changed (\`hostwright pull -f …\` pulls again)\n`);
        process.exitCode = EXIT.error;
        return;
      }
      if (!options.json) say(renderPullOutcomes(outcomes));
    }
    await store.create(state);
    await follow(client, store, state, options);
  }, { keyFile: options.signingKey, as: options.as });
}

/** `rollout status [id]`: one rollout's state, once or until it finishes or pauses. */
export async function rolloutStatus(id: string | undefined, options: { nats?: string; watch?: boolean; json?: boolean }): Promise<void> {
  const mode = modeOf(options, 'rollout status');
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    const store = new RolloutStore(client);
    const state = id ? (await store.get(id))?.state : (await store.list()).at(-1);
    if (!state) throw new InvalidInputError(id ? `no rollout ${id} (see \`hostwright rollout list\`)` : 'no rollout yet');
    if (!options.watch) {
      process.stdout.write(options.json ? `${printableJson(maskedRollout(state), 2)}\n` : `${renderRollout(state)}\n`);
      return;
    }
    let last = state;
    process.stdout.write(options.json ? `${printableJson(maskedRollout(state))}\n` : `${renderRollout(state)}\n`);
    while (!FINISHED_STATUSES.includes(last.status) && last.status !== 'paused') {
      await sleep(POLL_MS);
      const current = (await store.get(last.id))?.state;
      if (!current) break;
      for (const line of rolloutProgressLines(current, last)) process.stdout.write(options.json ? `${printableJson({ progress: line, rollout: current.id })}\n` : `${line}\n`);
      last = current;
    }
    process.stdout.write(options.json ? `${printableJson(maskedRollout(last))}\n` : `\n${renderRollout(last)}\n`);
  });
}

/** `rollout list`. */
export async function listRollouts(options: { nats?: string; json?: boolean }): Promise<void> {
  const mode = modeOf(options, 'rollout list');
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    const states = await new RolloutStore(client).list();
    if (options.json) process.stdout.write(`${printableJson({ schema: 'hostwright.rollouts/v1', rollouts: states.map(maskedRollout) }, 2)}\n`);
    else process.stdout.write(`${renderRolloutList(states)}\n`);
  });
}

/** `rollout pause|resume|abort <id>`. */
export async function changeRollout(name: RolloutChange, id: string, options: { nats?: string; json?: boolean; signingKey?: string }): Promise<void> {
  const mode = modeOf(options, `rollout ${name}`);
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    // Resuming drives the rollout, which writes desired state.
    if (name === 'resume') client.requireSigner('rollout resume');
    const store = new RolloutStore(client);
    const state = await store.setStatus(id, (current) => changedRollout(name, current, new Date()));
    if (name === 'resume') await follow(client, store, state, { json: options.json });
    else process.stdout.write(options.json ? `${printableJson(maskedRollout(state))}\n` : `${renderRollout(state)}\n`);
  }, { keyFile: options.signingKey });
}

/** Drives the rollout with progress lines; the exit code says whether the whole fleet is on the new revision. */
async function follow(client: FleetClient, store: RolloutStore, state: RolloutState, options: { json?: boolean; detach?: boolean }): Promise<void> {
  const say = (line: string) => process.stdout.write(options.json ? `${printableJson({ progress: line, rollout: state.id })}\n` : `${line}\n`);
  say(renderRolloutStart(state));
  if (options.detach) return;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const pulls = new PullProgressLines(say);
  const rolling = new Set(state.hosts.map((host) => host.hostId));
  const final = await driveRollout(client, store, state.id, {
    pollMs: POLL_MS,
    signal: abort.signal,
    onStep: (next, previous) => rolloutProgressLines(next, previous).forEach(say),
    onReports: (reports) => {
      for (const report of reports) if (report.value && rolling.has(report.hostId)) pulls.show(report.hostId, report.value.status.pulls);
    },
    onUnanswered: (error) => say(`NATS did not answer (${printable(errorMessage(error))}); trying again`),
  });
  process.stdout.write(options.json ? `${printableJson(maskedRollout(final))}\n` : `\n${renderRollout(final)}\n`);
  if (final.status !== 'succeeded') process.exitCode = EXIT.error;
}

export type RolloutFlags = Required<Pick<RolloutCommandOptions, 'canary' | 'maxParallel' | 'minHealthy' | 'healthyDeadline' | 'maxFailures' | 'onFailure' | 'order'>> & Pick<RolloutCommandOptions, 'skipOffline'>;

/** A flag given wins; else the file's default (deploy.update_config, x-hostwright.rollout); else the built-in one. */
export function withFileDefaults(options: RolloutCommandOptions, file: RolloutDefaults): RolloutFlags {
  return {
    canary: options.canary ?? (file.canary === undefined ? '1' : String(file.canary)),
    maxParallel: options.maxParallel ?? (file.max_parallel === undefined ? '1' : String(file.max_parallel)),
    minHealthy: options.minHealthy ?? file.min_healthy ?? '10s',
    healthyDeadline: options.healthyDeadline ?? file.healthy_deadline ?? '2m',
    maxFailures: options.maxFailures ?? file.max_failures ?? '0',
    onFailure: options.onFailure ?? file.on_failure ?? 'pause',
    order: options.order ?? file.order ?? 'stop-first',
    skipOffline: options.skipOffline,
  };
}

function parseRolloutOptions(options: RolloutFlags): Omit<RolloutOptions, 'maxFailures'> {
  const count = (text: string, flag: string, min: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new InvalidInputError(`${flag} ${text}: expected a whole number >= ${min}`);
    return value;
  };
  if (!/^(\d+|0?\.\d+)$/.test(options.maxFailures)) throw new InvalidInputError(`--max-failures ${options.maxFailures}: expected a count (2) or a ratio (0.25)`);
  if (options.onFailure !== 'pause' && options.onFailure !== 'rollback') throw new InvalidInputError(`--on-failure ${options.onFailure}: expected pause or rollback`);
  if (options.order !== 'stop-first' && options.order !== 'start-first') throw new InvalidInputError(`--order ${options.order}: expected stop-first or start-first`);
  return {
    canary: count(options.canary, '--canary', 0),
    maxParallel: count(options.maxParallel, '--max-parallel', 1),
    minHealthyMs: parseTimeout(options.minHealthy, '--min-healthy'),
    healthyDeadlineMs: parseTimeout(options.healthyDeadline, '--healthy-deadline'),
    onFailure: options.onFailure,
    order: options.order,
    skipOffline: options.skipOffline === true,
  };
}

function withOrder(document: HostDesired, order: RolloutOptions['order']): HostDesired {
  return order === 'start-first' ? { ...document, updateOrder: order } : document;
}
