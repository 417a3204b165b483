import { endpointAddress, meshAddressOf, meshTransportOf, type MeshDesired, type MeshTransport } from '../../shared/mesh.js';
import { parsePrefix } from '../../shared/ipv4.js';
import { isRoutedLink, planRoutedLink, routedLeftovers, type GatewayRoute } from './routed-state.js';

// Pure: the mesh interface as it should be, as it is (parsed from `wg` and `ip`), and the steps
// from one to the other. Only our interface is ever read or changed: routes are those on it (the
// routed transport's, which are not on it, carry their own mark: routed-state.ts).

export interface MeshPeerConfig {
  readonly publicKey: string;
  readonly endpoint: string;
  readonly allowedIps: readonly string[];
}

export interface MeshLinkDesired {
  /** The host's mesh address as `a.b.c.d/32`. */
  readonly address: string;
  readonly listenPort: number;
  readonly publicKey: string;
  readonly peers: readonly MeshPeerConfig[];
  /** Peer blocks, routed through the interface. */
  readonly routes: readonly string[];
  /** The host's own block: what the forward rule lets in from the mesh. */
  readonly block: string;
  /** Absent: wireguard. */
  readonly transport?: MeshTransport;
  /** Routed transport: each peer block via the peer's underlay address. */
  readonly gateways?: readonly GatewayRoute[];
}

export interface MeshLinkObserved {
  readonly exists: boolean;
  readonly up: boolean;
  readonly publicKey: string | undefined;
  readonly listenPort: number | undefined;
  readonly peers: readonly MeshPeerConfig[];
  readonly addresses: readonly string[];
  readonly routes: readonly string[];
  /** Destinations of our FORWARD accept rules (found by their comment), independent of the interface. */
  readonly forwardRules: readonly string[];
  /** The interface's link kind (`ip -d link`): dummy or bridge for the routed transport, wireguard or tun for WireGuard. */
  readonly kind?: string;
  /** Routes marked as the routed transport's (MESH_ROUTE_PROTO), on whatever device. */
  readonly gatewayRoutes?: readonly GatewayRoute[];
  /** Destinations of the routed transport's FORWARD rules (by their comment). */
  readonly routedForwardRules?: readonly string[];
}

export const ABSENT_LINK: MeshLinkObserved = { exists: false, up: false, publicKey: undefined, listenPort: undefined, peers: [], addresses: [], routes: [], forwardRules: [] };

/** Marks our FORWARD rule: the engine's FORWARD policy drops new connections to containers from elsewhere. */
export function forwardComment(interfaceName: string): string {
  return `hostwright-mesh-${interfaceName}`;
}

export type MeshAction =
  | { readonly kind: 'create-link' }
  | { readonly kind: 'configure-link'; readonly listenPort: number }
  | { readonly kind: 'add-address'; readonly address: string }
  | { readonly kind: 'remove-address'; readonly address: string }
  | { readonly kind: 'link-up' }
  | { readonly kind: 'set-peer'; readonly peer: MeshPeerConfig }
  | { readonly kind: 'remove-peer'; readonly publicKey: string }
  | { readonly kind: 'add-route'; readonly prefix: string }
  | { readonly kind: 'remove-route'; readonly prefix: string }
  | { readonly kind: 'allow-forward'; readonly block: string }
  | { readonly kind: 'remove-forward'; readonly block: string }
  | { readonly kind: 'delete-link' }
  | { readonly kind: 'create-routed-link' }
  | { readonly kind: 'add-gateway-route'; readonly route: GatewayRoute }
  | { readonly kind: 'remove-gateway-route'; readonly route: GatewayRoute }
  | { readonly kind: 'allow-routed-forward'; readonly block: string }
  | { readonly kind: 'remove-routed-forward'; readonly block: string };

/** The interface a signed mesh document asks for, with this host's key. */
export function linkDesiredOf(mesh: MeshDesired, publicKey: string): MeshLinkDesired {
  const block = parsePrefix(mesh.block);
  if (!block) throw new RangeError(`not a prefix: ${mesh.block}`);
  return {
    address: `${meshAddressOf(block)}/32`,
    listenPort: mesh.listenPort,
    publicKey,
    peers: mesh.peers.map((peer) => ({ publicKey: peer.publicKey, endpoint: peer.endpoint, allowedIps: [peer.block] })),
    routes: mesh.peers.map((peer) => peer.block).sort(),
    block: mesh.block,
    ...(meshTransportOf(mesh) === 'routed' ? routedDesired(mesh) : {}),
  };
}

/** Routed: no tunnel peers or routes on the interface; each peer's block via its endpoint's address. */
function routedDesired(mesh: MeshDesired): Pick<MeshLinkDesired, 'transport' | 'gateways' | 'peers' | 'routes'> {
  const gateways = mesh.peers.map((peer) => ({ prefix: peer.block, via: endpointAddress(peer.endpoint) })).sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  return { transport: 'routed', gateways, peers: [], routes: [] };
}

/** The steps, in the order they must run; none when the interface is as desired. `undefined`: no mesh. */
export function planMeshLink(desired: MeshLinkDesired | undefined, observed: MeshLinkObserved): MeshAction[] {
  if (desired?.transport === 'routed') return planRoutedLink(desired, observed);
  // The routed transport's objects go first; its interface is not a WireGuard one: deleted, then made anew.
  const routedLink = isRoutedLink(observed);
  const tunnel: MeshLinkObserved = routedLink ? { ...ABSENT_LINK, forwardRules: observed.forwardRules } : observed;
  return [...routedLeftovers(observed), ...(routedLink ? [{ kind: 'delete-link' } as const] : []), ...planWireguardLink(desired, tunnel)];
}

function planWireguardLink(desired: MeshLinkDesired | undefined, observed: MeshLinkObserved): MeshAction[] {
  const strayRules = observed.forwardRules.filter((block) => block !== desired?.block).map((block): MeshAction => ({ kind: 'remove-forward', block }));
  if (desired === undefined) return [...strayRules, ...(observed.exists ? [{ kind: 'delete-link' } as const] : [])];
  const actions: MeshAction[] = [];
  const current = observed.exists ? observed : ABSENT_LINK;
  if (!observed.exists) actions.push({ kind: 'create-link' });
  if (current.publicKey !== desired.publicKey || current.listenPort !== desired.listenPort) actions.push({ kind: 'configure-link', listenPort: desired.listenPort });
  for (const address of current.addresses) if (address !== desired.address) actions.push({ kind: 'remove-address', address });
  if (!current.addresses.includes(desired.address)) actions.push({ kind: 'add-address', address: desired.address });
  if (!current.up) actions.push({ kind: 'link-up' });
  const wanted = new Map(desired.peers.map((peer) => [peer.publicKey, peer]));
  for (const peer of current.peers) if (!wanted.has(peer.publicKey)) actions.push({ kind: 'remove-peer', publicKey: peer.publicKey });
  const present = new Map(current.peers.map((peer) => [peer.publicKey, peer]));
  for (const peer of desired.peers) {
    const seen = present.get(peer.publicKey);
    if (!seen || seen.endpoint !== peer.endpoint || !sameSet(seen.allowedIps, peer.allowedIps)) actions.push({ kind: 'set-peer', peer });
  }
  for (const route of current.routes) if (!desired.routes.includes(route) && route !== desired.address) actions.push({ kind: 'remove-route', prefix: route });
  for (const route of desired.routes) if (!current.routes.includes(route)) actions.push({ kind: 'add-route', prefix: route });
  actions.push(...strayRules);
  if (!observed.forwardRules.includes(desired.block)) actions.push({ kind: 'allow-forward', block: desired.block });
  return actions;
}

/** One line of `plan` for a step. */
export function describeMeshAction(action: MeshAction, interfaceName: string): string {
  switch (action.kind) {
    case 'create-link':
      return `create WireGuard interface ${interfaceName}`;
    case 'configure-link':
      return `set ${interfaceName}'s key and listen port ${action.listenPort}`;
    case 'add-address':
      return `add mesh address ${action.address} to ${interfaceName}`;
    case 'remove-address':
      return `remove address ${action.address} from ${interfaceName}`;
    case 'link-up':
      return `bring ${interfaceName} up`;
    case 'set-peer':
      return `set peer ${action.peer.publicKey} at ${action.peer.endpoint} (${action.peer.allowedIps.join(', ')})`;
    case 'remove-peer':
      return `remove peer ${action.publicKey}`;
    case 'add-route':
      return `route ${action.prefix} via ${interfaceName}`;
    case 'remove-route':
      return `remove route ${action.prefix} via ${interfaceName}`;
    case 'allow-forward':
      return `accept forwarded connections from ${interfaceName} to ${action.block}`;
    case 'remove-forward':
      return `remove the forward rule from ${interfaceName} to ${action.block}`;
    case 'delete-link':
      return `delete interface ${interfaceName} (and its routes)`;
    case 'create-routed-link':
      return `create interface ${interfaceName} for the mesh address (routed transport: no tunnel)`;
    case 'add-gateway-route':
      return `route ${action.route.prefix} via ${action.route.via} (routed transport, in clear)`;
    case 'remove-gateway-route':
      return `remove route ${action.route.prefix} via ${action.route.via}`;
    case 'allow-routed-forward':
      return `accept forwarded connections from the underlay to ${action.block} (routed transport)`;
    case 'remove-routed-forward':
      return `remove the routed forward rule to ${action.block}`;
  }
}

/** `wg show <if> dump`: the interface line, then one line per peer, tab-separated. */
export function parseWgDump(text: string): Pick<MeshLinkObserved, 'publicKey' | 'listenPort' | 'peers'> {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const [head, ...peerLines] = lines;
  if (head === undefined) return { publicKey: undefined, listenPort: undefined, peers: [] };
  const fields = head.split('\t');
  const peers = peerLines.map((line): MeshPeerConfig => {
    const [publicKey = '', , endpoint = '', allowed = ''] = line.split('\t');
    return { publicKey, endpoint: endpoint === '(none)' ? '' : endpoint, allowedIps: allowed === '(none)' || allowed === '' ? [] : allowed.split(',') };
  });
  const port = Number(fields[2]);
  return { publicKey: fields[1] === '(none)' ? undefined : fields[1], listenPort: Number.isInteger(port) && port > 0 ? port : undefined, peers };
}

/** `ip -o -4 addr show dev <if>`: the `inet` prefixes. */
export function parseAddresses(text: string): string[] {
  return [...text.matchAll(/\binet (\S+)/g)].map((match) => withLength(match[1]!));
}

/** `ip -4 route show dev <if>`: each route's destination, a bare address as /32. */
export function parseRoutes(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((destination) => destination !== '' && destination !== 'default')
    .map(withLength)
    .sort();
}

/** `ip -o link show dev <if>`: whether the UP flag is set. */
export function parseLinkUp(text: string): boolean {
  const flags = /<([^>]*)>/.exec(text)?.[1] ?? '';
  return flags.split(',').includes('UP');
}

function withLength(destination: string): string {
  return destination.includes('/') ? destination : `${destination}/32`;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

/** `iptables -S FORWARD`: the destinations of the accept rules carrying our comment. */
export function parseForwardRules(text: string, interfaceName: string): string[] {
  return rulesWithComment(text, forwardComment(interfaceName));
}

/** The destinations of the rules whose comment is exactly this one (not one it is a prefix of). */
export function rulesWithComment(text: string, comment: string): string[] {
  return text
    .split('\n')
    .filter((line) => /--comment (\S+|"[^"]*")/.exec(line)?.[1]?.replace(/^"|"$/g, '') === comment)
    .flatMap((line) => /-d (\S+)/.exec(line)?.[1] ?? [])
    .sort();
}
