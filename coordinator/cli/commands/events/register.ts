import type { Command } from 'commander';
import { EVENT_TYPES } from '../../../../shared/event-types.js';
import { modeOf, withLocalOptions } from '../../options.js';
import type { EventsOptions } from './options.js';

// Registration only: the filter and each mode's implementation are imported when the command runs.
export function registerEvents(program: Command): void {
  withLocalOptions(program.command('events'), 'coordinator', {})
    .description('the recorded events, oldest first')
    .option('--follow', 'keep printing new events until interrupted')
    .option('--type <type>', `only this type (${EVENT_TYPES.join(', ')})`)
    .option('--host <id>', 'fleet mode: only this host')
    .option('--project <name>', 'only this project')
    .option('--since <duration>', 'only events newer than this, e.g. 10m, 2h')
    .option('--json', 'one JSON object per line (schema hostwright.event/v1)')
    .action(async (options: EventsOptions) => {
      const mode = modeOf(options, 'events');
      const { parseFilter, eventPrinter } = await import('./events-filter.js');
      const filter = parseFilter(options);
      const print = eventPrinter(filter, options.json === true);
      if (mode.kind === 'fleet') {
        const { fleetEvents } = await import('./events-fleet.js');
        await fleetEvents(mode, options, filter, print);
        return;
      }
      const { localEvents } = await import('./events-local.js');
      await localEvents(options, print);
    });
}
