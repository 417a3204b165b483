import type { Logger } from 'pino';
import type { AgentLoop } from './agent-loop.js';
import type { Reconciler } from './reconciler.js';
import type { RuntimeAdapter } from './runtime/runtime-adapter.js';

/** Runtime events only wake the loop (debounced); after a gap the observer forgets what it cached. */
export function wakeOnRuntimeEvents(runtime: RuntimeAdapter, reconciler: Reconciler, loop: AgentLoop, logger: Logger, signal: AbortSignal): void {
  runtime.watchEvents((event) => {
    if (event.type === 'container') {
      reconciler.observer.invalidate(event.containerId);
      loop.triggerDebounced(`docker:${event.action}`);
    } else if (event.type === 'reconnected') {
      reconciler.observer.invalidate();
      loop.trigger('docker:reconnected');
    } else {
      logger.warn({ error: event.error }, 'docker event stream lost; reconnecting with backoff');
    }
  }, signal);
}
