import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assignBlocks, meshDocuments } from '../../coordinator/mesh-plan.js';
import { MeshLink, MeshLinkError, MESH_INTENT_FILE } from '../../agent/mesh/mesh-link.js';
import { MESH_ROUTE_PROTO } from '../../agent/mesh/routed-state.js';
import { MESH_DIR } from '../../agent/mesh/wireguard-key.js';
import { meshSettingsSchema, type MeshDesired } from '../../shared/mesh.js';
import { NetnsPair } from '../lib/netns-pair.js';

const run = promisify(execFile);
const ROUTED = meshSettingsSchema.parse({ transport: 'routed' });
const H2_MESH_ADDRESS = '10.64.16.1';
const ECHO_PORT = 7011;

describe('the routed mesh transport on real namespaces: no tunnel, each block via the peer\'s underlay address', () => {
  let pair: NetnsPair;
  let dirs: string[] = [];
  let links: MeshLink[] = [];
  let routed: MeshDesired[] = [];
  let revision = 1;

  /** Every host's document at the next revision with this transport. */
  const documents = (transport: 'routed' | 'wireguard'): MeshDesired[] => {
    revision++;
    return routed.map((document) => ({ ...document, revision, transport }));
  };
  const reconcileAll = async (next: readonly MeshDesired[]) => {
    for (const [i, link] of links.entries()) await link.reconcile(next[i]);
  };
  const inNs = async (i: number, command: string, args: readonly string[]) => (await pair.exec(pair.hosts[i]!.netns, command, args)).stdout;

  before(async () => {
    pair = await NetnsPair.start(2);
    dirs = await Promise.all(pair.hosts.map(() => mkdtemp(join(tmpdir(), 'hw-mesh-routed-'))));
    links = pair.hosts.map((host, i) => new MeshLink({ interfaceName: host.meshInterface, dataDir: dirs[i]!, netns: host.netns }));
    const members = await Promise.all(links.map(async (link, i) => ({ hostId: `h${i + 1}`, publicKey: (await link.key()).publicKey, endpoint: `${pair.hosts[i]!.address}:${ROUTED.listenPort}` })));
    routed = meshDocuments(ROUTED, members, assignBlocks(ROUTED, members.map((member) => member.hostId), new Map()), 1);
    // What is not the mesh's: a route inside the fleet range, a link, an accept rule; all must stay.
    await inNs(0, 'ip', ['route', 'add', '10.64.48.0/20', 'via', pair.hosts[1]!.address]);
    await inNs(0, 'ip', ['link', 'add', 'other0', 'type', 'bridge']);
    await inNs(0, 'iptables', ['-w', '-A', 'FORWARD', '-d', '10.64.0.0/20', '-m', 'comment', '--comment', 'operator-rule', '-j', 'ACCEPT']);
    await pair.echoServer(pair.hosts[1]!.netns, '0.0.0.0', ECHO_PORT);
  });

  after(async () => {
    await pair?.cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** h1's objects that are not the mesh's, as they were made. */
  const assertForeignUntouched = async () => {
    assert.match(await inNs(0, 'ip', ['-4', 'route', 'show', '10.64.48.0/20']), /10\.64\.48\.0\/20 via /, 'the host\'s own route in the fleet range stays');
    assert.match(await inNs(0, 'ip', ['-o', 'link', 'show', 'dev', 'other0']), /other0/, 'a link not named hwm… stays');
    assert.match(await inNs(0, 'iptables', ['-w', '-S', 'FORWARD']), /operator-rule/, 'a rule without our comment stays');
  };

  it('a peer not on this host\'s link is refused with what to do; the next pass, with the intent left, brings the mesh up', async () => {
    const unreachable: MeshDesired = { ...routed[0]!, peers: [{ ...routed[0]!.peers[0]!, endpoint: '192.0.2.50:51820' }] };
    await assert.rejects(links[0]!.reconcile(unreachable), (error: unknown) => error instanceof MeshLinkError && /wireguard transport across routers/.test(error.message));
    await stat(join(dirs[0]!, MESH_DIR, MESH_INTENT_FILE));
    const result = await links[0]!.reconcile(routed[0]);
    assert.equal(result.recovered, true, 'the intent of the failed step was found');
    assert.deepEqual(result.actions.map((action) => action.kind), ['add-gateway-route', 'allow-routed-forward']);
    await assert.rejects(stat(join(dirs[0]!, MESH_DIR, MESH_INTENT_FILE)), 'the intent is gone once the pass finished');
  });

  it('carries traffic between the namespaces\' block addresses with no tunnel, and a second pass changes nothing', async () => {
    await links[1]!.reconcile(routed[1]);
    assert.equal(await pair.roundTrip(pair.hosts[0]!.netns, H2_MESH_ADDRESS, ECHO_PORT), 'ping\n');
    const observed = await links[0]!.observe();
    assert.ok(observed.kind === 'dummy' || observed.kind === 'bridge', `a routed link, not ${observed.kind}`);
    assert.deepEqual(observed.addresses, ['10.64.0.1/32']);
    assert.deepEqual(observed.gatewayRoutes, [{ prefix: '10.64.16.0/20', via: pair.hosts[1]!.address }]);
    assert.deepEqual(observed.routedForwardRules, ['10.64.0.0/20']);
    assert.match(await inNs(0, 'ip', ['-4', 'route', 'show', 'proto', String(MESH_ROUTE_PROTO)]), new RegExp(`10\\.64\\.16\\.0/20 via ${pair.hosts[1]!.address.replace(/\./g, '\\.')} dev eth0`));
    for (const [i, link] of links.entries()) assert.deepEqual(await link.plan(routed[i]), [], `h${i + 1} is as desired`);
    await assertForeignUntouched();
  });

  it('switching to wireguard leaves none of the routed objects, and traffic flows through the tunnel', async () => {
    const next = documents('wireguard');
    await reconcileAll(next);
    const observed = await links[0]!.observe();
    assert.ok(observed.kind === 'tun' || observed.kind === 'wireguard', `a WireGuard link, not ${observed.kind}`);
    assert.deepEqual(observed.gatewayRoutes, []);
    assert.deepEqual(observed.routedForwardRules, []);
    assert.equal((await inNs(0, 'ip', ['-4', 'route', 'show', 'proto', String(MESH_ROUTE_PROTO)])).trim(), '');
    assert.deepEqual(observed.routes, ['10.64.16.0/20']);
    assert.equal(await pair.roundTrip(pair.hosts[0]!.netns, H2_MESH_ADDRESS, ECHO_PORT), 'ping\n');
    assert.deepEqual(await links[0]!.plan(next[0]), []);
    await assertForeignUntouched();
  });

  it('switching back to routed leaves none of the WireGuard objects (interface, wireguard-go, forward rule)', async () => {
    const next = documents('routed');
    await reconcileAll(next);
    const observed = await links[0]!.observe();
    assert.ok(observed.kind === 'dummy' || observed.kind === 'bridge');
    assert.equal(observed.publicKey, undefined, 'no WireGuard key on the interface');
    assert.deepEqual(observed.forwardRules, [], 'the WireGuard forward rule is gone');
    assert.equal((await run('ip', ['netns', 'pids', pair.hosts[0]!.netns])).stdout.trim(), '', 'no wireguard-go left in h1\'s namespace');
    assert.equal(await pair.roundTrip(pair.hosts[0]!.netns, H2_MESH_ADDRESS, ECHO_PORT), 'ping\n');
    await assertForeignUntouched();
  });

  it('removing the mesh removes the link, the marked routes and the rule, and nothing else', async () => {
    const result = await links[0]!.reconcile(undefined);
    assert.deepEqual(result.actions.map((action) => action.kind), ['remove-gateway-route', 'remove-routed-forward', 'delete-link']);
    assert.doesNotMatch(await inNs(0, 'ip', ['-o', 'link', 'show']), new RegExp(pair.hosts[0]!.meshInterface));
    assert.doesNotMatch(await inNs(0, 'iptables', ['-w', '-S', 'FORWARD']), /hostwright-mesh/);
    assert.equal((await inNs(0, 'ip', ['-4', 'route', 'show', 'proto', String(MESH_ROUTE_PROTO)])).trim(), '');
    assert.deepEqual(await links[0]!.plan(undefined), []);
    await assertForeignUntouched();
  });
});
