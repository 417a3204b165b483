import type { Command } from 'commander';
import { InvalidInputError } from '../../shared/errors.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Options shared by every command that works on one host directly or on the fleet over NATS. */
export function withLocalOptions(command: Command): Command {
  return command
    .option('--local', 'manage this machine directly (local Docker engine and data dir, no NATS)')
    .option('--nats <url>', 'manage the fleet through NATS (default: $HOSTWRIGHT_NATS)')
    .option('--data-dir <dir>', 'local mode: where the journal lives (default: $HOSTWRIGHT_DATA_DIR or ~/.hostwright/local)')
    .option('--host-id <id>', 'local mode: this host\'s id; when given, the fleet file\'s placement is applied (default: "local", placement ignored)')
    .option('--label <key=value>', 'a label of this host, for placement selectors (repeatable)', collect, []);
}

export type Mode = { readonly kind: 'local' } | { readonly kind: 'fleet'; readonly natsUrl: string };

/** --local wins; otherwise --nats or $HOSTWRIGHT_NATS selects the fleet. */
export function modeOf(options: { local?: boolean; nats?: string }, command: string): Mode {
  if (options.local) return { kind: 'local' };
  const natsUrl = options.nats ?? process.env.HOSTWRIGHT_NATS;
  if (natsUrl) return { kind: 'fleet', natsUrl };
  throw new InvalidInputError(`${command}: pass --local to manage this machine, or --nats URL (or set HOSTWRIGHT_NATS) to manage the fleet`);
}
