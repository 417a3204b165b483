import type { Logger } from 'pino';
import { errorMessage } from '../../shared/errors.js';
import type { FleetClient } from '../fleet-client.js';
import { changedRollout, type RolloutChange } from '../rollout/rollout-change.js';
import { driveRollout, RolloutStore } from '../rollout/rollout-driver.js';
import type { RolloutState } from '../rollout/rollout-state.js';

/** How often a rollout the dashboard resumed is stepped (as `rollout resume` does). */
const DRIVE_POLL_MS = 500;

/**
 * The dashboard's pause, resume and abort: the same change `rollout pause|resume|abort` makes
 * (coordinator/rollout/rollout-change.ts), with who did it in the rollout's reason. A resumed
 * rollout is driven by this process, signing with its key, until it finishes or pauses.
 */
export class RolloutActions {
  readonly #store: RolloutStore;
  readonly #driving = new Set<string>();

  constructor(
    private readonly client: FleetClient,
    private readonly by: string,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
  ) {
    this.#store = new RolloutStore(client);
  }

  async change(change: RolloutChange, id: string): Promise<RolloutState> {
    if (change === 'resume') this.client.requireSigner('resuming a rollout from the dashboard (start it with --signing-key FILE)');
    const state = await this.#store.setStatus(id, (current) => changedRollout(change, current, new Date(), this.by));
    if (change === 'resume' && state.status === 'running') this.#drive(id);
    return state;
  }

  #drive(id: string): void {
    if (this.#driving.has(id)) return;
    this.#driving.add(id);
    driveRollout(this.client, this.#store, id, { pollMs: DRIVE_POLL_MS, signal: this.signal })
      .then((final) => this.logger.info({ rollout: id, status: final.status }, 'rollout driven from the dashboard stopped'))
      .catch((error: unknown) => this.logger.error({ rollout: id, err: errorMessage(error) }, `rollout ${id} stopped; \`hostwright rollout resume ${id}\` goes on from where it is`))
      .finally(() => this.#driving.delete(id));
  }
}
