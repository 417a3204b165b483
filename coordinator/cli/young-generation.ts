/**
 * The dashboard's young generation, kept small.
 *
 * The dashboard reads one KV message per heartbeat of every host: at 10,000 hosts, hundreds to
 * thousands a second, each leaving short-lived objects behind. V8 sizes the young generation from
 * the machine's memory (three semi-spaces of up to 64 MiB on a 24 GiB machine), and a steady
 * allocation rate keeps it at its largest, so the process would hold some 130 MiB it never needs
 * (bench/RESULTS.md, "Dashboard"). The flag that bounds it can only be given when Node starts, so
 * the process entry starts the dashboard again in place (process.execve: the same pid, stdio and
 * environment) with a 2 MiB semi-space before any module of the program is loaded.
 */

export const DASHBOARD_SEMI_SPACE_MB = 2;

const SEMI_SPACE_FLAG = /(^|\s)--max-semi-space-size(=|\s|$)/;

/** Pure: the arguments to start again with, or undefined when the semi-space was set already (by Hostwright or by the user) or nothing names the script. */
export function withSmallYoungGeneration(execPath: string, execArgv: readonly string[], argv: readonly string[], nodeOptions: string | undefined): string[] | undefined {
  if (execArgv.some((arg) => SEMI_SPACE_FLAG.test(arg)) || SEMI_SPACE_FLAG.test(nodeOptions ?? '')) return undefined;
  const [, script, ...rest] = argv;
  if (script === undefined) return undefined;
  return [execPath, `--max-semi-space-size=${DASHBOARD_SEMI_SPACE_MB}`, ...execArgv, script, ...rest];
}

/** Replaces this process with the same command under a small young generation; on a Node without process.execve (before 23.11) it carries on as it is. */
export function restartWithSmallYoungGeneration(): void {
  if (typeof process.execve !== 'function') return;
  const args = withSmallYoungGeneration(process.execPath, process.execArgv, process.argv, process.env.NODE_OPTIONS);
  if (args !== undefined) process.execve(process.execPath, args, process.env);
}
