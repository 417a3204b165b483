import { z } from 'zod';

// A container's restart policy as compose writes it: `no`, `always`, `unless-stopped`, `on-failure`
// or `on-failure:<n>` (Docker's RestartPolicy.MaximumRetryCount: the engine gives up after n restarts).

const ON_FAILURE_LIMIT = /^on-failure:(\d{1,4})$/;
const NAMES: ReadonlySet<string> = new Set(['no', 'always', 'on-failure', 'unless-stopped']);

export type RestartPolicy = 'no' | 'always' | 'on-failure' | 'unless-stopped' | `on-failure:${number}`;

export const restartPolicySchema = z.custom<RestartPolicy>((value) => typeof value === 'string' && (NAMES.has(value) || ON_FAILURE_LIMIT.test(value)), {
  // Only text is quoted back (bounded): a decoded document may hold anything, a BigInt among them.
  error: (issue) => `expected "no", "always", "on-failure", "on-failure:<max retries>" (such as on-failure:5) or "unless-stopped", got ${typeof issue.input === 'string' ? `the string ${JSON.stringify(issue.input.slice(0, 64))}` : issue.input === null ? 'null' : `a ${typeof issue.input}`}`,
});

/** The policy names, as an error message lists them. */
export const RESTART_POLICY_FORMS = ['no', 'always', 'on-failure', 'on-failure:<n>', 'unless-stopped'] as const;

/** The engine's RestartPolicy: its name ('' for no) and retry limit (0: none). */
export function engineRestartPolicy(restart: RestartPolicy): { Name: string; MaximumRetryCount: number } {
  const limit = ON_FAILURE_LIMIT.exec(restart);
  if (limit) return { Name: 'on-failure', MaximumRetryCount: Number(limit[1]) };
  return { Name: restart === 'no' ? '' : restart, MaximumRetryCount: 0 };
}

/** A policy under which the engine leaves an exit of code 0 be: the container is a one-shot. */
export function runsOnce(restart: RestartPolicy): boolean {
  return restart === 'no' || engineRestartPolicy(restart).Name === 'on-failure';
}

/**
 * True when the engine will not start this exited container again by itself: any exit under `no`,
 * an exit 0 under `on-failure`, and a failure under `on-failure:<n>` once it restarted it n times.
 * Such a container is left exited (completed, or failed and reported), not restarted as drift.
 */
export function engineLeavesExited(restart: RestartPolicy, exit: { readonly exitCode?: number | undefined; readonly restartCount?: number | undefined }): boolean {
  if (restart === 'no') return true;
  const policy = engineRestartPolicy(restart);
  if (policy.Name !== 'on-failure') return false;
  if (exit.exitCode === 0) return true;
  return policy.MaximumRetryCount > 0 && (exit.restartCount ?? 0) >= policy.MaximumRetryCount;
}
