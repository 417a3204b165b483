import { InvalidInputError } from '../shared/errors.js';
import { formatPrefix, parsePrefix, prefixContains, prefixSize, subPrefix } from '../shared/ipv4.js';
import { meshTransportOf, type MeshDesired, type MeshRegistration, type MeshSettings } from '../shared/mesh.js';

// Pure: the fleet's address plan (which block each host has) and each host's mesh document.

/** A host that takes part: its registration named a WireGuard key and endpoint. */
export interface MeshMember extends MeshRegistration {
  readonly hostId: string;
}

export class MeshRangeExhaustedError extends InvalidInputError {
  override name = 'MeshRangeExhaustedError';
}

/**
 * Each host's block: a host keeps the block it had (a moved block would renumber every container
 * on it); a new host takes the lowest free one, hosts taken in id order so the plan is the same
 * whoever computes it. A block outside the range, or held twice, is given anew.
 */
export function assignBlocks(settings: MeshSettings, hostIds: readonly string[], previous: ReadonlyMap<string, string>): Map<string, string> {
  const range = parsePrefix(settings.fleetRange);
  if (!range) throw new InvalidInputError(`mesh: ${settings.fleetRange} is not an IPv4 prefix`);
  const blocks = new Map<string, string>();
  const taken = new Set<string>();
  const sorted = [...new Set(hostIds)].sort();
  for (const hostId of sorted) {
    const held = previous.get(hostId);
    const prefix = held === undefined ? undefined : parsePrefix(held);
    if (held !== undefined && prefix && prefix.length === settings.blockPrefix && prefixContains(range, prefix) && !taken.has(held)) {
      blocks.set(hostId, held);
      taken.add(held);
    }
  }
  const capacity = prefixSize(range.length) / prefixSize(settings.blockPrefix);
  let next = 0;
  for (const hostId of sorted) {
    if (blocks.has(hostId)) continue;
    let block: string | undefined;
    while (block === undefined && next < capacity) {
      const candidate = formatPrefix(subPrefix(range, settings.blockPrefix, next++)!);
      if (!taken.has(candidate)) block = candidate;
    }
    if (block === undefined) throw new MeshRangeExhaustedError(`mesh: the fleet range ${settings.fleetRange} holds ${capacity} blocks of /${settings.blockPrefix}, and ${sorted.length} hosts need one: choose a larger fleetRange or a longer blockPrefix`);
    blocks.set(hostId, block);
    taken.add(block);
  }
  return blocks;
}

/**
 * Every member's document: its block and every other member as a peer, in host id order. The
 * revision is the caller's (one more than the last written), the same for every host of a change.
 */
export function meshDocuments(settings: MeshSettings, members: readonly MeshMember[], blocks: ReadonlyMap<string, string>, revision: number): MeshDesired[] {
  const sorted = [...members].sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
  const blockOf = (hostId: string): string => {
    const block = blocks.get(hostId);
    if (block === undefined) throw new InvalidInputError(`mesh: host ${hostId} has no block assigned`);
    return block;
  };
  return sorted.map((member) => ({
    schema: 'hostwright.mesh/v1',
    hostId: member.hostId,
    fleetRange: settings.fleetRange,
    block: blockOf(member.hostId),
    listenPort: settings.listenPort,
    peers: sorted.filter((peer) => peer.hostId !== member.hostId).map((peer) => ({ hostId: peer.hostId, publicKey: peer.publicKey, endpoint: peer.endpoint, block: blockOf(peer.hostId) })),
    revision,
    transport: settings.transport,
  }));
}

export interface MeshWrite {
  readonly document: MeshDesired;
  /** The KV revision the write expects (0: the key must not exist). */
  readonly expectedRevision: number;
  readonly change: 'added' | 'changed' | 'unchanged';
}

/**
 * Pure: what `mesh apply` writes. Blocks stay where the stored documents put them; every changed
 * document gets one revision past the highest stored, so an agent can tell a newer one from a replay.
 */
export function planMeshWrites(settings: MeshSettings, members: readonly MeshMember[], stored: ReadonlyMap<string, { readonly document: MeshDesired; readonly kvRevision: number }>): MeshWrite[] {
  const previous = new Map([...stored].map(([hostId, entry]) => [hostId, entry.document.block]));
  const blocks = assignBlocks(settings, members.map((member) => member.hostId), previous);
  const revision = Math.max(0, ...[...stored.values()].map((entry) => entry.document.revision)) + 1;
  return meshDocuments(settings, members, blocks, revision).map((document): MeshWrite => {
    const held = stored.get(document.hostId);
    if (held === undefined) return { document, expectedRevision: 0, change: 'added' };
    // A document from before the transport setting is a wireguard one: not a change by itself.
    const same = JSON.stringify({ ...held.document, revision: 0, transport: meshTransportOf(held.document) }) === JSON.stringify({ ...document, revision: 0 });
    return same ? { document: held.document, expectedRevision: held.kvRevision, change: 'unchanged' } : { document, expectedRevision: held.kvRevision, change: 'changed' };
  });
}

/** The settings a stored mesh was made with (absent: the defaults), under the flags given. */
export function meshSettingsOf(stored: Iterable<{ readonly document: MeshDesired }>, flags: { readonly fleetRange?: string; readonly blockPrefix?: number; readonly listenPort?: number; readonly transport?: string }, parse: (raw: unknown) => MeshSettings): MeshSettings {
  const first = [...stored][0]?.document;
  const fromStored = first === undefined ? {} : { fleetRange: first.fleetRange, blockPrefix: Number(first.block.split('/')[1]), listenPort: first.listenPort, transport: meshTransportOf(first) };
  return parse({ ...fromStored, ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)) });
}
