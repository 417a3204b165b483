import { z } from 'zod';

/**
 * An instance that is not doing its job although its container exists: the runtime keeps restarting
 * it (`crashloop`), or it exited non-zero under a restart policy that will not start it again
 * (`failed`). Its last output is bounded as Kubernetes bounds a termination message (80 lines, 2 KiB),
 * with the service's secret env values masked.
 */
export const instanceConditionSchema = z.object({
  kind: z.enum(['crashloop', 'failed']),
  /** The exit code of its last run, when the runtime said. */
  exitCode: z.number().int().optional(),
  /** The kernel killed its last run for exceeding its memory limit. */
  oomKilled: z.boolean(),
  restartCount: z.number().int(),
  lastLines: z.array(z.string()),
  /** When the agent first saw the container in this condition. */
  since: z.string(),
});
export type InstanceCondition = z.infer<typeof instanceConditionSchema>;

/** "crashloop (exit 3)", "failed (exit 137, OOMKilled)": the short form status tables and progress lines show. */
export function conditionSummary(condition: InstanceCondition): string {
  const facts = [...(condition.exitCode === undefined ? [] : [`exit ${condition.exitCode}`]), ...(condition.oomKilled ? ['OOMKilled'] : [])];
  return facts.length > 0 ? `${condition.kind} (${facts.join(', ')})` : condition.kind;
}

/**
 * The last lines of its output that are not blank, at most `count`: a restarted container's output
 * runs on, so its very last line may be the next run's first.
 */
export function lastOutputLines(condition: InstanceCondition, count = 3): string[] {
  return condition.lastLines.filter((line) => line.trim() !== '').slice(-count);
}

/**
 * The instances that crash-loop or failed, each with its exit code and last lines of output
 * (`shop-api-1 crashloop (exit 3): "starting" "FATAL: API_TOKEN is not set"`); undefined when none does.
 */
export function conditionsDetail(project: { readonly instances: readonly { readonly name: string; readonly condition?: InstanceCondition | undefined }[] }): string | undefined {
  const failing = project.instances.flatMap((instance) => {
    if (!instance.condition) return [];
    const lines = lastOutputLines(instance.condition);
    return [`${instance.name} ${conditionSummary(instance.condition)}${lines.length === 0 ? '' : `: ${lines.map((line) => JSON.stringify(line)).join(' ')}`}`];
  });
  return failing.length === 0 ? undefined : failing.join('; ');
}
