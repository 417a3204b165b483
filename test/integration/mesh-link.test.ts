import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assignBlocks, meshDocuments } from '../../coordinator/mesh-plan.js';
import { MeshLink, MESH_INTENT_FILE } from '../../agent/mesh/mesh-link.js';
import { MESH_DIR, MESH_KEY_FILE } from '../../agent/mesh/wireguard-key.js';
import { InvalidInputError } from '../../shared/errors.js';
import { meshSettingsSchema, type MeshDesired } from '../../shared/mesh.js';
import { NetnsPair } from '../lib/netns-pair.js';

const run = promisify(execFile);
const SETTINGS = meshSettingsSchema.parse({ listenPort: 51820 });

describe('the mesh interface on real namespaces (wireguard-go where the kernel has no WireGuard)', () => {
  let pair: NetnsPair;
  let dirs: string[] = [];
  let links: MeshLink[] = [];
  let documents: MeshDesired[] = [];

  before(async () => {
    pair = await NetnsPair.start(3);
    dirs = await Promise.all(pair.hosts.map(() => mkdtemp(join(tmpdir(), 'hw-mesh-'))));
    links = pair.hosts.map((host, i) => new MeshLink({ interfaceName: host.meshInterface, dataDir: dirs[i]!, netns: host.netns }));
    const members = await Promise.all(links.map(async (link, i) => ({ hostId: `h${i + 1}`, publicKey: (await link.key()).publicKey, endpoint: `${pair.hosts[i]!.address}:${SETTINGS.listenPort}` })));
    documents = meshDocuments(SETTINGS, members, assignBlocks(SETTINGS, members.map((member) => member.hostId), new Map()), 1);
  });

  after(async () => {
    await pair?.cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('keeps the private key in the data dir, readable by its owner only', async () => {
    const mode = (await stat(join(dirs[0]!, MESH_DIR, MESH_KEY_FILE))).mode & 0o777;
    assert.equal(mode, 0o600);
    const again = await links[0]!.key();
    const printed = (await run('sh', ['-c', `wg pubkey < ${join(dirs[0]!, MESH_DIR, MESH_KEY_FILE)}`])).stdout.trim();
    assert.equal(again.publicKey, printed, 'the public key is the one wg derives from the file');
  });

  it('brings the mesh up: each host reaches another host\'s block through the encrypted interface, and a second pass changes nothing', async () => {
    for (const [i, link] of links.entries()) {
      const result = await link.reconcile(documents[i]);
      assert.ok(result.implementation === 'wireguard-go' || result.implementation === 'kernel');
      assert.equal(result.recovered, false);
    }
    // h2's mesh address is the first address of its block.
    await pair.echoServer(pair.hosts[1]!.netns, '10.64.16.1', 7001);
    assert.equal(await pair.roundTrip(pair.hosts[0]!.netns, '10.64.16.1', 7001), 'ping\n');
    const observed = await links[0]!.observe();
    assert.deepEqual(observed.routes, ['10.64.16.0/20', '10.64.32.0/20']);
    assert.deepEqual(observed.addresses, ['10.64.0.1/32']);
    for (const [i, link] of links.entries()) assert.deepEqual(await link.plan(documents[i]), [], `h${i + 1} is as desired`);
    const { stdout } = await pair.exec(pair.hosts[0]!.netns, 'wg', ['show', pair.hosts[0]!.meshInterface, 'latest-handshakes']);
    assert.match(stdout, /\t[1-9]\d+/, 'a handshake with h2 took place');
  });

  it('after a step cut short (intent left, a route gone), the next pass says so and restores the route', async () => {
    const host = pair.hosts[0]!;
    await pair.exec(host.netns, 'ip', ['route', 'del', '10.64.16.0/20', 'dev', host.meshInterface]);
    await writeFile(join(dirs[0]!, MESH_DIR, MESH_INTENT_FILE), JSON.stringify({ action: { kind: 'add-route', prefix: '10.64.16.0/20' } }));
    const result = await links[0]!.reconcile(documents[0]);
    assert.equal(result.recovered, true);
    assert.deepEqual(result.actions, [{ kind: 'add-route', prefix: '10.64.16.0/20' }]);
    assert.equal(await pair.roundTrip(host.netns, '10.64.16.1', 7001), 'ping\n');
    await assert.rejects(stat(join(dirs[0]!, MESH_DIR, MESH_INTENT_FILE)), 'the intent is gone once the pass finished');
  });

  it('touches only its own interface: a route of the host elsewhere stays, and a name not marked as ours is refused', async () => {
    const host = pair.hosts[0]!;
    await pair.exec(host.netns, 'ip', ['route', 'add', '10.64.48.0/20', 'dev', 'eth0']);
    assert.deepEqual(await links[0]!.plan(documents[0]), []);
    const peerless: MeshDesired = { ...documents[0]!, revision: 2, peers: [] };
    await links[0]!.reconcile(peerless);
    const routes = (await pair.exec(host.netns, 'ip', ['-4', 'route', 'show'])).stdout;
    assert.match(routes, /10\.64\.48\.0\/20 dev eth0/);
    assert.doesNotMatch(routes, /10\.64\.16\.0\/20/, 'the departed peer\'s route went with it');
    await assert.rejects(pair.roundTrip(host.netns, '10.64.16.1', 7001, 1_000));
    assert.throws(() => new MeshLink({ interfaceName: 'eth0', dataDir: dirs[0]! }), InvalidInputError);
  });

  it('removes the interface, its routes and its wireguard-go when the mesh is removed', async () => {
    const host = pair.hosts[2]!;
    const result = await links[2]!.reconcile(undefined);
    assert.deepEqual(result.actions, [{ kind: 'remove-forward', block: '10.64.32.0/20' }, { kind: 'delete-link' }]);
    assert.doesNotMatch((await pair.exec(host.netns, 'iptables', ['-w', '-S', 'FORWARD'])).stdout, /hostwright-mesh/);
    const { stdout } = await pair.exec(host.netns, 'ip', ['-o', 'link', 'show']);
    assert.doesNotMatch(stdout, new RegExp(host.meshInterface));
    const pids = (await run('ip', ['netns', 'pids', host.netns])).stdout.trim();
    assert.equal(pids, '', 'no wireguard-go left in the namespace');
    assert.deepEqual(await links[2]!.plan(undefined), []);
  });
});
