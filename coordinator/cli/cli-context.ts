import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CliConfig, CliContext } from '../../shared/cli-config.js';
import { didYouMean } from '../../shared/did-you-mean.js';
import { InvalidInputError } from '../../shared/errors.js';
import type { YamlFileKind } from '../fleet-file.js';

// Named contexts (docs/cli.md, "Contexts"): where a fleet command's connection options come from
// when neither a flag nor the environment gives them. Precedence: flag > environment > context > default.

const CLI_CONFIG_FILE: YamlFileKind = { what: 'CLI configuration file', whenEmpty: 'expected `contexts:` (see docs/cli.md, "Contexts"), or remove the file', example: 'config.yaml' };

/** $HOSTWRIGHT_CONFIG, else $XDG_CONFIG_HOME/hostwright/config.yaml, else ~/.config/hostwright/config.yaml. Pure. */
export function cliConfigPath(env: NodeJS.ProcessEnv = process.env, home: () => string = homedir): string {
  if (nonEmpty(env.HOSTWRIGHT_CONFIG) !== undefined) return env.HOSTWRIGHT_CONFIG as string;
  return join(nonEmpty(env.XDG_CONFIG_HOME) ?? join(home(), '.config'), 'hostwright', 'config.yaml');
}

/** The configuration file, or an empty configuration when there is none; a bad file is an InvalidInputError naming file:line and key. */
export async function loadCliConfig(path: string): Promise<CliConfig> {
  if (!existsSync(path)) return {};
  // Imported here: every fleet command's --help loads this file, and help loads commander alone.
  const [{ loadYamlFile }, { cliConfigSchema }] = await Promise.all([import('../fleet-file.js'), import('../../shared/cli-config.js')]);
  return loadYamlFile(path, cliConfigSchema, CLI_CONFIG_FILE);
}

/** Which context a command uses, and why (for `context show` and error messages). */
export type ContextChoice = { readonly name: string; readonly from: '--context' | 'HOSTWRIGHT_CONTEXT' | 'current_context' };

/** --context, else $HOSTWRIGHT_CONTEXT, else the file's current_context; none when nothing names one. Pure. */
export function contextChoice(flag: string | undefined, config: CliConfig, env: NodeJS.ProcessEnv = process.env): ContextChoice | undefined {
  if (flag !== undefined) return { name: flag, from: '--context' };
  const fromEnv = nonEmpty(env.HOSTWRIGHT_CONTEXT);
  if (fromEnv !== undefined) return { name: fromEnv, from: 'HOSTWRIGHT_CONTEXT' };
  return config.current_context === undefined ? undefined : { name: config.current_context, from: 'current_context' };
}

/** The context a choice names; a name the file does not hold is an error that lists what it holds. Pure. */
export function chosenContext(choice: ContextChoice, config: CliConfig, configPath: string): CliContext {
  const context = config.contexts?.[choice.name];
  if (context !== undefined) return context;
  const names = Object.keys(config.contexts ?? {});
  const known = names.length === 0 ? `${configPath} has no contexts (add one: hostwright context set NAME --nats URL …)` : `${configPath} has ${names.join(', ')}${didYouMean(choice.name, names)}`;
  throw new InvalidInputError(`context ${JSON.stringify(choice.name)} (from ${choice.from}) does not exist: ${known}`);
}

/** Each option a context can give, the variable that wins over it, and its value in the context. */
const FILLS: readonly { readonly option: string; readonly env?: string; readonly value: (context: CliContext) => string | undefined }[] = [
  { option: 'nats', env: 'HOSTWRIGHT_NATS', value: (context) => serversOf(context) },
  { option: 'creds', env: 'HOSTWRIGHT_CREDS', value: (context) => context.nats?.creds },
  { option: 'tlsCa', env: 'HOSTWRIGHT_TLS_CA', value: (context) => context.nats?.tls?.ca },
  { option: 'tlsCert', env: 'HOSTWRIGHT_TLS_CERT', value: (context) => context.nats?.tls?.cert },
  { option: 'tlsKey', env: 'HOSTWRIGHT_TLS_KEY', value: (context) => context.nats?.tls?.key },
  { option: 'fleetAuth', env: 'HOSTWRIGHT_FLEET_AUTH', value: (context) => context.fleet_auth },
  { option: 'signingKey', env: 'HOSTWRIGHT_SIGNING_KEY', value: (context) => context.signing_key },
  { option: 'as', value: (context) => context.as },
];

/** The context's NATS servers as --nats takes them (comma-separated). */
export function serversOf(context: CliContext): string | undefined {
  const servers = context.nats?.servers;
  return servers === undefined ? undefined : typeof servers === 'string' ? servers : servers.join(',');
}

/**
 * The option values a context gives a command: only options the command has (`takes`), that no
 * flag set (`given`) and whose environment variable is unset; `~/` paths expanded. Pure.
 */
export function contextFills(context: CliContext, takes: (option: string) => boolean, given: (option: string) => boolean, env: NodeJS.ProcessEnv = process.env, home: () => string = homedir): Record<string, string> {
  const fills: Record<string, string> = {};
  for (const fill of FILLS) {
    const value = fill.value(context);
    if (value === undefined || !takes(fill.option) || given(fill.option)) continue;
    if (fill.env !== undefined && nonEmpty(env[fill.env]) !== undefined) continue;
    fills[fill.option] = fill.option === 'nats' || fill.option === 'as' ? value : expandHome(value, home);
  }
  return fills;
}

/** `~/x` under the home directory; any other path as it is. */
export function expandHome(path: string, home: () => string = homedir): string {
  return path.startsWith('~/') ? join(home(), path.slice(2)) : path;
}

/** The --context option and the hook that applies the context before the command runs (options.ts adds both). */
export function withContextOption(command: Command, option: (flags: string, description: string) => void): void {
  option('--context <name>', 'the named context of the CLI configuration file to take connection options from (default: $HOSTWRIGHT_CONTEXT, or the file\'s current_context; docs/cli.md)');
  command.hook('preAction', async (hooked, action) => {
    // A parent's hook runs before its subcommand's too: each command applies the context once, to itself.
    if (hooked !== action) return;
    await applyContext(action);
  });
}

/** Fills the command's unset connection options (and --signing-key, --as where it takes them) from the chosen context. */
async function applyContext(command: Command): Promise<void> {
  const options = command.optsWithGlobals<{ local?: boolean; context?: string }>();
  if (options.local === true) return;
  const path = cliConfigPath();
  const flag = options.context;
  // Without a file, only an explicit --context is an error (the user asked for one).
  if (flag === undefined && !existsSync(path)) return;
  const config = await loadCliConfig(path);
  const choice = contextChoice(flag, config);
  if (choice === undefined) return;
  const context = chosenContext(choice, config, path);
  const chain: Command[] = [];
  for (let at: Command | null = command; at !== null; at = at.parent) chain.push(at);
  const takes = (option: string) => command.options.some((candidate) => candidate.attributeName() === option);
  const given = (option: string) => chain.some((at) => at.getOptionValue(option) !== undefined && at.getOptionValueSource(option) !== 'default');
  for (const [option, value] of Object.entries(contextFills(context, takes, given))) command.setOptionValueWithSource(option, value, 'config');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
