import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ABSENT_LINK, describeMeshAction, linkDesiredOf, parseAddresses, parseForwardRules, parseLinkUp, parseRoutes, parseWgDump, planMeshLink, type MeshLinkObserved } from '../../agent/mesh/mesh-state.js';
import { meshRepairEvent } from '../../agent/mesh/mesh-repair.js';
import { HOST_PROJECT, hostwrightEventSchema } from '../../shared/events.js';
import type { MeshDesired } from '../../shared/mesh.js';

const OWN_KEY = 'YPYw3Sd3J0LALHRxkqNtdyAWHQ1xb6faWVmaUFguXEQ=';
const KEY_B = 'pGzDY7HCDohbxLVyvAtisVCiCVgEI58NrOzk9h5Fr1s=';
const KEY_C = '36JwkF455uKar+Xg9Mr8B+vaRoB8Sk6U+ifL2gs440M=';

const MESH: MeshDesired = {
  schema: 'hostwright.mesh/v1',
  hostId: 'h1',
  fleetRange: '10.64.0.0/12',
  block: '10.64.0.0/20',
  listenPort: 51820,
  revision: 3,
  peers: [
    { hostId: 'h2', publicKey: KEY_B, endpoint: '192.0.2.12:51820', block: '10.64.16.0/20' },
    { hostId: 'h3', publicKey: KEY_C, endpoint: '192.0.2.13:51820', block: '10.64.32.0/20' },
  ],
};

/** What the interface looks like once every step of the plan ran. */
function converged(): MeshLinkObserved {
  const desired = linkDesiredOf(MESH, OWN_KEY);
  return { exists: true, up: true, publicKey: OWN_KEY, listenPort: 51820, peers: desired.peers, addresses: [desired.address], routes: [...desired.routes], forwardRules: [desired.block] };
}

describe('mesh interface plan', () => {
  it('makes an absent interface in order: create, key, address, up, peers, routes, then lets the mesh in to its own block', () => {
    const actions = planMeshLink(linkDesiredOf(MESH, OWN_KEY), ABSENT_LINK);
    assert.deepEqual(actions.map((action) => action.kind), ['create-link', 'configure-link', 'add-address', 'link-up', 'set-peer', 'set-peer', 'add-route', 'add-route', 'allow-forward']);
    assert.deepEqual(actions.at(-1), { kind: 'allow-forward', block: '10.64.0.0/20' });
  });

  it('plans nothing for an interface as desired (idempotent)', () => {
    assert.deepEqual(planMeshLink(linkDesiredOf(MESH, OWN_KEY), converged()), []);
  });

  it('removes a peer and its route when the host left the mesh, and sets a moved endpoint', () => {
    const next: MeshDesired = { ...MESH, revision: 4, peers: [{ ...MESH.peers[0]!, endpoint: '192.0.2.22:51820' }] };
    const actions = planMeshLink(linkDesiredOf(next, OWN_KEY), converged());
    assert.deepEqual(actions, [
      { kind: 'remove-peer', publicKey: KEY_C },
      { kind: 'set-peer', peer: { publicKey: KEY_B, endpoint: '192.0.2.22:51820', allowedIps: ['10.64.16.0/20'] } },
      { kind: 'remove-route', prefix: '10.64.32.0/20' },
    ]);
  });

  it('deletes the interface and its forward rule when the mesh is removed, and does nothing when there is none', () => {
    assert.deepEqual(planMeshLink(undefined, converged()), [{ kind: 'remove-forward', block: '10.64.0.0/20' }, { kind: 'delete-link' }]);
    assert.deepEqual(planMeshLink(undefined, ABSENT_LINK), []);
    assert.deepEqual(planMeshLink(undefined, { ...ABSENT_LINK, forwardRules: ['10.64.0.0/20'] }), [{ kind: 'remove-forward', block: '10.64.0.0/20' }], 'a rule left by a pass cut short');
  });

  it('re-keys an interface that holds another key (a key file replaced) and drops a stray address', () => {
    const observed = { ...converged(), publicKey: KEY_C, addresses: ['10.64.0.1/32', '10.64.5.5/32'] };
    assert.deepEqual(planMeshLink(linkDesiredOf(MESH, OWN_KEY), observed).map((action) => action.kind), ['configure-link', 'remove-address']);
  });

  it('says every step in words for plan', () => {
    for (const action of planMeshLink(linkDesiredOf(MESH, OWN_KEY), ABSENT_LINK)) assert.match(describeMeshAction(action, 'hwmesh0'), /hwmesh0|peer/);
    assert.equal(describeMeshAction({ kind: 'delete-link' }, 'hwmesh0'), 'delete interface hwmesh0 (and its routes)');
  });
});

describe('mesh interface observation', () => {
  it('reads `wg show dump`', () => {
    const dump = `priv\t${OWN_KEY}\t51820\toff\n${KEY_B}\t(none)\t10.250.77.2:51820\t10.64.16.0/20\t1796644101\t10148\t1284\t5\n${KEY_C}\t(none)\t(none)\t(none)\t0\t0\t0\toff\n`;
    assert.deepEqual(parseWgDump(dump), {
      publicKey: OWN_KEY,
      listenPort: 51820,
      peers: [
        { publicKey: KEY_B, endpoint: '10.250.77.2:51820', allowedIps: ['10.64.16.0/20'] },
        { publicKey: KEY_C, endpoint: '', allowedIps: [] },
      ],
    });
    assert.deepEqual(parseWgDump('(none)\t(none)\t0\toff\n'), { publicKey: undefined, listenPort: undefined, peers: [] });
  });

  it('reads our forward rules from `iptables -S FORWARD` by their comment, and no other', () => {
    const rules = ['-P FORWARD DROP', '-A FORWARD -d 10.64.0.0/20 -i hwmesh0 -m comment --comment hostwright-mesh-hwmesh0 -j ACCEPT', '-A FORWARD -d 10.64.16.0/20 -i hwmesh1 -m comment --comment hostwright-mesh-hwmesh1 -j ACCEPT', '-A FORWARD -d 10.64.0.0/20 -i eth0 -j ACCEPT'].join('\n');
    assert.deepEqual(parseForwardRules(rules, 'hwmesh0'), ['10.64.0.0/20']);
  });

  it('reads `ip` addresses, routes and the UP flag', () => {
    assert.deepEqual(parseAddresses('3: hwmA    inet 10.64.0.1/32 scope global hwmA\\       valid_lft forever preferred_lft forever\n'), ['10.64.0.1/32']);
    assert.deepEqual(parseRoutes('10.64.32.0/20 scope link \n10.64.16.0/20 scope link \n10.111.255.2 scope link \n'), ['10.111.255.2/32', '10.64.16.0/20', '10.64.32.0/20']);
    assert.equal(parseLinkUp('3: hwmA: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1420 qdisc'), true);
    assert.equal(parseLinkUp('3: hwmA: <POINTOPOINT,MULTICAST,NOARP> mtu 1420 qdisc noop state DOWN'), false);
  });

  it('a repair is one drift_detected event about the host, naming the interface, the document\'s revision and each step', () => {
    const observed: MeshLinkObserved = { ...ABSENT_LINK, exists: true, up: true, publicKey: OWN_KEY, listenPort: 51820, addresses: ['10.64.0.1/32'], forwardRules: ['10.64.0.0/20'], peers: [{ publicKey: KEY_B, endpoint: '192.0.2.12:51820', allowedIps: ['10.64.16.0/20'] }, { publicKey: KEY_C, endpoint: '192.0.2.13:51820', allowedIps: ['10.64.32.0/20'] }], routes: ['10.64.32.0/20'] };
    const actions = planMeshLink(linkDesiredOf(MESH, OWN_KEY), observed);
    assert.deepEqual(actions, [{ kind: 'add-route', prefix: '10.64.16.0/20' }]);
    const draft = meshRepairEvent(actions, 'hwmesh0', 3);
    assert.deepEqual(draft, { type: 'drift_detected', severity: 'warning', project: HOST_PROJECT, runtimeRef: 'hwmesh0', message: 'mesh interface hwmesh0 differed from its mesh document (revision 3); repaired: route 10.64.16.0/20 via hwmesh0' });
    assert.ok(hostwrightEventSchema.safeParse({ ...draft, id: 'x', hostId: 'h1', timestamp: '2026-01-01T00:00:00.000Z', correlationID: 'c' }).success, 'a valid event once stamped');
  });
});
