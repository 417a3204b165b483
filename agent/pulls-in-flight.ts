import type { PullInFlight } from '../shared/host-status.js';
import type { CycleProgress } from './cycle.js';

/**
 * The host's pulls in flight, from the progress a cycle or a pre-pull tells: a pull appears when it
 * starts, follows its layers and bytes, and goes when its result is on disk. What the status shows
 * while a long pull lasts.
 */
export class PullsInFlight {
  readonly #pulls = new Map<string, PullInFlight>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Takes one progress notification; true when the pulls in flight changed. */
  update(progress: CycleProgress): boolean {
    // A new plan: whatever the last one left (a result that could not be written) is not in flight.
    if (progress.type === 'planned') {
      const had = this.#pulls.size > 0;
      this.#pulls.clear();
      return had;
    }
    if (progress.type === 'action-started' && progress.action.kind === 'pull-image') {
      const { action } = progress;
      this.#pulls.set(action.id, { image: action.image, projects: [...(action.projects ?? [])], layers: 0, layersDone: 0, bytes: 0, totalBytes: 0, since: this.now().toISOString() });
      return true;
    }
    if (progress.type === 'action-progress' && progress.action.kind === 'pull-image') {
      const pull = this.#pulls.get(progress.action.id);
      if (!pull) return false;
      this.#pulls.set(progress.action.id, { ...pull, ...progress.detail });
      return true;
    }
    if (progress.type === 'action-finished' && progress.report.action.kind === 'pull-image') return this.#pulls.delete(progress.report.action.id);
    return false;
  }

  /** Oldest first. */
  list(): PullInFlight[] {
    return [...this.#pulls.values()];
  }
}
