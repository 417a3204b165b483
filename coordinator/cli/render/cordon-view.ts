import type { CordonSkip } from '../../cordon.js';
import { printable } from './printable.js';

/** One line per cordoned host a selector matched: the services left out there, and why. Empty: none. */
export function renderCordonSkips(skips: readonly CordonSkip[]): string {
  return skips
    .map((skip) => `${printable(skip.hostId)}: CORDONED${skip.reason ? ` (${printable(skip.reason)})` : ''}: not placed there: ${skip.services.map((service) => printable(service)).join(', ')} (\`hostwright hosts uncordon ${printable(skip.hostId)}\` lets placement use it again)`)
    .join('\n');
}
