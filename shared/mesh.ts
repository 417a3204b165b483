import { z } from 'zod';
import { boundedArray } from './bounded.js';
import { hostIdSchema } from './fleet-spec.js';
import { formatIpv4, parseIpv4, parsePrefix, prefixSize, subPrefix, type Ipv4Prefix } from './ipv4.js';

// The data plane between hosts: each host's project networks get subnets from a block of the
// fleet range, and the blocks are routed over a WireGuard mesh whose peers travel in a signed
// per-host document the coordinator signs (docs/networking.md).

/** Most peers one host's document names: a full mesh of this many hosts. */
export const MAX_MESH_PEERS = 4096;
/** The length of each project network's subnet inside a host's block. */
export const MESH_NETWORK_PREFIX = 24;
/** The default fleet range (beside, not on, Kubernetes' default service range 10.96.0.0/12); configurable. */
export const DEFAULT_FLEET_RANGE = '10.64.0.0/12';
export const DEFAULT_BLOCK_PREFIX = 20;
export const DEFAULT_MESH_PORT = 51820;
export { DEFAULT_MESH_INTERFACE, MESH_INTERFACE_PATTERN } from './mesh-interface.js';

/** A WireGuard key as `wg` prints it: 32 bytes in standard base64. */
export const wireguardKeySchema = z.string().regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, 'expected a WireGuard public key (44 characters of base64)');
export const ipv4Schema = z.string().refine((text) => parseIpv4(text) !== undefined, 'expected an IPv4 address such as 192.0.2.10');
export const prefixSchema = z.string().refine((text) => parsePrefix(text) !== undefined, 'expected an IPv4 prefix such as 10.64.0.0/20 (no host bits set)');
/** `address:port` a peer's WireGuard listens on. */
export const endpointSchema = z.string().refine((text) => {
  const at = text.lastIndexOf(':');
  const port = Number(text.slice(at + 1));
  return at > 0 && parseIpv4(text.slice(0, at)) !== undefined && Number.isInteger(port) && port >= 1 && port <= 65535;
}, 'expected address:port such as 192.0.2.10:51820');

/**
 * How blocks travel between hosts. `wireguard`: encrypted, through a tunnel (the default).
 * `routed`: in clear, each peer's block routed via its underlay address on the host's own link
 * (flannel's host-gw): line rate, for a trusted private network only (docs/networking.md).
 */
export const MESH_TRANSPORTS = ['wireguard', 'routed'] as const;
export const meshTransportSchema = z.enum(MESH_TRANSPORTS);
export type MeshTransport = z.infer<typeof meshTransportSchema>;
export const DEFAULT_MESH_TRANSPORT: MeshTransport = 'wireguard';

/** The fleet-level setting: absent, there is no mesh (single-host and non-mesh fleets unchanged). */
export const meshSettingsSchema = z
  .strictObject({
    fleetRange: prefixSchema.default(DEFAULT_FLEET_RANGE),
    blockPrefix: z.number().int().min(16).max(MESH_NETWORK_PREFIX - 1).default(DEFAULT_BLOCK_PREFIX),
    listenPort: z.number().int().min(1).max(65535).default(DEFAULT_MESH_PORT),
    transport: meshTransportSchema.default(DEFAULT_MESH_TRANSPORT),
  })
  .superRefine((settings, ctx) => {
    const range = parsePrefix(settings.fleetRange);
    if (range && range.length >= settings.blockPrefix) ctx.addIssue({ code: 'custom', path: ['blockPrefix'], message: `a host's block (/${settings.blockPrefix}) must be smaller than the fleet range (${settings.fleetRange})` });
  });
export type MeshSettings = z.infer<typeof meshSettingsSchema>;

/** What an agent says of its end of the mesh, in its signed registration. */
export const meshRegistrationSchema = z.strictObject({ publicKey: wireguardKeySchema, endpoint: endpointSchema });
export type MeshRegistration = z.infer<typeof meshRegistrationSchema>;

/**
 * How the host's live mesh compares with the document it holds, as of its last drift check
 * (agent/mesh/mesh-repair.ts), in its signed registration: `mesh` shows it per host.
 */
export const meshLiveSchema = z.strictObject({
  /** The revision of the mesh document the agent holds. */
  revision: z.number().int().min(0),
  /** The interface, addresses, peers, routes and rule matched that document after the check (a repair made them match). */
  inSync: z.boolean(),
  checkedAt: z.string().max(40),
  /** The last repair: when, and how many steps it took. */
  repaired: z.strictObject({ at: z.string().max(40), steps: z.number().int().min(1) }).optional(),
  /** Why the last check could not bring the interface to the document. */
  error: z.string().max(500).optional(),
});
export type MeshLive = z.infer<typeof meshLiveSchema>;

export const meshPeerSchema = z.strictObject({
  hostId: hostIdSchema,
  publicKey: wireguardKeySchema,
  endpoint: endpointSchema,
  /** The peer's block: routed to it, and the only source addresses accepted from it (WireGuard's allowed IPs). */
  block: prefixSchema,
});
export type MeshPeer = z.infer<typeof meshPeerSchema>;

/** One host's end of the mesh, written and signed by the coordinator. */
export const meshDesiredSchema = z.strictObject({
  schema: z.literal('hostwright.mesh/v1'),
  hostId: hostIdSchema,
  fleetRange: prefixSchema,
  block: prefixSchema,
  listenPort: z.number().int().min(1).max(65535),
  peers: boundedArray(meshPeerSchema, MAX_MESH_PEERS),
  /** Increases with every change; the agent applies only a newer one. */
  revision: z.number().int().min(1),
  /** Absent in documents written before the setting existed: wireguard. */
  transport: meshTransportSchema.optional(),
});
export type MeshDesired = z.infer<typeof meshDesiredSchema>;

/** The transport a document asks for. */
export function meshTransportOf(document: Pick<MeshDesired, 'transport'>): MeshTransport {
  return document.transport ?? DEFAULT_MESH_TRANSPORT;
}

/** The underlay address of a peer's endpoint (`address:port`): where the routed transport sends its block. */
export function endpointAddress(endpoint: string): string {
  return endpoint.slice(0, endpoint.lastIndexOf(':'));
}

/** The host's own address in the mesh: the first usable address of its block (its resolver listens there). */
export function meshAddressOf(block: Ipv4Prefix): string {
  return formatIpv4(block.base + 1);
}

/**
 * The subnet of a host's `index`th mesh network (0-based): the block's /24s after the first,
 * which holds the host's mesh address. Undefined when the block has no more.
 */
export function meshNetworkSubnet(block: Ipv4Prefix, index: number): Ipv4Prefix | undefined {
  return subPrefix(block, MESH_NETWORK_PREFIX, index + 1);
}

/** How many mesh networks fit in a block of this length. */
export function meshNetworkCapacity(blockPrefix: number): number {
  return prefixSize(blockPrefix) / prefixSize(MESH_NETWORK_PREFIX) - 1;
}

/**
 * The desired-state key of a host's mesh document: on the host's own desired feed, beside its
 * projects' keys, under a name no project can have (project names start with a letter or digit).
 */
export function meshDesiredKey(hostId: string): string {
  return `${hostId}._mesh`;
}
