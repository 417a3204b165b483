import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetFileError } from '../lib/fleet-file-error.js';
import { parseFleetFile } from '../../coordinator/fleet-file.js';
import { desiredForHost } from '../../coordinator/placement.js';
import { attachmentsOf, wantedResources } from '../../agent/core/resources.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { diffHost } from '../../agent/core/diff.js';
import { planHost } from '../../agent/core/planner.js';
import { toDockerNetworkOptions } from '../../agent/runtime/docker-resources.js';
import { parseSubnet, subnetContains } from '../../shared/ip-subnets.js';
import { desired, service } from '../lib/builders.js';
import { FIXTURE_PREFIX, journalViewOf, networkFixture, snapshotOf } from '../lib/simulated-runtime.js';


const lines = (...rows: string[]) => `${rows.join('\n')}\n`;

describe('networks and volumes in a fleet file (pure)', () => {
  it('refuses each bad reference with its path and line', () => {
    assert.equal(fleetFileError(lines('project: p', 'services:', '  api:', '    image: x', '    networks: [back]')), 'fleet.yaml:5:16 services.api.networks[0]: network back is not declared in the top-level networks:');
    assert.match(fleetFileError(lines('project: p', 'services:', '  db:', '    image: x', '    volumes: ["data:/data"]')), /^fleet\.yaml:5:15 services\.db\.volumes\[0\]: volume data is not declared in the top-level volumes: \(add `volumes: \{data: \{\}\}`/);
    assert.match(fleetFileError(lines('project: p', 'services:', '  api:', '    image: x', '    network_mode: host', '    ports: ["8080:80"]')), /^fleet\.yaml:6:12 services\.api\.ports: with network_mode "host" the container has no ports of its own to publish/);
    assert.match(fleetFileError(lines('project: p', 'services:', '  api:', '    image: x', '    network_mode: host', '    networks: [default]')), /services\.api\.networks: a service with network_mode "host" joins no networks/);
    assert.match(fleetFileError(lines('project: p', 'services:', '  api:', '    image: x', '    network_mode: "service:nope"')), /^fleet\.yaml:5:19 services\.api\.network_mode: no service nope in this project$/m);
    assert.match(fleetFileError(lines('project: p', 'services:', '  api:', '    image: x', '    network_mode: bridged')), /services\.api\.network_mode: expected "host", "none" or "service:<name>"/);
  });

  it('refuses a bad network definition with its path and line', () => {
    const withNetwork = (definition: string, attachment = '[back]') => lines('project: p', 'services:', '  api:', '    image: x', `    networks: ${attachment}`, 'networks:', `  back: ${definition}`);
    assert.match(fleetFileError(withNetwork('{ driver: overlay }')), /^fleet\.yaml:7:19 networks\.back\.driver: only the bridge driver/);
    assert.match(fleetFileError(withNetwork('{ ipam: { config: [{ subnet: 10.0.0.0/33 }] } }')), /networks\.back\.ipam\.config\[0\]\.subnet: expected an IPv4 or IPv6 subnet in CIDR form/);
    assert.match(fleetFileError(withNetwork('{ name: custom }')), /networks\.back\.name: a network Hostwright creates is named <project>_<key>/);
    assert.match(fleetFileError(withNetwork('{ external: true, internal: true }')), /networks\.back\.internal: an external network is the operator's/);
    assert.match(fleetFileError(withNetwork('{ ipam: { config: [{ subnet: 10.1.0.0/24 }] } }', '{ back: { ipv4_address: 10.2.0.5 } }')), /services\.api\.networks\.back\.ipv4_address: 10\.2\.0\.5 is not in the subnet of network back \(10\.1\.0\.0\/24\)/);
    assert.match(fleetFileError(withNetwork('{}', '{ back: { ipv4_address: 10.2.0.5 } }')), /a fixed address needs an IPv4 subnet declared for network back/);
    assert.match(fleetFileError(withNetwork('{ labels: { io.hostwright.project: x } }')), /networks\.back\.labels: label keys starting with "io\.hostwright\." are reserved/);
  });

  it('takes an IPv6 network as Mailcow publishes it (enable_ipv6 with an IPv4 and an IPv6 subnet), and refuses what the engine would', () => {
    const withNetwork = (definition: string, attachment = '[back]') => lines('project: p', 'services:', '  api:', '    image: x', `    networks: ${attachment}`, 'networks:', `  back: ${definition}`);
    const fleet = parseFleetFile(withNetwork('{ enable_ipv6: true, ipam: { config: [{ subnet: 172.22.1.0/24 }, { subnet: "fd4d:6169:6c63:6f77::/64", gateway: "fd4d:6169:6c63:6f77::1" }] } }', '{ back: { ipv4_address: 172.22.1.254 } }'), 'fleet.yaml');
    const back = fleet.networks?.back as NonNullable<NonNullable<typeof fleet.networks>['back']>;
    assert.deepEqual(toDockerNetworkOptions({ name: 'hw-p_back', spec: back, identityLabels: {} }), {
      Name: 'hw-p_back', Driver: 'bridge', CheckDuplicate: true, Internal: false, Attachable: false, EnableIPv6: true, Labels: {}, Options: {},
      IPAM: { Driver: 'default', Config: [{ Subnet: '172.22.1.0/24' }, { Subnet: 'fd4d:6169:6c63:6f77::/64', Gateway: 'fd4d:6169:6c63:6f77::1' }] },
    });
    assert.match(fleetFileError(withNetwork('{ enable_ipv6: true }')), /^fleet\.yaml:7:\d+ networks\.back\.enable_ipv6: an IPv6 network needs its IPv6 subnet: add one to ipam\.config/);
    assert.match(fleetFileError(withNetwork('{ ipam: { config: [{ subnet: "fd00:1::/64" }] } }')), /networks\.back\.ipam\.config\[0\]\.subnet: an IPv6 subnet needs `enable_ipv6: true` on the network/);
    assert.match(fleetFileError(withNetwork('{ enable_ipv6: true, ipam: { config: [{ subnet: "fd00:1::/64", gateway: "fd00:2::1" }] } }')), /networks\.back\.ipam\.config\[0\]\.gateway: fd00:2::1 is not in fd00:1::\/64/);
    assert.match(fleetFileError(withNetwork('{ enable_ipv6: true, ipam: { config: [{ subnet: "fd00:1::/129" }] } }')), /expected an IPv4 or IPv6 subnet in CIDR form/);
    assert.match(fleetFileError(withNetwork('{ enable_ipv6: true, ipam: { config: [{ subnet: "fd00:1::/64" }] } }', '{ back: { ipv4_address: 10.2.0.5 } }')), /a fixed address needs an IPv4 subnet declared for network back/);
    // Without enable_ipv6 the options (and the definition's hash) are as before IPv6 networks.
    assert.equal('EnableIPv6' in toDockerNetworkOptions({ name: 'n', spec: {}, identityLabels: {} }), false);
  });

  it('contains addresses in IPv4 and IPv6 subnets, compressed forms and an IPv4 tail included', () => {
    assert.equal(subnetContains('fd00:1::/64', 'fd00:1::abcd'), true);
    assert.equal(subnetContains('fd00:1::/64', 'fd00:1:0:1::1'), false);
    assert.equal(subnetContains('::ffff:0:0/96', '::ffff:10.0.0.1'), true);
    assert.equal(subnetContains('10.0.0.0/8', '10.255.0.1'), true);
    assert.equal(subnetContains('10.0.0.0/8', 'fd00::1'), false);
    assert.equal(subnetContains('0.0.0.0/0', '1.2.3.4'), true);
    for (const bad of ['fd00:::1/64', '1:2:3:4:5:6:7:8:9/64', 'fd0g::/64', '10.0.0.0/', 'fd00::/64/1']) assert.equal(parseSubnet(bad), undefined, bad);
    assert.deepEqual(parseSubnet('fd00::/8'), { family: 6, base: 0xfdn << 120n, bits: 8 });
  });

  it('a service without networks or network_mode hashes as before project networks existed', () => {
    // The hash of the spec the container-options test pins: networks live outside it unless declared.
    const spec = service({ command: ['sh'] });
    assert.equal(specHashOf(spec), specHashOf(service({ command: ['sh'] })));
    assert.notEqual(specHashOf(service({ command: ['sh'], networks: ['back'] })), specHashOf(spec));
  });

  it('a host is told only the networks and volumes its placed services use', () => {
    const fleet = parseFleetFile(
      lines('project: p', 'services:', '  web:', '    image: x', '    networks: [front]', '    placement: { hosts: [h1] }', '  db:', '    image: x', '    volumes: ["data:/d"]', '    networks: [back]', '    placement: { hosts: [h2] }', 'networks:', '  front: {}', '  back: { internal: true }', 'volumes:', '  data: {}'),
      'fleet.yaml',
    );
    const h1 = desiredForHost(fleet, { hostId: 'h1', labels: {} }, { revision: 1 });
    const h2 = desiredForHost(fleet, { hostId: 'h2', labels: {} }, { revision: 1 });
    assert.deepEqual([h1.networks, h1.volumes], [{ front: {} }, undefined]);
    assert.deepEqual([h2.networks, h2.volumes], [{ back: { internal: true } }, { data: {} }]);
  });

  it('resolves engine names with the prefix, aliases per instance, and external names as given', () => {
    const document = desired('shop', { api: service({ networks: { back: { aliases: ['db-proxy'] }, ops: null }, volumes: ['data:/d', 'legacy:/l', '/srv:/srv'] }) }, { networks: { back: {}, ops: { external: true, name: 'ops-net' } }, volumes: { data: {}, legacy: { external: true } } });
    assert.deepEqual(attachmentsOf(document, 'api', 2, 'h1-'), {
      networks: [
        { name: 'h1-shop_back', aliases: ['api', 'api-2', 'db-proxy'] },
        { name: 'ops-net', aliases: ['api', 'api-2'] },
      ],
      volumes: { data: 'h1-shop_data', legacy: 'legacy' },
    });
    assert.deepEqual(
      wantedResources(document, 'h1-').map((wanted) => `${wanted.kind} ${wanted.name}${wanted.external ? ' (external)' : ''}`),
      ['network h1-shop_back', 'network ops-net (external)', 'volume h1-shop_data', 'volume legacy (external)'],
    );
    assert.deepEqual(attachmentsOf(desired('shop', { a: service(), b: service({ network_mode: 'service:a' }) }), 'b', 1, ''), { networkMode: 'container:shop-a-1', networks: [], volumes: {} });
  });

  it('plans a changed network as blocked and an unused volume as kept, never removed without prune', () => {
    const document = desired('shop', { web: service({ networks: ['back'] }) }, { networks: { back: { internal: true } } });
    const snapshot = snapshotOf([], { networks: [networkFixture('shop', 'back', { internal: false })] });
    const diff = diffHost({ desired: [document], snapshot, journal: journalViewOf(new Map()), namePrefix: FIXTURE_PREFIX });
    assert.deepEqual(diff.projects[0]?.resources.map((entry) => entry.kind), ['changed']);
    const volumeOnly = { ...networkFixture('shop', 'data'), id: 'hw-shop_data', name: 'hw-shop_data', identity: { ...networkFixture('shop', 'data').identity, kind: 'volume' as const } };
    const kept = desired('shop', { web: service() });
    const keptSnapshot = snapshotOf([], { volumes: [volumeOnly] });
    const keptDiff = diffHost({ desired: [kept], snapshot: keptSnapshot, journal: journalViewOf(new Map()), namePrefix: FIXTURE_PREFIX });
    const plan = planHost({ diff: keptDiff, desired: [kept], snapshot: keptSnapshot, modes: new Map() });
    assert.ok(!plan.actions.some((action) => action.kind === 'remove-volume'), 'kept without prune');
    assert.deepEqual(plan.unusedVolumes.map((volume) => volume.name), ['hw-shop_data']);
    const pruned = desired('shop', { web: service() }, { pruneVolumes: true });
    const prunedPlan = planHost({ diff: diffHost({ desired: [pruned], snapshot: keptSnapshot, journal: journalViewOf(new Map()), namePrefix: FIXTURE_PREFIX }), desired: [pruned], snapshot: keptSnapshot, modes: new Map() });
    assert.deepEqual(prunedPlan.actions.filter((action) => action.kind === 'remove-volume').map((action) => `${action.phase} ${action.name}`), ['teardown hw-shop_data']);
  });
});
