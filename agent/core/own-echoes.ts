import type { ActionKind } from '../../shared/actions.js';

/**
 * The runtime events each of Hostwright's own actions makes its container emit. A stop sends
 * kill, die and stop; a remove can too (the container may still be running), then destroy.
 */
const ECHOES: { readonly [K in ActionKind]: readonly string[] } = {
  'pull-image': [],
  'remove-image': [],
  create: ['create'],
  start: ['start'],
  rename: ['rename'],
  'await-healthy': [],
  'await-dependency': [],
  unpause: ['unpause'],
  stop: ['kill', 'die', 'stop'],
  remove: ['kill', 'die', 'stop', 'destroy'],
  // Network and volume events are not watched (only container events wake the loop).
  'create-network': [],
  'create-volume': [],
  'remove-network': [],
  'remove-volume': [],
};

/** How long after an action its events still count as its echo (the engine reports them within ms). */
export const ECHO_WINDOW_MS = 10_000;

/**
 * Which runtime events the agent caused itself. The cycle that acted observes again when it is
 * done, so the echo of its own create, start, stop or remove needs no further cycle; any other
 * event on the same container (a die after our start, a start after our stop) still wakes the loop.
 */
export class OwnEchoes {
  readonly #expected = new Map<string, { readonly actions: Set<string>; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records that an action of this kind ran (or is about to run) on the container. */
  expect(containerId: string, kind: ActionKind): void {
    const actions = ECHOES[kind];
    if (actions.length === 0) return;
    const now = this.now();
    this.#forgetExpired(now);
    const entry = this.#expected.get(containerId);
    if (entry && entry.until >= now) {
      for (const action of actions) entry.actions.add(action);
      entry.until = now + ECHO_WINDOW_MS;
    } else {
      this.#expected.set(containerId, { actions: new Set(actions), until: now + ECHO_WINDOW_MS });
    }
  }

  /** True when the event is what one of the agent's own recent actions on that container emits. */
  isEcho(containerId: string, action: string): boolean {
    const entry = this.#expected.get(containerId);
    return entry !== undefined && entry.until >= this.now() && entry.actions.has(action);
  }

  #forgetExpired(now: number): void {
    for (const [containerId, entry] of this.#expected) if (entry.until < now) this.#expected.delete(containerId);
  }
}
