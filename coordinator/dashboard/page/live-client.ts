import type { FleetSnapshot, HostsChange, RolloutView, EventView } from '../view/dashboard-types.js';

/** What /api/live delivers, one handler per message type. */
export interface LiveHandlers {
  readonly snapshot: (snapshot: FleetSnapshot) => void;
  readonly hosts: (change: HostsChange) => void;
  readonly rollout: (rollout: RolloutView) => void;
  readonly event: (event: EventView) => void;
  /** Any message arrived (ticks included) or the stream opened or failed: the banner may change. */
  readonly connection: (open: boolean, messageAt: number | undefined) => void;
}

/**
 * The page's one stream from the server. EventSource reconnects by itself (the server says
 * `retry: 1000`); on reconnection the server sends a snapshot first, so nothing missed stays missing.
 */
export function openLive(url: string, handlers: LiveHandlers): () => void {
  const source = new EventSource(url);
  const on = <T>(type: string, handle: (value: T) => void) =>
    source.addEventListener(type, (message) => {
      handlers.connection(true, Date.now());
      const data = parse<T>((message as MessageEvent<string>).data);
      if (data !== undefined) handle(data);
    });
  source.addEventListener('open', () => handlers.connection(true, Date.now()));
  source.addEventListener('error', () => handlers.connection(source.readyState === EventSource.OPEN, undefined));
  on('snapshot', handlers.snapshot);
  on('hosts', handlers.hosts);
  on('rollout', handlers.rollout);
  on('event', handlers.event);
  on('tick', () => undefined);
  return () => source.close();
}

function parse<T>(data: string): T | undefined {
  try {
    return JSON.parse(data) as T;
  } catch {
    return undefined;
  }
}
