import type { PullInFlight } from '../../../shared/host-status.js';
import type { HostPullOutcome } from '../../fleet-pull.js';
import { printable } from './printable.js';
import { renderTable } from './table.js';

/** One host's pull in flight: `h1: pulling registry/app:2: 12.0 of 40.0 MB, 1/3 layer(s), 4s`. */
export function pullProgressLine(hostId: string, pull: PullInFlight, now = Date.now()): string {
  const total = pull.totalBytes > 0 ? ` of ${megabytes(pull.totalBytes)}` : '';
  const layers = pull.layers > 0 ? `, ${pull.layersDone}/${pull.layers} layer(s)` : ', starting';
  const seconds = Math.max(0, Math.round((now - Date.parse(pull.since)) / 1000));
  return `${printable(hostId)}: pulling ${printable(pull.image)}: ${megabytes(pull.bytes)}${total}${layers}, ${seconds}s`;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Shows a line per pull in flight on the watched hosts, at most one per pull every PULL_LINE_MS (and each pull's first at once). */
export class PullProgressLines {
  readonly #lastLineAt = new Map<string, number>();

  constructor(private readonly say: (line: string) => void) {}

  /** `pulls` of a host as its latest status reports them (undefined or empty: none in flight). */
  show(hostId: string, pulls: readonly PullInFlight[] | undefined, now = Date.now()): void {
    for (const pull of pulls ?? []) {
      const key = `${hostId}\u0000${pull.image}\u0000${pull.since}`;
      const last = this.#lastLineAt.get(key);
      if (last !== undefined && now - last < PULL_LINE_MS) continue;
      this.#lastLineAt.set(key, now);
      this.say(pullProgressLine(hostId, pull, now));
    }
  }
}

/** How often one pull's progress line is repeated while it lasts. */
export const PULL_LINE_MS = 2_000;

export function renderPullOutcomes(outcomes: readonly HostPullOutcome[]): string {
  const rows: string[][] = [];
  for (const { hostId, reply } of outcomes) {
    if (!reply) rows.push([hostId, '', 'NO ANSWER', 'the agent did not answer in time (is it running and connected?)']);
    else if (!reply.ok) rows.push([hostId, '', 'REFUSED', reply.error]);
    else {
      for (const pulled of reply.pulled) rows.push([hostId, pulled.image, pulled.outcome === 'failed' ? 'FAILED' : 'pulled', pulled.outcome === 'failed' ? pulled.message : `${(pulled.durationMs / 1000).toFixed(1)}s`]);
      for (const image of reply.present) rows.push([hostId, image, 'present', 'already on the host (its pull policy pulls it no sooner)']);
      for (const block of reply.blocked) rows.push([hostId, '', 'BLOCKED', block]);
    }
  }
  return renderTable(['HOST', 'IMAGE', 'RESULT', 'DETAIL'], rows);
}
