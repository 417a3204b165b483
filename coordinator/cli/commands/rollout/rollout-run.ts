import { errorMessage, InvalidInputError } from '../../../../shared/errors.js';
import { RolloutStore } from '../../../rollout/rollout-driver.js';
import { maskedRollout, type RolloutOptions } from '../../../rollout/rollout-state.js';
import { followRollout, startFleetRollout, type RolloutProgress, type RolloutRunResult } from '../../../operations/rollout-fleet.js';
import { changedRollout } from '../../../rollout/rollout-change.js';
import { EXIT } from '../../exit-codes.js';
import { withFleet } from '../../../fleet-session.js';
import { allowedUnregistered } from '../../../known-hosts.js';
import { hasFile, modeOf } from '../../options.js';
import { readWorkload } from '../../workload.js';
import type { RolloutDefaults } from '../../../compose/compose-translate.js';
import { parseTimeout } from '../../parse.js';
import { printable, printableJson } from '../../render/printable.js';
import { renderRollout, renderRolloutList, renderRolloutStart, rolloutProgressLines } from '../../render/rollout-view.js';
import { PullProgressLines, renderPullOutcomes } from '../../render/pull-view.js';
import type { RolloutChange, RolloutCommandOptions } from './options.js';

/** `rollout -f fleet.yaml`: parses the options, runs coordinator/operations/rollout-fleet.ts, and prints its progress. */
export async function startRolloutCommand(options: RolloutCommandOptions): Promise<void> {
  if (!hasFile(options)) throw new InvalidInputError('rollout: pass -f fleet.yaml or compose.yaml (or a subcommand: status, list, pause, resume, abort)');
  const mode = modeOf(options, 'rollout');
  if (mode.kind !== 'fleet') return;
  const workload = await readWorkload(options);
  const flags = withFileDefaults(options, workload.rollout);
  const parsed = parseRolloutOptions(flags);
  const prePullTimeoutMs = parseTimeout(options.prePullTimeout ?? '10m', '--pre-pull-timeout');
  const abort = new AbortController();
  const print = rolloutPrinter(options);
  await withFleet(mode, async (client) => {
    const result = await startFleetRollout(client, {
      fleet: workload.fleet,
      options: { ...parsed, maxFailures: flags.maxFailures },
      allowUnregistered: allowedUnregistered(options.allowUnregistered),
      ...(options.prePull ? { prePull: { timeoutMs: prePullTimeoutMs } } : {}),
      detach: options.detach === true,
      signal: abort.signal,
    }, (progress) => {
      // Interrupting stops the driving once the rollout is stored (it stays in KV; `rollout resume` goes on); before that, it ends the command.
      if (progress.type === 'started') process.once('SIGINT', () => abort.abort());
      print(progress);
    });
    if (result.kind === 'pre-pull-failed') {
      process.stderr.write(`${renderPullOutcomes(result.outcomes)}\n\nrollout not started: the pre-pull did not succeed on every host; nothing was changed (\`hostwright pull -f …\` pulls again)\n`);
      process.exitCode = EXIT.error;
      return;
    }
    finish(result, options);
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
    // Each change as the rollout's KV watch delivers it, until it finishes or pauses.
    for await (const current of store.follow(state.id)) {
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
    if (name === 'resume') {
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      finish(await followRollout(client, state, { signal: abort.signal }, rolloutPrinter(options)), options);
    }
    else process.stdout.write(options.json ? `${printableJson(maskedRollout(state))}\n` : `${renderRollout(state)}\n`);
  }, { keyFile: options.signingKey });
}

/**
 * Prints a rollout's progress: a line each (JSON `{ progress, rollout }` with --json,
 * shared/rollout-progress-json.ts), a pull in flight at most every few seconds.
 */
function rolloutPrinter(options: { json?: boolean }): (progress: RolloutProgress) => void {
  const say = (line: string, rollout: string, extra: object = {}) => process.stdout.write(options.json ? `${printableJson({ progress: line, rollout, ...extra })}\n` : `${line}\n`);
  const pulls = new Map<string, PullProgressLines>();
  return (progress) => {
    switch (progress.type) {
      case 'update-order':
        return say(`${progress.exception.message}: two instances cannot bind it at once, so its instances are replaced stop-first (a short gap per host)`, progress.rollout, { updateOrder: progress.exception });
      case 'pre-pull':
        return say(`Pre-pulling the images of ${progress.project} on ${progress.hosts} host(s)`, progress.rollout);
      case 'pulls': {
        const lines = pulls.get(progress.rollout) ?? new PullProgressLines((line) => say(line, progress.rollout));
        pulls.set(progress.rollout, lines);
        return lines.show(progress.hostId, progress.pulls);
      }
      case 'pre-pulled':
        if (!options.json) say(renderPullOutcomes(progress.outcomes), progress.rollout);
        return;
      case 'started':
        return say(renderRolloutStart(progress.state), progress.state.id);
      case 'step':
        return rolloutProgressLines(progress.state, progress.previous).forEach((line) => say(line, progress.state.id));
      case 'unanswered':
        return say(`NATS did not answer (${printable(errorMessage(progress.error))}); trying again`, progress.rollout);
    }
  };
}

/** The rollout's state at the end; the exit code says whether the whole fleet is on the new revision. */
function finish(result: RolloutRunResult, options: { json?: boolean }): void {
  if (result.kind !== 'driven') return;
  process.stdout.write(options.json ? `${printableJson(maskedRollout(result.state))}\n` : `\n${renderRollout(result.state)}\n`);
  if (result.state.status !== 'succeeded') process.exitCode = EXIT.error;
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
