import type { MeshAction } from './mesh-state.js';
import { MESH_ROUTE_PROTO, routedForwardComment, type GatewayRoute } from './routed-state.js';

// The routed transport's steps as commands, for MeshLink to run (in its namespace, under its intent).

export type RoutedAction = Extract<MeshAction, { kind: 'create-routed-link' | 'add-gateway-route' | 'remove-gateway-route' | 'allow-routed-forward' | 'remove-routed-forward' }>;

export const ROUTED_ACTION_KINDS: readonly RoutedAction['kind'][] = ['create-routed-link', 'add-gateway-route', 'remove-gateway-route', 'allow-routed-forward', 'remove-routed-forward'];

export function isRoutedAction(action: MeshAction): action is RoutedAction {
  return (ROUTED_ACTION_KINDS as readonly string[]).includes(action.kind);
}

interface Runner {
  exec(argv: readonly string[]): Promise<string>;
  attempt(argv: readonly string[]): Promise<string | undefined>;
}

/** Runs one routed step. `hint` wraps a failed route add: the usual cause is a peer not on this host's link. */
export async function applyRoutedAction(action: RoutedAction, interfaceName: string, run: Runner, hint: (error: unknown) => Error): Promise<void> {
  switch (action.kind) {
    case 'create-routed-link':
      // A dummy where the kernel has the module; an empty bridge holds an address as well.
      if ((await run.attempt(['ip', 'link', 'add', 'dev', interfaceName, 'type', 'dummy'])) === undefined) await run.exec(['ip', 'link', 'add', 'dev', interfaceName, 'type', 'bridge']);
      return;
    case 'add-gateway-route':
      // add, not replace: a route of the host's own for the same block is not ours to overwrite.
      try {
        await run.exec(gatewayRoute('add', action.route));
      } catch (error) {
        throw hint(error);
      }
      return;
    case 'remove-gateway-route':
      await run.exec(gatewayRoute('del', action.route));
      return;
    case 'allow-routed-forward':
      await run.exec(['iptables', '-w', '-I', 'FORWARD', '1', ...routedForwardRule(action.block, interfaceName)]);
      return;
    case 'remove-routed-forward':
      await run.exec(['iptables', '-w', '-D', 'FORWARD', ...routedForwardRule(action.block, interfaceName)]);
      return;
  }
}

function gatewayRoute(verb: 'add' | 'del', route: GatewayRoute): string[] {
  return ['ip', 'route', verb, route.prefix, 'via', route.via, 'proto', String(MESH_ROUTE_PROTO)];
}

/** Routed traffic arrives on the underlay, from any interface: accepted to this host's own block only. */
export function routedForwardRule(block: string, interfaceName: string): string[] {
  return ['-d', block, '-m', 'comment', '--comment', routedForwardComment(interfaceName), '-j', 'ACCEPT'];
}
