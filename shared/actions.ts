import { z } from 'zod';
import { runtimeConfigSchema } from './fleet-spec.js';
import { networkSpecSchema, volumeSpecSchema } from './project-resources.js';
import { dependencyConditionSchema } from './depends-on.js';

/**
 * Phases run in order; a phase ends before the next begins. Within a phase, chains may run in
 * parallel. setup makes the networks and volumes the containers need; teardown removes those no
 * container uses any more, once the containers are gone.
 */
export const phaseSchema = z.enum(['images', 'setup', 'cleanup', 'instances', 'teardown']);
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
/** A network's or volume's: its project, its key there (`default`, `data`) and its name on the engine. */
const resourceActionBase = { ...actionBase, project: z.string(), resource: z.string(), name: z.string() };

/**
 * Where a container is plugged in, resolved to engine names: its network mode, or the networks it
 * joins (with their DNS aliases, the first one at create and the others right after), and the
 * engine volume of each named volume it mounts. Absent in plans made before networks existed:
 * Docker's default bridge and the volume names as written.
 */
export const attachmentsSchema = z.object({
  networkMode: z.string().optional(),
  networks: z.array(z.object({ name: z.string(), aliases: z.array(z.string()), ipv4Address: z.string().optional() })),
  volumes: z.record(z.string(), z.string()),
});
export type Attachments = z.infer<typeof attachmentsSchema>;

/** Every change Hostwright can make to a runtime; the executor has exactly one handler per kind. */
export const actionSchema = z.discriminatedUnion('kind', [
  /** projects: those on this host that need the image (absent in plans made before it was recorded). */
  z.object({ kind: z.literal('pull-image'), ...actionBase, image: z.string(), projects: z.array(z.string()).optional() }),
  z.object({ kind: z.literal('create-network'), ...resourceActionBase, specHash: z.string(), spec: networkSpecSchema }),
  z.object({ kind: z.literal('create-volume'), ...resourceActionBase, specHash: z.string(), spec: volumeSpecSchema }),
  /** restartGeneration: the service's restart generation the new container counts as restarted for (absent: none asked). */
  z.object({ kind: z.literal('create'), ...instanceActionBase, specHash: z.string(), config: runtimeConfigSchema, attach: attachmentsSchema.optional(), restartGeneration: z.number().int().optional() }),
  /**
   * containerId is undefined when the container is created earlier in the same chain. restartGeneration:
   * this start restarts the instance for that generation (`hostwright restart`), recorded once it started.
   */
  z.object({ kind: z.literal('start'), ...instanceActionBase, containerId: z.string().optional(), repair: z.boolean(), restartGeneration: z.number().int().optional() }),
  /** Moves the old instance out of the way of its start-first successor. */
  z.object({ kind: z.literal('rename'), ...instanceActionBase, containerId: z.string(), newName: z.string() }),
  /** Waits until the container the chain created is healthy (or running, without a health check). */
  z.object({ kind: z.literal('await-healthy'), ...instanceActionBase, timeoutSeconds: z.number().int().min(1) }),
  /**
   * Starts an instance's chain when the chain depends on another service (depends_on): runs once
   * every chain of that service in this plan has ended, and waits until its containers (`containers`,
   * engine names) meet the condition. `hosts`: the dependency runs on those other hosts instead,
   * and is waited for through the endpoint registry (agent/core/remote-dependency.ts).
   */
  z.object({ kind: z.literal('await-dependency'), ...instanceActionBase, dependency: z.string(), condition: dependencyConditionSchema, containers: z.array(z.string()), timeoutSeconds: z.number().int().min(1), hosts: z.array(z.string()).optional() }),
  z.object({ kind: z.literal('unpause'), ...instanceActionBase, containerId: z.string() }),
  z.object({ kind: z.literal('stop'), ...instanceActionBase, containerId: z.string(), timeoutSeconds: z.number().int().min(0) }),
  z.object({ kind: z.literal('remove'), ...instanceActionBase, containerId: z.string(), cleanup: z.boolean() }),
  z.object({ kind: z.literal('remove-network'), ...resourceActionBase, networkId: z.string() }),
  /** Only on request (apply --prune-volumes): a volume holds data, so an unused one is otherwise kept and reported. */
  z.object({ kind: z.literal('remove-volume'), ...resourceActionBase }),
  /**
   * Cleanup of an image Hostwright pulled that no desired, applied or previous revision names any more:
   * removed by its references (all pulled by Hostwright), and only while it has no other. name: the first, for display.
   */
  z.object({ kind: z.literal('remove-image'), ...actionBase, name: z.string(), imageId: z.string(), references: z.array(z.string()).min(1) }),
]);
export type Action = z.infer<typeof actionSchema>;
export type ActionKind = Action['kind'];
export type ActionOf<K extends ActionKind> = Extract<Action, { kind: K }>;
export type ResourceAction = ActionOf<'create-network' | 'create-volume' | 'remove-network' | 'remove-volume'>;
export type InstanceAction = Exclude<Action, ResourceAction | ActionOf<'pull-image' | 'remove-image'>>;

/** Actions on the host's images: they belong to the host, not to one project. */
export function isImageAction(action: Action): action is ActionOf<'pull-image' | 'remove-image'> {
  return action.kind === 'pull-image' || action.kind === 'remove-image';
}

export function isResourceAction(action: Action): action is ResourceAction {
  return action.kind === 'create-network' || action.kind === 'create-volume' || action.kind === 'remove-network' || action.kind === 'remove-volume';
}

/** The project an action belongs to; an image pull or removal belongs to the host (several projects may need it). */
export function projectOfAction(action: Action): string | undefined {
  if (isImageAction(action)) return undefined;
  return isResourceAction(action) ? action.project : action.key.project;
}

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
    case 'await-dependency':
      if (action.hosts !== undefined) return `wait until ${action.dependency} ${conditionText(action.condition)} on ${action.hosts.join(', ')} (endpoint registry) before ${action.name} (up to ${action.timeoutSeconds}s)`;
      return `wait until ${action.dependency} ${conditionText(action.condition)} before ${action.name} (up to ${action.timeoutSeconds}s)`;
    case 'unpause':
      return `unpause ${action.name} [${action.containerId.slice(0, 12)}]`;
    case 'stop':
      return `stop ${action.name} [${action.containerId.slice(0, 12)}]`;
    case 'remove':
      return `remove ${action.name} [${action.containerId.slice(0, 12)}]`;
    case 'create-network':
      return `create network ${action.name}`;
    case 'create-volume':
      return `create volume ${action.name}`;
    case 'remove-network':
      return `remove network ${action.name}`;
    case 'remove-volume':
      return `remove volume ${action.name} (pruned: no service uses it)`;
    case 'remove-image':
      return `remove image ${action.references.join(', ')} [${action.imageId.replace(/^sha256:/, '').slice(0, 12)}]`;
  }
}

/** A depends_on condition across hosts as the plan says it: "healthy", "started". */
export function remoteConditionText(condition: ActionOf<'await-dependency'>['condition']): string {
  return condition === 'service_healthy' ? 'healthy' : condition === 'service_completed_successfully' ? 'completed' : 'started';
}

/** A depends_on condition as the plan says it: "api is healthy". */
export function conditionText(condition: ActionOf<'await-dependency'>['condition']): string {
  return condition === 'service_healthy' ? 'is healthy' : condition === 'service_completed_successfully' ? 'has completed successfully' : 'is running';
}
