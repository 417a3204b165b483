import type { Command } from 'commander';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Options shared by every local-mode command. */
export function withLocalOptions(command: Command): Command {
  return command
    .option('--local', 'manage this machine directly (local Docker engine and data dir, no NATS)')
    .option('--data-dir <dir>', 'where the journal lives (default: $HOSTWRIGHT_DATA_DIR or ~/.hostwright/local)')
    .option('--host-id <id>', 'this host\'s id; when given, the fleet file\'s placement is applied (default: "local", placement ignored)')
    .option('--label <key=value>', 'a label of this host, for placement selectors (repeatable)', collect, []);
}
