import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffHost } from '../../agent/core/diff.js';
import { planHost } from '../../agent/core/planner.js';
import { meshNetworkSpec } from '../../agent/mesh/mesh-networks.js';
import { withFleetResolver } from '../../agent/resolver/fleet-dns.js';
import { upstreamResolvers } from '../../agent/resolver/host-upstream.js';
import { callerNetworks, callerOf } from '../../agent/resolver/resolver-callers.js';
import type { ActionOf } from '../../shared/actions.js';
import { desired, service } from '../lib/builders.js';
import { FIXTURE_HOST, FIXTURE_PREFIX, journalViewOf, networkFixture, snapshotOf } from '../lib/simulated-runtime.js';

const GATEWAY_MODE = { 'com.docker.network.bridge.gateway_mode_ipv4': 'nat-unprotected' };

function createdNetworks(document: ReturnType<typeof desired>, meshBlock: string | undefined, engineSubnets: readonly string[] = []): ActionOf<'create-network'>[] {
  const snapshot = { ...snapshotOf([]), ...(engineSubnets.length > 0 ? { engineSubnets } : {}) };
  const diff = diffHost({ desired: [document], snapshot, journal: journalViewOf(new Map()), namePrefix: FIXTURE_PREFIX });
  const plan = planHost({ diff, desired: [document], snapshot, modes: new Map(), ...(meshBlock === undefined ? {} : { meshBlock }) });
  return plan.actions.filter((action): action is ActionOf<'create-network'> => action.kind === 'create-network');
}

describe('project networks on a mesh host', () => {
  it('gives each new network the next free /24 of the block, keeping the spec hash of the file', () => {
    const document = desired('shop', { web: service({ networks: ['back', 'front'] }) }, { networks: { back: {}, front: { internal: true } } });
    const plain = createdNetworks(document, undefined);
    const meshed = createdNetworks(document, '10.64.16.0/20', ['10.64.17.0/24', '172.17.0.0/16']);
    assert.deepEqual(plain.map((action) => action.spec), [{}, { internal: true }], 'without a mesh: as written');
    assert.deepEqual(
      meshed.map((action) => action.spec),
      [
        { ipam: { config: [{ subnet: '10.64.18.0/24', gateway: '10.64.18.1' }] }, driver_opts: GATEWAY_MODE },
        { internal: true, ipam: { config: [{ subnet: '10.64.19.0/24', gateway: '10.64.19.1' }] }, driver_opts: GATEWAY_MODE },
      ],
    );
    assert.deepEqual(meshed.map((action) => action.specHash), plain.map((action) => action.specHash), 'the same network to the diff: no replacement when the mesh comes or goes');
    assert.match(meshed[0]!.reason, /subnet 10\.64\.18\.0\/24 of the mesh block/);
  });

  it('keeps a network whose file chose its subnet; a full block leaves the engine to choose and says so', () => {
    assert.equal(meshNetworkSpec({ ipam: { config: [{ subnet: '192.168.50.0/24' }] } }, '10.64.16.0/20', []), undefined);
    const full = Array.from({ length: 16 }, (_, index) => `10.64.${16 + index}.0/24`);
    assert.equal(meshNetworkSpec({}, '10.64.16.0/20', full), 'full');
    const document = desired('shop', { web: service({ networks: ['back'] }) }, { networks: { back: {} } });
    const [action] = createdNetworks(document, '10.64.16.0/20', full);
    assert.deepEqual(action?.spec, {});
    assert.match(action?.reason ?? '', /mesh block 10\.64\.16\.0\/20 is full/);
  });

  it('leaves a network made before the mesh as it is (no create, no change)', () => {
    const document = desired('shop', { web: service({ networks: ['back'] }) }, { networks: { back: {} } });
    const snapshot = snapshotOf([], { networks: [networkFixture('shop', 'back', {})] });
    const diff = diffHost({ desired: [document], snapshot, journal: journalViewOf(new Map()), namePrefix: FIXTURE_PREFIX });
    assert.deepEqual(diff.projects[0]?.resources.map((entry) => entry.kind), ['in-sync']);
    const plan = planHost({ diff, desired: [document], snapshot, modes: new Map(), meshBlock: '10.64.16.0/20' });
    assert.ok(!plan.actions.some((action) => action.kind === 'create-network' || action.kind === 'remove-network'));
  });
});

describe('the fleet resolver as containers\' dns', () => {
  const remotes = { db: { h2: {} } };

  it('is given to the services of projects spread over hosts, unless a service names its own', () => {
    const spread = desired('shop', { web: service(), tool: service({ dns: ['192.0.2.53'] }) }, { remotes });
    const local = desired('solo', { web: service() });
    const [meshed, untouched] = withFleetResolver([spread, local], '10.64.16.1');
    assert.deepEqual(meshed?.services.web?.dns, ['10.64.16.1']);
    assert.deepEqual(meshed?.services.tool?.dns, ['192.0.2.53']);
    assert.equal(untouched, local, 'a project wholly on this host is the same document');
    assert.equal(spread.services.web?.dns, undefined, 'the stored document is not changed');
    const [withUpstream] = withFleetResolver([spread], '10.64.16.1', ['192.0.2.1', '2001:db8::1']);
    assert.deepEqual(withUpstream?.services.web?.dns, ['10.64.16.1', '192.0.2.1', '2001:db8::1'], 'the host\'s resolvers follow the fleet resolver');
  });

  it('takes the host\'s resolvers a container can reach from resolv.conf: no loopback, at most two', () => {
    const conf = '# generated\nsearch example.internal\nnameserver 127.0.0.53\nnameserver 192.0.2.1\n  nameserver 2001:db8::1\nnameserver ::1\nnameserver not-an-address\nnameserver 192.0.2.1\nnameserver 198.51.100.7\noptions edns0\n';
    assert.deepEqual(upstreamResolvers(conf), ['192.0.2.1', '2001:db8::1']);
    assert.deepEqual(upstreamResolvers('nameserver 127.0.0.53\n'), []);
  });

  it('maps a query\'s source to the project network it is on; the gateway and strangers are nobody', () => {
    const identity = (project: string, resource: string, hostId = FIXTURE_HOST) => ({ kind: 'network' as const, hostId, project, resource, specHash: 'x', ownerToken: 't' });
    const networks = callerNetworks(
      [
        { identity: identity('shop', 'default'), subnets: ['10.64.17.0/24'] },
        { identity: identity('shop', 'back', 'elsewhere'), subnets: ['10.64.18.0/24'] },
        { identity: undefined, subnets: ['172.17.0.0/16'] },
      ],
      FIXTURE_HOST,
    );
    assert.deepEqual(networks, [{ subnet: '10.64.17.0/24', project: 'shop', network: 'default' }]);
    assert.deepEqual(callerOf(networks, '10.64.17.5'), { project: 'shop', network: 'default' });
    assert.equal(callerOf(networks, '10.64.17.1'), undefined);
    assert.equal(callerOf(networks, '10.64.18.5'), undefined);
    assert.equal(callerOf(networks, '172.17.0.2'), undefined);
    assert.equal(callerOf(networks, 'not-an-address'), undefined);
  });
});
