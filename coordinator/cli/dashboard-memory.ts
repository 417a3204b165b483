/**
 * The dashboard's Node flags: a heap sized for its messages, not for the machine.
 *
 * The dashboard reads one KV message per heartbeat of every host: at 10,000 hosts, 500 a second,
 * each leaving short-lived objects behind. V8 sizes the young generation from the machine's memory
 * (three semi-spaces of up to 64 MiB on a 24 GiB machine), and a steady allocation rate keeps it at
 * its largest; it also lets the old generation fill with promoted garbage well past what the
 * dashboard keeps (about 50 MiB at 10,000 hosts). With a 2 MiB semi-space and V8's
 * `--optimize-for-size` (smaller heap growth, smaller code) the process holds about 140 MiB there
 * instead of 300, with the same first view and filters (bench/RESULTS.md, "Dashboard").
 *
 * Such flags can only be given when Node starts, so the process entry starts the dashboard again in
 * place (process.execve: the same pid, stdio and environment) before any module of the program is
 * loaded. A `--max-semi-space-size` of the user's own (on node's command line or in NODE_OPTIONS)
 * means the heap is theirs to size: nothing is added then.
 */

export const DASHBOARD_SEMI_SPACE_MB = 2;
export const DASHBOARD_NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${DASHBOARD_SEMI_SPACE_MB}`, '--optimize-for-size'];

const SEMI_SPACE_FLAG = /(^|\s)--max-semi-space-size(=|\s|$)/;

/** Pure: the arguments to start again with, or undefined when the semi-space was set already (by Hostwright or by the user) or nothing names the script. */
export function withDashboardFlags(execPath: string, execArgv: readonly string[], argv: readonly string[], nodeOptions: string | undefined): string[] | undefined {
  if (execArgv.some((arg) => SEMI_SPACE_FLAG.test(arg)) || SEMI_SPACE_FLAG.test(nodeOptions ?? '')) return undefined;
  const [, script, ...rest] = argv;
  if (script === undefined) return undefined;
  return [execPath, ...DASHBOARD_NODE_FLAGS, ...execArgv, script, ...rest];
}

/** Replaces this process with the same command under the dashboard's flags; on a Node without process.execve (before 23.11) it carries on as it is. */
export function restartWithDashboardFlags(): void {
  if (typeof process.execve !== 'function') return;
  const args = withDashboardFlags(process.execPath, process.execArgv, process.argv, process.env.NODE_OPTIONS);
  if (args !== undefined) process.execve(process.execPath, args, process.env);
}
