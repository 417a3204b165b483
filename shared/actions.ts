import { z } from 'zod';
import { runtimeConfigSchema } from './fleet-spec.js';

/** Phases run in order; a phase ends before the next begins. Within a phase, chains may run in parallel. */
export const phaseSchema = z.enum(['images', 'cleanup', 'instances']);
export type Phase = z.infer<typeof phaseSchema>;

export const instanceKeySchema = z.object({ project: z.string(), service: z.string(), instance: z.number().int() });

const actionBase = {
  /** Position in the plan ("a1", "a2", ...): stable for the same inputs. */
  id: z.string(),
  phase: phaseSchema,
  /** Actions of one chain run in order; a chain is one instance or one container. */
  chain: z.string(),
  reason: z.string(),
};
const instanceActionBase = { ...actionBase, key: instanceKeySchema, name: z.string() };

/** Every change Hostwright can make to a runtime; the executor has exactly one handler per kind. */
export const actionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pull-image'), ...actionBase, image: z.string() }),
  z.object({ kind: z.literal('create'), ...instanceActionBase, specHash: z.string(), config: runtimeConfigSchema }),
  /** containerId is undefined when the container is created earlier in the same chain. */
  z.object({ kind: z.literal('start'), ...instanceActionBase, containerId: z.string().optional(), repair: z.boolean() }),
  /** Moves the old instance out of the way of its start-first successor. */
  z.object({ kind: z.literal('rename'), ...instanceActionBase, containerId: z.string(), newName: z.string() }),
  /** Waits until the container the chain created is healthy (or running, without a health check). */
  z.object({ kind: z.literal('await-healthy'), ...instanceActionBase, timeoutSeconds: z.number().int().min(1) }),
  z.object({ kind: z.literal('unpause'), ...instanceActionBase, containerId: z.string() }),
  z.object({ kind: z.literal('stop'), ...instanceActionBase, containerId: z.string(), timeoutSeconds: z.number().int().min(0) }),
  z.object({ kind: z.literal('remove'), ...instanceActionBase, containerId: z.string(), cleanup: z.boolean() }),
]);
export type Action = z.infer<typeof actionSchema>;
export type ActionKind = Action['kind'];
export type ActionOf<K extends ActionKind> = Extract<Action, { kind: K }>;

/** An action before the plan numbers it. */
export type ActionDraft = Action extends unknown ? DistributiveOmit<Action, 'id'> : never;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'pull-image':
      return `pull image ${action.image}`;
    case 'create':
      return `create ${action.name} (${action.config.image})`;
    case 'start':
      return `start ${action.name}`;
    case 'rename':
      return `rename ${action.name} [${action.containerId.slice(0, 12)}] to ${action.newName}`;
    case 'await-healthy':
      return `wait until ${action.name} is healthy (up to ${action.timeoutSeconds}s)`;
    case 'unpause':
      return `unpause ${action.name} [${action.containerId.slice(0, 12)}]`;
    case 'stop':
      return `stop ${action.name} [${action.containerId.slice(0, 12)}]`;
    case 'remove':
      return `remove ${action.name} [${action.containerId.slice(0, 12)}]`;
  }
}
