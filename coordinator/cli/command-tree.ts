import type { Command, Option } from 'commander';

/** What the value of an option is, for completion: a path, a context's name, or anything. */
export type ValueKind = 'file' | 'context' | 'other';

export interface OptionNode {
  /** `--json`; every option here has a long form. */
  readonly long: string;
  /** `-f`, when the option has a short form. */
  readonly short?: string;
  /** Undefined: a flag, which takes no value. */
  readonly value?: ValueKind;
  readonly description: string;
}

export interface CommandNode {
  /** The words after `hostwright`: [] for the program, ['hosts', 'cordon'] for a subcommand. */
  readonly path: readonly string[];
  readonly description: string;
  readonly options: readonly OptionNode[];
  readonly subcommands: readonly CommandNode[];
}

/**
 * The commands and options a user can type, as help shows them (hidden ones left out): the one
 * source of shell completion and of docs/cli.md's command reference, so neither can drift.
 */
export function commandTree(command: Command, path: readonly string[] = []): CommandNode {
  const help = command.createHelp();
  return {
    path,
    description: command.description(),
    options: help.visibleOptions(command).flatMap((option) => (option.long === undefined ? [] : [optionNode(option)])),
    subcommands: help
      .visibleCommands(command)
      // commander's implicit `help` command takes a command's name, not options: left to `--help`.
      .filter((sub) => sub.name() !== 'help')
      .map((sub) => commandTree(sub, [...path, sub.name()])),
  };
}

function optionNode(option: Option): OptionNode {
  const takesValue = option.required || option.optional;
  const value: ValueKind | undefined = !takesValue ? undefined : option.long === '--context' ? 'context' : /<[^>]*\b(file|dir)\b[^>]*>/.test(option.flags) ? 'file' : 'other';
  return { long: option.long as string, ...(option.short === undefined ? {} : { short: option.short }), ...(value === undefined ? {} : { value }), description: option.description };
}

/** Every command of the tree, the program first, depth first in help's order. */
export function allCommands(tree: CommandNode): CommandNode[] {
  return [tree, ...tree.subcommands.flatMap(allCommands)];
}
