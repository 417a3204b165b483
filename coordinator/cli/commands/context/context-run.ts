import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { cliConfigSchema, contextNameSchema, cliContextSchema, type CliConfig, type CliContext } from '../../../../shared/cli-config.js';
import { didYouMean } from '../../../../shared/did-you-mean.js';
import { InvalidInputError } from '../../../../shared/errors.js';
import { parseYamlFile } from '../../../fleet-file.js';
import { cliConfigPath, contextChoice, loadCliConfig, serversOf, type ContextChoice } from '../../cli-context.js';
import { printable, printableJson } from '../../render/printable.js';
import { renderTable } from '../../render/table.js';
import { editedContext } from './context-edit.js';
import type { ContextReadOptions, ContextSetOptions } from './options.js';

const HEADER = '# Hostwright CLI configuration (docs/cli.md, "Contexts"): paths to credentials and keys, never the keys themselves.\n';
/** Schema paths of a context, as the flags of `context set` name them. */
const FLAG_OF: Record<string, string> = { 'nats.servers': '--nats', 'nats.creds': '--creds', 'nats.tls': '--tls-cert/--tls-key', 'nats.tls.ca': '--tls-ca', 'nats.tls.cert': '--tls-cert', 'nats.tls.key': '--tls-key', signing_key: '--signing-key', fleet_auth: '--fleet-auth', as: '--as' };

export async function listContexts(options: ContextReadOptions): Promise<void> {
  const path = cliConfigPath();
  const config = await loadCliConfig(path);
  const inUse = contextChoice(undefined, config);
  const contexts = Object.entries(config.contexts ?? {}).map(([name, context]) => ({ name, current: name === inUse?.name, nats: serversOf(context) ?? null }));
  if (options.json) {
    process.stdout.write(`${printableJson({ schema: 'hostwright.contexts/v1', config: path, current: inUse?.name ?? null, currentFrom: inUse?.from ?? null, contexts }, 2)}\n`);
    return;
  }
  if (contexts.length === 0) {
    process.stdout.write(`no contexts in ${printable(path)} (add one: hostwright context set NAME --nats URL --creds FILE --use)\n`);
    return;
  }
  process.stdout.write(`${renderTable(['CURRENT', 'NAME', 'NATS'], contexts.map((context) => [context.current ? '*' : '', context.name, context.nats ?? '-']))}\n`);
}

export async function showContext(name: string | undefined, options: ContextReadOptions): Promise<void> {
  const path = cliConfigPath();
  const config = await loadCliConfig(path);
  const choice: ContextChoice | undefined = name === undefined ? contextChoice(undefined, config) : { name, from: '--context' };
  if (choice === undefined) throw new InvalidInputError(`no context is in use: name one (hostwright context show NAME), or choose one with hostwright context use NAME (${path})`);
  const context = existing(config, choice.name, path);
  if (options.json) {
    process.stdout.write(`${printableJson({ schema: 'hostwright.context/v1', config: path, name: choice.name, from: name === undefined ? choice.from : null, context }, 2)}\n`);
    return;
  }
  const rows: [string, string | undefined][] = [
    ['nats', serversOf(context)],
    ['creds', context.nats?.creds],
    ['tls-ca', context.nats?.tls?.ca],
    ['tls-cert', context.nats?.tls?.cert],
    ['tls-key', context.nats?.tls?.key],
    ['signing-key', context.signing_key],
    ['fleet-auth', context.fleet_auth],
    ['as', context.as],
  ];
  const why = name === undefined ? ` (in use, from ${choice.from})` : '';
  process.stdout.write(`context ${printable(choice.name)}${why} in ${printable(path)}\n${renderTable(['KEY', 'VALUE'], rows.map(([key, value]) => [key, value ?? '-']))}\n`);
}

export async function useContext(name: string): Promise<void> {
  const path = cliConfigPath();
  existing(await loadCliConfig(path), name, path);
  await editConfig(path, (document) => document.set('current_context', name));
  process.stdout.write(`fleet commands now use context ${printable(name)}${process.env.HOSTWRIGHT_CONTEXT ? ` (but $HOSTWRIGHT_CONTEXT=${printable(process.env.HOSTWRIGHT_CONTEXT)} wins in this shell)` : ''}\n`);
}

export async function setContext(name: string, options: ContextSetOptions): Promise<void> {
  const named = contextNameSchema.safeParse(name);
  if (!named.success) throw new InvalidInputError(`context set ${JSON.stringify(name)}: ${named.error.issues.map((issue) => issue.message).join('; ')}`);
  const path = cliConfigPath();
  const config = await loadCliConfig(path);
  const before = config.contexts?.[name];
  const checked = cliContextSchema.safeParse(editedContext(before, options, process.cwd()));
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) => `${FLAG_OF[issue.path.join('.')] ?? issue.path.join('.')}: ${issue.message}`);
    throw new InvalidInputError(`context set ${name}: ${problems.join('; ')}`);
  }
  await editConfig(path, (document) => {
    document.setIn(['contexts', name], checked.data);
    if (options.use === true) document.set('current_context', name);
  });
  process.stdout.write(`${before === undefined ? 'added' : 'updated'} context ${name} in ${printable(path)}${options.use === true ? '; fleet commands now use it' : ''}\n`);
}

export async function removeContext(name: string): Promise<void> {
  const path = cliConfigPath();
  const config = await loadCliConfig(path);
  existing(config, name, path);
  await editConfig(path, (document) => {
    document.deleteIn(['contexts', name]);
    if (config.current_context === name) document.delete('current_context');
  });
  process.stdout.write(`removed context ${name} from ${printable(path)}${config.current_context === name ? ' (it was the one in use: no context is now)' : ''}\n`);
}

function existing(config: CliConfig, name: string, path: string): CliContext {
  const context = config.contexts?.[name];
  if (context !== undefined) return context;
  const names = Object.keys(config.contexts ?? {});
  throw new InvalidInputError(`no context ${JSON.stringify(name)} in ${path}${names.length === 0 ? ' (it has none: hostwright context set NAME --nats URL)' : `: it has ${names.join(', ')}${didYouMean(name, names)}`}`);
}

/**
 * Edits the file as a YAML document, so the user's comments and order stay; the result is checked
 * against the schema, then written through a temporary file and a rename (a crash leaves the old
 * file or the new one), readable by its owner only.
 */
async function editConfig(path: string, edit: (document: Document) => void): Promise<void> {
  const old = existsSync(path) ? await readFile(path, 'utf8') : HEADER;
  const document: Document = parseDocument(old);
  if (document.contents === null) document.contents = document.createNode({});
  edit(document);
  const text = document.toString();
  parseYamlFile(text, path, cliConfigSchema, { what: 'CLI configuration file', whenEmpty: 'expected `contexts:`', example: 'config.yaml' });
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, text, { mode: 0o600 });
  await rename(temporary, path);
}
