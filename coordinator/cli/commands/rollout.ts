import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '../../../shared/errors.js';
import type { HostDesired } from '../../../shared/host-desired.js';
import type { FleetClient } from '../../fleet-client.js';
import { driveRollout, RolloutStore } from '../../rollout/rollout-driver.js';
import { FINISHED_STATUSES, maskedRollout, type RolloutOptions, type RolloutState } from '../../rollout/rollout-state.js';
import { startRollout } from '../../rollout/rollout-step.js';
import { EXIT } from '../exit-codes.js';
import { targetsFor, withFleet } from '../fleet/fleet-session.js';
import { modeOf, withNatsOptions } from '../options.js';
import { parseTimeout } from '../parse.js';
import { renderRollout, rolloutProgressLines } from '../render/rollout-view.js';

interface RolloutCommandOptions {
  readonly file?: string;
  readonly nats?: string;
  readonly canary: string;
  readonly maxParallel: string;
  readonly minHealthy: string;
  readonly healthyDeadline: string;
  readonly maxFailures: string;
  readonly onFailure: string;
  readonly order: string;
  readonly skipOffline?: boolean;
  readonly json?: boolean;
  readonly detach?: boolean;
  readonly signingKey?: string;
}

const POLL_MS = 500;
const SIGNING_KEY_HELP = 'the coordinator\'s signing seed (coordinator-signing.nk); every desired document is signed with it (default: $HOSTWRIGHT_SIGNING_KEY)';

export function registerRollout(program: Command): void {
  const rollout = withNatsOptions(program.command('rollout'))
    .description('roll a fleet file out in waves: canaries first, then --max-parallel hosts at a time, each wave gated on convergence and health')
    .option('-f, --file <fleet.yaml>', 'the fleet file to roll out')
    .option('--canary <n>', 'hosts in the first wave', '1')
    .option('--max-parallel <n>', 'hosts per later wave', '1')
    .option('--min-healthy <duration>', 'how long a host must stay converged and healthy to pass', '10s')
    .option('--healthy-deadline <duration>', 'how long a host may take to get there before it counts as failed', '2m')
    .option('--max-failures <n|ratio>', 'failed hosts tolerated before the rollout stops (a count, or a ratio such as 0.25)', '0')
    .option('--on-failure <action>', 'pause (default) or rollback: what happens past --max-failures', 'pause')
    .option('--order <order>', 'stop-first (default) or start-first: replace an instance after its successor is healthy', 'stop-first')
    .option('--skip-offline', 'skip hosts that are offline when their wave comes, instead of waiting until the deadline')
    .option('--detach', 'start the rollout and return; follow it with `rollout status --watch`')
    .option('--json', 'print progress records and the final state as JSON lines')
    .option('--signing-key <file>', SIGNING_KEY_HELP)
    .action(async (options: RolloutCommandOptions) => {
      if (!options.file) throw new InvalidInputError('rollout: pass -f fleet.yaml (or a subcommand: status, list, pause, resume, abort)');
      const mode = modeOf(options, 'rollout');
      if (mode.kind !== 'fleet') return;
      const parsed = parseRolloutOptions(options);
      await withFleet(mode, async (client) => {
        client.requireSigner('rollout');
        const store = new RolloutStore(client);
        const correlationID = randomUUID();
        const { project, targets } = await targetsFor(client, options.file as string, correlationID);
        const active = (await store.list()).find((r) => r.project === project && !FINISHED_STATUSES.includes(r.status));
        if (active) throw new InvalidInputError(`rollout ${active.id} of project ${project} is ${active.status}; \`hostwright rollout resume ${active.id}\` or \`hostwright rollout abort ${active.id}\` first`);
        const existing = await client.desiredOf(project);
        const changed = targets.filter((t) => t.changed);
        const maxFailures = options.maxFailures.includes('.') ? Math.floor(Number(options.maxFailures) * changed.length) : Number(options.maxFailures);
        const state = startRollout({
          id: `${project}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomUUID().slice(0, 6)}`,
          project,
          correlationID,
          now: new Date(),
          options: { ...parsed, maxFailures },
          targets: changed.map((t) => ({ hostId: t.hostId, target: withOrder(t.document, parsed.order), previous: existing.get(t.hostId)?.document ?? null })),
        });
        await store.create(state);
        await follow(client, store, state, options);
      }, options.signingKey);
    });

  withNatsOptions(rollout.command('status [id]'))
    .description('a rollout\'s waves and per-host progress (default: the latest)')
    .option('--watch', 'keep printing until the rollout finishes or pauses')
    .option('--json', 'print JSON (schema hostwright.rollout/v1)')
    .action(async (id: string | undefined, _options: unknown, command: Command) => {
      const options = subcommandOptions<{ nats?: string; watch?: boolean; json?: boolean }>(command);
      const mode = modeOf(options, 'rollout status');
      if (mode.kind !== 'fleet') return;
      await withFleet(mode, async (client) => {
        const store = new RolloutStore(client);
        const state = id ? (await store.get(id))?.state : (await store.list()).at(-1);
        if (!state) throw new InvalidInputError(id ? `no rollout ${id} (see \`hostwright rollout list\`)` : 'no rollout yet');
        if (!options.watch) {
          process.stdout.write(options.json ? `${JSON.stringify(maskedRollout(state), null, 2)}\n` : `${renderRollout(state)}\n`);
          return;
        }
        let last = state;
        process.stdout.write(options.json ? `${JSON.stringify(maskedRollout(state))}\n` : `${renderRollout(state)}\n`);
        while (!FINISHED_STATUSES.includes(last.status) && last.status !== 'paused') {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          const current = (await store.get(last.id))?.state;
          if (!current) break;
          for (const line of rolloutProgressLines(current, last)) process.stdout.write(options.json ? `${JSON.stringify({ progress: line, rollout: current.id })}\n` : `${line}\n`);
          last = current;
        }
        process.stdout.write(options.json ? `${JSON.stringify(maskedRollout(last))}\n` : `\n${renderRollout(last)}\n`);
      });
    });

  withNatsOptions(rollout.command('list'))
    .description('every stored rollout, oldest first')
    .option('--json', 'print JSON')
    .action(async (_options: unknown, command: Command) => {
      const options = subcommandOptions<{ nats?: string; json?: boolean }>(command);
      const mode = modeOf(options, 'rollout list');
      if (mode.kind !== 'fleet') return;
      await withFleet(mode, async (client) => {
        const states = await new RolloutStore(client).list();
        if (options.json) process.stdout.write(`${JSON.stringify({ schema: 'hostwright.rollouts/v1', rollouts: states.map(maskedRollout) }, null, 2)}\n`);
        else process.stdout.write(states.length === 0 ? 'No rollouts.\n' : `${states.map((s) => `${s.id}  ${s.project}  ${s.status}  wave ${Math.min(s.currentWave + 1, s.waves.length)}/${s.waves.length}  ${s.createdAt}`).join('\n')}\n`);
      });
    });

  for (const [name, description] of [
    ['pause', 'pause a running rollout after the current step (any coordinator)'],
    ['resume', 'resume a paused rollout, or one whose coordinator died, and follow it'],
    ['abort', 'stop a rollout where it is; hosts keep the revision they have'],
  ] as const) {
    withNatsOptions(rollout.command(`${name} <id>`))
      .description(description)
      .option('--json', 'print progress and the final state as JSON lines')
      .option('--signing-key <file>', `resume: ${SIGNING_KEY_HELP}`)
      .action(async (id: string, _options: unknown, command: Command) => {
        const options = subcommandOptions<{ nats?: string; json?: boolean; signingKey?: string }>(command);
        const mode = modeOf(options, `rollout ${name}`);
        if (mode.kind !== 'fleet') return;
        await withFleet(mode, async (client) => {
          // Resuming drives the rollout, which writes desired state.
          if (name === 'resume') client.requireSigner('rollout resume');
          const store = new RolloutStore(client);
          const state = await store.setStatus(id, (current) => {
            if (FINISHED_STATUSES.includes(current.status)) throw new InvalidInputError(`rollout ${id} already ${current.status}`);
            if (name === 'pause') return { ...current, status: current.status === 'running' ? 'paused' : current.status, reason: 'paused by an operator', updatedAt: new Date().toISOString() };
            if (name === 'abort') return { ...current, status: 'aborted', reason: 'aborted by an operator', updatedAt: new Date().toISOString() };
            if (current.status !== 'paused') return current;
            // Resuming accepts the failures so far (the operator looked at them) and goes on with the next wave.
            const failures = current.hosts.filter((host) => host.state === 'failed').length;
            return { ...current, status: 'running', options: { ...current.options, maxFailures: Math.max(current.options.maxFailures, failures) }, reason: failures > 0 ? `resumed accepting ${failures} failed host(s)` : 'resumed', updatedAt: new Date().toISOString() };
          });
          if (name === 'resume') await follow(client, store, state, { json: options.json });
          else process.stdout.write(options.json ? `${JSON.stringify(maskedRollout(state))}\n` : `${renderRollout(state)}\n`);
        }, options.signingKey);
      });
  }
}

/** Drives the rollout with progress lines; the exit code says whether the whole fleet is on the new revision. */
async function follow(client: FleetClient, store: RolloutStore, state: RolloutState, options: { json?: boolean; detach?: boolean }): Promise<void> {
  const say = (line: string) => process.stdout.write(options.json ? `${JSON.stringify({ progress: line, rollout: state.id })}\n` : `${line}\n`);
  say(`rollout ${state.id}: ${state.waves.length} wave(s): ${state.waves.map((wave, i) => `${i + 1}:[${wave.join(',')}]`).join(' ')} (correlation ${state.correlationID})`);
  if (options.detach) return;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const final = await driveRollout(client, store, state.id, { pollMs: POLL_MS, signal: abort.signal, onStep: (next, previous) => rolloutProgressLines(next, previous).forEach(say) });
  process.stdout.write(options.json ? `${JSON.stringify(maskedRollout(final))}\n` : `\n${renderRollout(final)}\n`);
  if (final.status !== 'succeeded') process.exitCode = EXIT.error;
}

function parseRolloutOptions(options: RolloutCommandOptions): Omit<RolloutOptions, 'maxFailures'> {
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

/**
 * A subcommand's options merged with those of `rollout`: commander gives `--nats` and `--json` written
 * after `rollout status ID` to the parent (which defines them too), so the subcommand never saw them.
 */
function subcommandOptions<T extends { nats?: string; json?: boolean }>(command: Command): T {
  return command.optsWithGlobals<T>();
}

function withOrder(document: HostDesired, order: RolloutOptions['order']): HostDesired {
  return order === 'start-first' ? { ...document, updateOrder: order } : document;
}
