import type { HostwrightEvent } from '../../../shared/events.js';
import { printable } from './printable.js';

/** One event on one line: every part of it comes from a host and is shown printable. */
export function renderEvent(event: HostwrightEvent): string {
  const where = printable([event.hostId, event.project, event.service, event.instance].filter((part) => part !== undefined).join('/'));
  return `${printable(event.timestamp)}  ${event.type.padEnd(14)} ${event.severity.padEnd(7)} ${where.padEnd(28)} ${printable(event.message)}${event.author?.name === undefined ? '' : `  by ${printable(event.author.name)}`}  [${printable(event.correlationID.slice(0, 8))}]`;
}

/** A message on a host's event subject that failed its checks: where it was, and why it was refused. */
export function renderRefusedEvent(refused: { readonly subject: string; readonly seq: number; readonly reason: string }): string {
  return `REFUSED  ${printable(refused.subject)} (stream seq ${refused.seq}): ${printable(refused.reason)}`;
}
