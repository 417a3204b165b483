import type { Logger } from 'pino';
import { LABELS } from '../shared/labels.js';
import type { AgentLoop } from './agent-loop.js';
import type { Reconciler } from './reconciler.js';
import type { RuntimeAdapter } from './runtime/runtime-adapter.js';

/**
 * Runtime events only wake the loop (debounced); after a gap the observer forgets what it cached.
 * A burst made only of the echoes of the agent's own actions wakes nothing: the cycle that acted
 * observed again when it was done. It is judged once it has settled, when the action that caused
 * an event (a create learns its container's id only from the engine's answer) has recorded itself.
 */
export function wakeOnRuntimeEvents(runtime: RuntimeAdapter, reconciler: Reconciler, loop: AgentLoop, logger: Logger, signal: AbortSignal): void {
  let burst: { readonly containerId: string; readonly action: string }[] = [];
  const settled = (): string | undefined => {
    const foreign = burst.find((event) => !reconciler.echoes.isEcho(event.containerId, event.action));
    burst = [];
    return foreign && `docker:${foreign.action}`;
  };
  runtime.watchEvents((event) => {
    if (event.type === 'container') {
      reconciler.observer.invalidate(event.containerId);
      // A container of another host's agent on the same engine (test and benchmark fleets share one) is not this agent's news.
      const host = event.attributes?.[LABELS.host];
      if (host !== undefined && host !== reconciler.hostId) return;
      burst.push(event);
      loop.triggerDebounced(settled);
    } else if (event.type === 'reconnected') {
      reconciler.observer.invalidate();
      loop.trigger('docker:reconnected');
    } else {
      logger.warn({ error: event.error }, 'docker event stream lost; reconnecting with backoff');
    }
  }, signal);
}
