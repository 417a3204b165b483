import type { Command } from 'commander';
import { withWorkloadOptions } from '../../options.js';
import type { ConvertOptions } from './options.js';

// Registration only: the compose reader is imported when the command runs.
export function registerConvert(program: Command): void {
  withWorkloadOptions(program.command('convert'), 'what to read', true)
    .description('print the model Hostwright reads from a compose or fleet file (after interpolation, merge and placement), as a fleet file or --json; changes nothing')
    .option('--json', 'print JSON (schema hostwright.convert/v1)')
    .action(async (options: ConvertOptions) => {
      const { convert } = await import('./convert-run.js');
      await convert(options);
    });
}
