import type { HostwrightEvent } from '../../../shared/events.js';

export function renderEvent(event: HostwrightEvent): string {
  const where = [event.project, event.service, event.instance].filter((part) => part !== undefined).join('/');
  return `${event.timestamp}  ${event.type.padEnd(14)} ${event.severity.padEnd(7)} ${where.padEnd(24)} ${event.message}  [${event.correlationID.slice(0, 8)}]`;
}
