import type { Command } from 'commander';

/** The width the reference's help texts are wrapped to, whatever the terminal that generates it. */
const REFERENCE_WIDTH = 100;

/**
 * docs/cli.md's command reference: every visible command's --help, in help's order, with an index.
 * Generated from the program itself (`hostwright __reference`), and a test checks the page is current.
 */
export function cliReference(program: Command): string {
  const commands: { path: string[]; command: Command }[] = [];
  const walk = (command: Command, path: string[]) => {
    commands.push({ path, command });
    for (const sub of command.createHelp().visibleCommands(command)) if (sub.name() !== 'help') walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  const title = (path: readonly string[]) => ['hostwright', ...path].join(' ');
  const anchor = (path: readonly string[]) => title(path).replace(/ /g, '-');
  const index = commands.map(({ path, command }) => `- [\`${title(path)}\`](#${anchor(path)}): ${firstLine(command.description())}`);
  const sections = commands.map(({ path, command }) => {
    const help = command.createHelp();
    help.prepareContext({ helpWidth: REFERENCE_WIDTH });
    return `### ${title(path)}\n\n\`\`\`text\n${help.formatHelp(command, help).trimEnd()}\n\`\`\``;
  });
  return `${index.join('\n')}\n\n${sections.join('\n\n')}\n`;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/\|/g, '\\|');
}
