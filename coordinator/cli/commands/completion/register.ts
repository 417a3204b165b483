import type { Command } from 'commander';
import { InvalidInputError } from '../../../../shared/errors.js';

const SHELL_NAMES = ['bash', 'zsh', 'fish'];

// Registration only: the tree is walked and the configuration file read when a command runs.
export function registerCompletion(program: Command): void {
  program
    .command('completion <shell>')
    .description('print the shell completion script for bash, zsh or fish (docs/cli.md, "Shell completion"); e.g. source <(hostwright completion bash)')
    .action(async (shell: string, _options: unknown, command: Command) => {
      if (!SHELL_NAMES.includes(shell)) throw new InvalidInputError(`completion ${shell}: expected one of ${SHELL_NAMES.join(', ')}`);
      const [{ commandTree }, { completionScript }] = await Promise.all([import('../../command-tree.js'), import('../../completion-scripts.js')]);
      process.stdout.write(completionScript(shell as 'bash' | 'zsh' | 'fish', commandTree(rootOf(command))));
    });

  // What the completion scripts ask while a user types: local reads only, and silence on any failure.
  program
    .command('__complete <kind>', { hidden: true })
    .action(async (kind: string) => {
      if (kind !== 'contexts') return;
      const { cliConfigPath, loadCliConfig } = await import('../../cli-context.js');
      const config = await loadCliConfig(cliConfigPath()).catch(() => ({ contexts: {} }));
      const names = Object.keys(config.contexts ?? {});
      if (names.length > 0) process.stdout.write(`${names.join('\n')}\n`);
    });

  // docs/cli.md's command reference, generated from the program so that it cannot drift.
  program
    .command('__reference', { hidden: true })
    .action(async (_options: unknown, command: Command) => {
      const { cliReference } = await import('../../cli-reference.js');
      process.stdout.write(cliReference(rootOf(command)));
    });
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent !== null) root = root.parent;
  return root;
}
