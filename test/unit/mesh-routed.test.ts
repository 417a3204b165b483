import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ABSENT_LINK, describeMeshAction, linkDesiredOf, parseForwardRules, planMeshLink, type MeshLinkObserved } from '../../agent/mesh/mesh-state.js';
import { parseGatewayRoutes, parseLinkKind, routedForwardComment } from '../../agent/mesh/routed-state.js';
import { rulesWithComment } from '../../agent/mesh/mesh-state.js';
import { planMeshWrites } from '../../coordinator/mesh-plan.js';
import { meshDesiredSchema, meshSettingsSchema, type MeshDesired } from '../../shared/mesh.js';

const OWN_KEY = 'YPYw3Sd3J0LALHRxkqNtdyAWHQ1xb6faWVmaUFguXEQ=';
const KEY_B = 'pGzDY7HCDohbxLVyvAtisVCiCVgEI58NrOzk9h5Fr1s=';
const KEY_C = '36JwkF455uKar+Xg9Mr8B+vaRoB8Sk6U+ifL2gs440M=';

const WIREGUARD: MeshDesired = {
  schema: 'hostwright.mesh/v1',
  hostId: 'h1',
  fleetRange: '10.64.0.0/12',
  block: '10.64.0.0/20',
  listenPort: 51820,
  revision: 3,
  peers: [
    { hostId: 'h3', publicKey: KEY_C, endpoint: '192.0.2.13:51820', block: '10.64.32.0/20' },
    { hostId: 'h2', publicKey: KEY_B, endpoint: '192.0.2.12:51820', block: '10.64.16.0/20' },
  ],
};
const ROUTED: MeshDesired = { ...WIREGUARD, revision: 4, transport: 'routed' };
const GATEWAYS = [
  { prefix: '10.64.16.0/20', via: '192.0.2.12' },
  { prefix: '10.64.32.0/20', via: '192.0.2.13' },
];

/** A routed interface once every step ran. */
function routedConverged(): MeshLinkObserved {
  return { ...ABSENT_LINK, exists: true, up: true, kind: 'dummy', addresses: ['10.64.0.1/32'], gatewayRoutes: GATEWAYS, routedForwardRules: ['10.64.0.0/20'] };
}

/** A WireGuard interface once every step ran. */
function wireguardConverged(): MeshLinkObserved {
  const desired = linkDesiredOf(WIREGUARD, OWN_KEY);
  return { exists: true, up: true, kind: 'tun', publicKey: OWN_KEY, listenPort: 51820, peers: desired.peers, addresses: [desired.address], routes: [...desired.routes], forwardRules: [desired.block], gatewayRoutes: [], routedForwardRules: [] };
}

describe('routed mesh plan', () => {
  it('routes each peer block via the address of its endpoint (port unused), and asks for no tunnel', () => {
    const desired = linkDesiredOf(ROUTED, OWN_KEY);
    assert.equal(desired.transport, 'routed');
    assert.deepEqual(desired.gateways, GATEWAYS);
    assert.deepEqual(desired.peers, []);
    assert.deepEqual(desired.routes, []);
    assert.equal(desired.address, '10.64.0.1/32');
  });

  it('makes an absent interface in order: link, mesh address, up, a route per peer, then the forward rule to its own block', () => {
    const actions = planMeshLink(linkDesiredOf(ROUTED, OWN_KEY), ABSENT_LINK);
    assert.deepEqual(actions, [
      { kind: 'create-routed-link' },
      { kind: 'add-address', address: '10.64.0.1/32' },
      { kind: 'link-up' },
      { kind: 'add-gateway-route', route: GATEWAYS[0] },
      { kind: 'add-gateway-route', route: GATEWAYS[1] },
      { kind: 'allow-routed-forward', block: '10.64.0.0/20' },
    ]);
  });

  it('plans nothing once converged, whether the link is a dummy or an empty bridge', () => {
    assert.deepEqual(planMeshLink(linkDesiredOf(ROUTED, OWN_KEY), routedConverged()), []);
    assert.deepEqual(planMeshLink(linkDesiredOf(ROUTED, OWN_KEY), { ...routedConverged(), kind: 'bridge' }), []);
  });

  it('follows a peer that moved (old route out, new in), drops a departed peer, and restores a lost route', () => {
    const next: MeshDesired = { ...ROUTED, revision: 5, peers: [{ ...ROUTED.peers[1]!, endpoint: '192.0.2.22:51820' }] };
    assert.deepEqual(planMeshLink(linkDesiredOf(next, OWN_KEY), routedConverged()), [
      { kind: 'remove-gateway-route', route: GATEWAYS[0] },
      { kind: 'remove-gateway-route', route: GATEWAYS[1] },
      { kind: 'add-gateway-route', route: { prefix: '10.64.16.0/20', via: '192.0.2.22' } },
    ]);
    assert.deepEqual(planMeshLink(linkDesiredOf(ROUTED, OWN_KEY), { ...routedConverged(), gatewayRoutes: [GATEWAYS[1]!] }), [{ kind: 'add-gateway-route', route: GATEWAYS[0] }]);
  });

  it('switching from wireguard: deletes the tunnel (its routes go with it) and its forward rule, then builds the routed objects', () => {
    const actions = planMeshLink(linkDesiredOf(ROUTED, OWN_KEY), wireguardConverged());
    assert.deepEqual(actions.map((action) => action.kind), ['delete-link', 'remove-forward', 'create-routed-link', 'add-address', 'link-up', 'add-gateway-route', 'add-gateway-route', 'allow-routed-forward']);
    assert.deepEqual(actions[1], { kind: 'remove-forward', block: '10.64.0.0/20' });
  });

  it('switching to wireguard: removes the marked routes and the routed rule, deletes the routed link, then builds the tunnel', () => {
    const actions = planMeshLink(linkDesiredOf(WIREGUARD, OWN_KEY), routedConverged());
    assert.deepEqual(actions.map((action) => action.kind), ['remove-gateway-route', 'remove-gateway-route', 'remove-routed-forward', 'delete-link', 'create-link', 'configure-link', 'add-address', 'link-up', 'set-peer', 'set-peer', 'add-route', 'add-route', 'allow-forward']);
    assert.deepEqual(planMeshLink(linkDesiredOf(WIREGUARD, OWN_KEY), wireguardConverged()), [], 'a converged WireGuard interface with nothing routed left is as desired');
  });

  it('removing the mesh removes the routed objects and the link; a rule or route left by a cut-short pass goes too', () => {
    assert.deepEqual(planMeshLink(undefined, routedConverged()).map((action) => action.kind), ['remove-gateway-route', 'remove-gateway-route', 'remove-routed-forward', 'delete-link']);
    assert.deepEqual(planMeshLink(undefined, { ...ABSENT_LINK, gatewayRoutes: [GATEWAYS[0]!] }), [{ kind: 'remove-gateway-route', route: GATEWAYS[0] }]);
  });

  it('describes each routed step for plan, saying that traffic is in clear', () => {
    assert.equal(describeMeshAction({ kind: 'add-gateway-route', route: GATEWAYS[0]! }, 'hwmesh0'), 'route 10.64.16.0/20 via 192.0.2.12 (routed transport, in clear)');
    assert.match(describeMeshAction({ kind: 'create-routed-link' }, 'hwmesh0'), /hwmesh0.*no tunnel/);
    assert.match(describeMeshAction({ kind: 'allow-routed-forward', block: '10.64.0.0/20' }, 'hwmesh0'), /underlay to 10\.64\.0\.0\/20/);
  });
});

describe('routed mesh observation parsers', () => {
  it('reads the marked routes with their gateways, ignoring routes without one', () => {
    const text = '10.64.32.0/20 via 10.251.7.12 dev eth0 \n10.64.16.0/20 via 10.251.7.11 dev eth0 \n10.64.99.0/24 dev eth0 scope link \n';
    assert.deepEqual(parseGatewayRoutes(text), [{ prefix: '10.64.16.0/20', via: '10.251.7.11' }, { prefix: '10.64.32.0/20', via: '10.251.7.12' }]);
    assert.deepEqual(parseGatewayRoutes(''), []);
  });

  it('tells a routed link from a tunnel by its kind', () => {
    assert.equal(parseLinkKind('7: hwm1: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN\\    link/ether 1e:92:1b:99:16:c8 brd ff:ff:ff:ff:ff:ff promiscuity 0 \\    dummy addrgenmode eui64 numtxqueues 1'), 'dummy');
    assert.equal(parseLinkKind('2: hwm1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 \\    link/ether 1e:92 brd ff:ff promiscuity 0 \\    bridge forward_delay 1500 hello_time 200'), 'bridge');
    assert.equal(parseLinkKind('9: hwm1: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1420 \\    link/none promiscuity 0 \\    tun type tun pi off vnet_hdr off'), 'tun');
    assert.equal(parseLinkKind('3: hwm1: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 \\    link/none promiscuity 0 \\    wireguard addrgenmode none'), 'wireguard');
  });

  it('keeps the two transports\' forward rules apart by their exact comments (neither comment is taken for the other, nor hwm1 for hwm12)', () => {
    const rules = [
      '-A FORWARD -d 10.64.0.0/20 -m comment --comment hostwright-mesh-hwm1-routed -j ACCEPT',
      '-A FORWARD -d 10.64.16.0/20 -i hwm1 -m comment --comment hostwright-mesh-hwm1 -j ACCEPT',
      '-A FORWARD -d 10.64.32.0/20 -i hwm12 -m comment --comment hostwright-mesh-hwm12 -j ACCEPT',
      '-A FORWARD -d 10.64.48.0/20 -j ACCEPT',
    ].join('\n');
    assert.deepEqual(parseForwardRules(rules, 'hwm1'), ['10.64.16.0/20']);
    assert.deepEqual(rulesWithComment(rules, routedForwardComment('hwm1')), ['10.64.0.0/20']);
    assert.deepEqual(rulesWithComment('-A FORWARD -d 10.64.0.0/20 -m comment --comment "hostwright-mesh-hwm1-routed" -j ACCEPT', routedForwardComment('hwm1')), ['10.64.0.0/20'], 'a quoted comment');
  });
});

describe('routed mesh documents', () => {
  const settings = meshSettingsSchema.parse({});
  const members = [
    { hostId: 'h1', publicKey: OWN_KEY, endpoint: '192.0.2.11:51820' },
    { hostId: 'h2', publicKey: KEY_B, endpoint: '192.0.2.12:51820' },
  ];

  it('defaults to wireguard, refuses an unknown transport, and carries the setting in every document', () => {
    assert.equal(settings.transport, 'wireguard');
    const refused = meshSettingsSchema.safeParse({ transport: 'vxlan' });
    assert.ok(!refused.success);
    assert.deepEqual(refused.error.issues.map((issue) => [issue.path.join('.'), /"wireguard"\|"routed"/.test(issue.message)]), [['transport', true]], 'the error names the setting and both choices');
    const writes = planMeshWrites(meshSettingsSchema.parse({ transport: 'routed' }), members, new Map());
    assert.deepEqual(writes.map((write) => write.document.transport), ['routed', 'routed']);
    assert.ok(meshDesiredSchema.safeParse(writes[0]!.document).success);
  });

  it('a document from before the setting is a wireguard one (not rewritten for it); switching the transport rewrites every document', () => {
    const first = planMeshWrites(settings, members, new Map());
    const stored = new Map(first.map((write) => {
      const { transport: _transport, ...older } = write.document;
      return [write.document.hostId, { document: older, kvRevision: 1 }] as const;
    }));
    assert.deepEqual(planMeshWrites(settings, members, stored).map((write) => write.change), ['unchanged', 'unchanged']);
    const switched = planMeshWrites(meshSettingsSchema.parse({ transport: 'routed' }), members, stored);
    assert.deepEqual(switched.map((write) => write.change), ['changed', 'changed']);
    assert.deepEqual(switched.map((write) => write.document.revision), [2, 2]);
  });
});
