import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assignBlocks, meshDocuments, MeshRangeExhaustedError } from '../../coordinator/mesh-plan.js';
import { formatIpv4, parseIpv4, parsePrefix, prefixContains, prefixesOverlap, subPrefix } from '../../shared/ipv4.js';
import { meshNetworkPlacement } from '../../agent/mesh/mesh-networks.js';
import { meshAddressOf, meshDesiredSchema, meshNetworkCapacity, meshNetworkSubnet, meshSettingsSchema } from '../../shared/mesh.js';

const SETTINGS = meshSettingsSchema.parse({});
const KEY_A = 'YPYw3Sd3J0LALHRxkqNtdyAWHQ1xb6faWVmaUFguXEQ=';
const KEY_B = 'pGzDY7HCDohbxLVyvAtisVCiCVgEI58NrOzk9h5Fr1s=';
const KEY_C = '36JwkF455uKar+Xg9Mr8B+vaRoB8Sk6U+ifL2gs440M=';

describe('ipv4', () => {
  it('parses and formats addresses and prefixes, refusing host bits and bad octets', () => {
    assert.equal(formatIpv4(parseIpv4('10.64.16.1')!), '10.64.16.1');
    assert.equal(parseIpv4('10.256.0.1'), undefined);
    assert.equal(parseIpv4('10.0.0'), undefined);
    assert.deepEqual(parsePrefix('10.64.0.0/12'), { base: parseIpv4('10.64.0.0'), length: 12 });
    assert.equal(parsePrefix('10.64.0.1/12'), undefined, 'host bits set');
    assert.equal(parsePrefix('10.64.0.0/33'), undefined);
    assert.equal(parsePrefix('10.64.0.0'), undefined);
  });

  it('finds sub-prefixes, containment and overlap', () => {
    const range = parsePrefix('10.64.0.0/12')!;
    assert.equal(formatIpv4(subPrefix(range, 20, 1)!.base), '10.64.16.0');
    assert.equal(subPrefix(range, 20, 256), undefined, 'a /12 holds 256 /20s');
    assert.ok(prefixContains(range, parsePrefix('10.79.240.0/20')!));
    assert.ok(!prefixContains(range, parsePrefix('10.80.0.0/20')!));
    assert.ok(prefixesOverlap(parsePrefix('10.64.0.0/20')!, parsePrefix('10.64.15.0/24')!));
    assert.ok(!prefixesOverlap(parsePrefix('10.64.0.0/20')!, parsePrefix('10.64.16.0/24')!));
  });
});

describe('mesh address plan', () => {
  it('gives each host the lowest free block in host id order, and the mesh address and network subnets inside it', () => {
    const blocks = assignBlocks(SETTINGS, ['h2', 'h1', 'h3'], new Map());
    assert.deepEqual([...blocks], [['h1', '10.64.0.0/20'], ['h2', '10.64.16.0/20'], ['h3', '10.64.32.0/20']]);
    const block = parsePrefix('10.64.16.0/20')!;
    assert.equal(meshAddressOf(block), '10.64.16.1');
    assert.equal(meshNetworkSubnet(block, 0) && formatIpv4(meshNetworkSubnet(block, 0)!.base), '10.64.17.0', 'the first /24 holds the mesh address');
    assert.equal(meshNetworkSubnet(block, meshNetworkCapacity(20)), undefined);
    assert.equal(meshNetworkCapacity(20), 15);
  });

  it('keeps a host\'s block across changes, and reassigns one outside the range or held twice', () => {
    const previous = new Map([['h3', '10.64.0.0/20'], ['h9', '10.64.0.0/20'], ['h4', '10.200.0.0/20']]);
    const blocks = assignBlocks(SETTINGS, ['h3', 'h9', 'h4', 'h1'], previous);
    assert.equal(blocks.get('h3'), '10.64.0.0/20', 'the first holder in id order keeps it');
    assert.equal(new Set(blocks.values()).size, 4);
    assert.notEqual(blocks.get('h4'), '10.200.0.0/20');
  });

  it('refuses more hosts than the range holds, naming both settings', () => {
    const small = meshSettingsSchema.parse({ fleetRange: '10.64.0.0/19', blockPrefix: 20 });
    assert.throws(() => assignBlocks(small, ['a', 'b', 'c'], new Map()), (error: unknown) => error instanceof MeshRangeExhaustedError && /fleetRange/.test(error.message) && /blockPrefix/.test(error.message));
  });

  it('refuses settings whose block is not smaller than the range', () => {
    assert.ok(!meshSettingsSchema.safeParse({ fleetRange: '10.64.0.0/20', blockPrefix: 20 }).success);
    assert.ok(!meshSettingsSchema.safeParse({ fleetRange: '10.64.0.1/12' }).success);
  });

  it('is stable and disjoint: any host set and previous plan give blocks inside the range, one per host, kept where valid', () => {
    const hostId = fc.stringMatching(/^h[0-9]{1,3}$/);
    fc.assert(
      fc.property(fc.uniqueArray(hostId, { maxLength: 40 }), fc.uniqueArray(hostId, { maxLength: 40 }), (before, after) => {
        const first = assignBlocks(SETTINGS, before, new Map());
        const second = assignBlocks(SETTINGS, after, first);
        const range = parsePrefix(SETTINGS.fleetRange)!;
        const values = [...second.values()];
        assert.equal(new Set(values).size, values.length);
        for (const block of values) assert.ok(prefixContains(range, parsePrefix(block)!));
        for (const host of after) if (first.has(host)) assert.equal(second.get(host), first.get(host));
      }),
    );
  });

  it('writes each member a document naming every other member as a peer with its block', () => {
    const members = [
      { hostId: 'h2', publicKey: KEY_B, endpoint: '192.0.2.12:51820' },
      { hostId: 'h1', publicKey: KEY_A, endpoint: '192.0.2.11:51820' },
      { hostId: 'h3', publicKey: KEY_C, endpoint: '192.0.2.13:51820' },
    ];
    const blocks = assignBlocks(SETTINGS, members.map((member) => member.hostId), new Map());
    const documents = meshDocuments(SETTINGS, members, blocks, 7);
    assert.deepEqual(documents.map((document) => document.hostId), ['h1', 'h2', 'h3']);
    const h2 = documents[1]!;
    assert.equal(meshDesiredSchema.parse(h2).block, '10.64.16.0/20');
    assert.deepEqual(h2.peers, [
      { hostId: 'h1', publicKey: KEY_A, endpoint: '192.0.2.11:51820', block: '10.64.0.0/20' },
      { hostId: 'h3', publicKey: KEY_C, endpoint: '192.0.2.13:51820', block: '10.64.32.0/20' },
    ]);
    assert.equal(h2.revision, 7);
  });

  it('refuses a document with a malformed key or endpoint', () => {
    const document = { schema: 'hostwright.mesh/v1', hostId: 'h1', fleetRange: '10.64.0.0/12', block: '10.64.0.0/20', listenPort: 51820, revision: 1, peers: [{ hostId: 'h2', publicKey: KEY_B, endpoint: '192.0.2.12:51820', block: '10.64.16.0/20' }] };
    assert.ok(meshDesiredSchema.safeParse(document).success);
    assert.ok(!meshDesiredSchema.safeParse({ ...document, peers: [{ ...document.peers[0], publicKey: 'not-a-key' }] }).success);
    assert.ok(!meshDesiredSchema.safeParse({ ...document, peers: [{ ...document.peers[0], endpoint: 'example.com:51820' }] }).success);
    assert.ok(!meshDesiredSchema.safeParse({ ...document, peers: [{ ...document.peers[0], endpoint: '192.0.2.12:70000' }] }).success);
  });
});

describe('mesh project networks', () => {
  it('take the lowest /24 of the host\'s block that no network of the engine overlaps, with the routed gateway mode', () => {
    assert.deepEqual(meshNetworkPlacement('10.64.16.0/20', []), { subnet: '10.64.17.0/24', gateway: '10.64.17.1', options: { 'com.docker.network.bridge.gateway_mode_ipv4': 'nat-unprotected' } });
    assert.equal(meshNetworkPlacement('10.64.16.0/20', ['10.64.17.0/24', '172.17.0.0/16', '10.64.18.0/23']).subnet, '10.64.20.0/24');
  });

  it('refuses a full block, saying what to do', () => {
    const full = Array.from({ length: 15 }, (_, i) => `10.64.${17 + i}.0/24`);
    assert.throws(() => meshNetworkPlacement('10.64.16.0/20', full), /blockPrefix/);
  });
});
