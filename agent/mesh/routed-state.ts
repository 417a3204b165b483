import type { MeshAction, MeshLinkDesired, MeshLinkObserved } from './mesh-state.js';

// Pure: the routed transport (flannel's host-gw). No tunnel: each peer's block is routed via the
// peer's underlay address on the host's own link, and the host's mesh address sits on a link of
// its own (the mesh interface name, a dummy, or an empty bridge where the kernel has no dummy).
// Ours are that link, the routes marked with MESH_ROUTE_PROTO, and the forward rule by its comment.

/**
 * The routing protocol number marking the routed transport's routes (they are not on the mesh
 * interface, so its name cannot mark them). Unassigned in linux/rtnetlink.h and iproute2's rt_protos.
 */
export const MESH_ROUTE_PROTO = 104;

/** A peer's block and the underlay address it is routed via. */
export interface GatewayRoute {
  readonly prefix: string;
  readonly via: string;
}

/** Link kinds the routed transport's own interface is made as (a dummy where the kernel has it). */
export const ROUTED_LINK_KINDS = ['dummy', 'bridge'] as const;
export type RoutedLinkKind = (typeof ROUTED_LINK_KINDS)[number];

/** The routed transport's FORWARD rule: its traffic arrives on the underlay, not on the mesh interface. */
export function routedForwardComment(interfaceName: string): string {
  return `hostwright-mesh-${interfaceName}-routed`;
}

/** Whether an observed interface is the routed transport's (a WireGuard one is wireguard or tun). */
export function isRoutedLink(observed: Pick<MeshLinkObserved, 'exists' | 'kind'>): boolean {
  return observed.exists && (ROUTED_LINK_KINDS as readonly string[]).includes(observed.kind ?? '');
}

/**
 * Steps that take away the routed transport's objects that lie outside the interface (routes,
 * forward rule): for the wireguard transport and for no mesh. Deleting the interface is the
 * caller's, as it is for a WireGuard one.
 */
export function routedLeftovers(observed: MeshLinkObserved): MeshAction[] {
  return [
    ...(observed.gatewayRoutes ?? []).map((route): MeshAction => ({ kind: 'remove-gateway-route', route })),
    ...(observed.routedForwardRules ?? []).map((block): MeshAction => ({ kind: 'remove-routed-forward', block })),
  ];
}

/** The steps from what is observed to a routed interface, in the order they must run. */
export function planRoutedLink(desired: MeshLinkDesired, observed: MeshLinkObserved): MeshAction[] {
  const actions: MeshAction[] = [];
  // The WireGuard transport's objects: its interface (routes on it go with it) and its forward rule.
  const tunnel = observed.exists && !isRoutedLink(observed);
  if (tunnel) actions.push({ kind: 'delete-link' });
  for (const block of observed.forwardRules) actions.push({ kind: 'remove-forward', block });
  const present = observed.exists && !tunnel;
  if (!present) actions.push({ kind: 'create-routed-link' });
  const addresses = present ? observed.addresses : [];
  for (const address of addresses) if (address !== desired.address) actions.push({ kind: 'remove-address', address });
  if (!addresses.includes(desired.address)) actions.push({ kind: 'add-address', address: desired.address });
  if (!present || !observed.up) actions.push({ kind: 'link-up' });
  const wanted = desired.gateways ?? [];
  const routes = observed.gatewayRoutes ?? [];
  for (const route of routes) if (!wanted.some((other) => sameRoute(other, route))) actions.push({ kind: 'remove-gateway-route', route });
  for (const route of wanted) if (!routes.some((other) => sameRoute(other, route))) actions.push({ kind: 'add-gateway-route', route });
  const rules = observed.routedForwardRules ?? [];
  for (const block of rules) if (block !== desired.block) actions.push({ kind: 'remove-routed-forward', block });
  if (!rules.includes(desired.block)) actions.push({ kind: 'allow-routed-forward', block: desired.block });
  return actions;
}

/** `ip -4 route show proto 104`: each route's destination and gateway (routes without one are not ours to keep). */
export function parseGatewayRoutes(text: string): GatewayRoute[] {
  return text
    .split('\n')
    .flatMap((line): GatewayRoute[] => {
      const fields = line.trim().split(/\s+/);
      const destination = fields[0] ?? '';
      const via = fields.indexOf('via');
      if (destination === '' || destination === 'default' || via < 0 || fields[via + 1] === undefined) return [];
      return [{ prefix: destination.includes('/') ? destination : `${destination}/32`, via: fields[via + 1]! }];
    })
    .sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

/** `ip -d -o link show dev <if>`: the link's kind (dummy, bridge, wireguard, tun, ...), from the line's detail fields. */
export function parseLinkKind(text: string): string | undefined {
  // -o puts each detail line after a backslash; the kind is the first word of one of them.
  for (const part of text.split('\\').slice(1)) {
    const word = part.trim().split(/\s+/)[0] ?? '';
    if (['dummy', 'bridge', 'wireguard', 'tun', 'veth', 'vxlan'].includes(word)) return word;
  }
  return undefined;
}

function sameRoute(a: GatewayRoute, b: GatewayRoute): boolean {
  return a.prefix === b.prefix && a.via === b.via;
}
