import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MeshAgent, MESH_DESIRED_FILE } from '../../agent/mesh/mesh-agent.js';
import { MESH_DIR } from '../../agent/mesh/wireguard-key.js';
import { encode } from '../../shared/codec.js';
import type { MeshDesired } from '../../shared/mesh.js';
import { signDocument } from '../../shared/signed-document.js';
import { isRoutedLink } from '../../agent/mesh/routed-state.js';
import { NetnsPair } from '../lib/netns-pair.js';
import { testSigner } from '../lib/signing.js';

const PEER_KEY = 'pGzDY7HCDohbxLVyvAtisVCiCVgEI58NrOzk9h5Fr1s=';

describe('the agent takes a mesh document only from the pinned coordinator, for itself, newer than the one it holds', () => {
  const coordinator = testSigner();
  const attacker = testSigner();
  let pair: NetnsPair;
  let dataDir: string;
  let agent: MeshAgent;

  const documentFor = (hostId: string, revision: number, block = '10.64.0.0/20'): MeshDesired => ({ schema: 'hostwright.mesh/v1', hostId, fleetRange: '10.64.0.0/12', block, listenPort: 51820, revision, peers: [{ hostId: 'h2', publicKey: PEER_KEY, endpoint: '10.251.0.99:51820', block: '10.64.16.0/20' }] });

  before(async () => {
    pair = await NetnsPair.start(1);
    dataDir = await mkdtemp(join(tmpdir(), 'hw-mesh-agent-'));
    const host = pair.hosts[0]!;
    agent = new MeshAgent({ hostId: 'h1', dataDir, interfaceName: host.meshInterface, endpoint: `${host.address}:51820`, coordinatorKey: coordinator.publicKey, logger: pino({ level: 'silent' }), netns: host.netns });
  });

  after(async () => {
    await pair?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a document signed by another key, an unsigned one and one for another host, and changes nothing', async () => {
    for (const value of [signDocument(encode(documentFor('h1', 5)), attacker), encode(documentFor('h1', 5)), signDocument(encode(documentFor('h2', 5)), coordinator)]) {
      const outcome = await agent.accept(value);
      assert.ok('refused' in outcome, JSON.stringify(outcome));
    }
    assert.equal(agent.current, undefined);
    assert.equal((await agent.link.observe()).exists, false, 'no interface was made');
  });

  it('takes a signed document, brings the interface to it, keeps it, and refuses an older one (a replay)', async () => {
    const outcome = await agent.accept(signDocument(encode(documentFor('h1', 5)), coordinator));
    assert.ok('accepted' in outcome && outcome.accepted !== 'unchanged');
    assert.deepEqual((await agent.link.observe()).routes, ['10.64.16.0/20']);
    const replay = await agent.accept(signDocument(encode(documentFor('h1', 4, '10.64.32.0/20')), coordinator));
    assert.ok('refused' in replay && /replayed/.test(replay.refused));
    assert.equal(agent.current?.block, '10.64.0.0/20');
    assert.deepEqual(await agent.accept(signDocument(encode(documentFor('h1', 5)), coordinator)), { accepted: 'unchanged' });
  });

  it('at start, brings back the kept document, but not one changed on disk', async () => {
    const host = pair.hosts[0]!;
    await pair.exec(host.netns, 'ip', ['link', 'del', 'dev', host.meshInterface]);
    const restarted = new MeshAgent({ hostId: 'h1', dataDir, interfaceName: host.meshInterface, endpoint: `${host.address}:51820`, coordinatorKey: coordinator.publicKey, logger: pino({ level: 'silent' }), netns: host.netns });
    await restarted.resume();
    assert.equal(restarted.current?.revision, 5);
    assert.deepEqual((await restarted.link.observe()).addresses, ['10.64.0.1/32']);
    const file = join(dataDir, MESH_DIR, MESH_DESIRED_FILE);
    const kept = await readFile(file);
    const tampered = Buffer.from(kept);
    const at = tampered.indexOf(Buffer.from('10.64.16.0/20'));
    tampered.write('10.64.48.0/20', at);
    await writeFile(file, tampered);
    const distrustful = new MeshAgent({ hostId: 'h1', dataDir, interfaceName: host.meshInterface, endpoint: `${host.address}:51820`, coordinatorKey: coordinator.publicKey, logger: pino({ level: 'silent' }), netns: host.netns });
    await distrustful.resume();
    assert.equal(distrustful.current, undefined, 'a kept document that no longer verifies is not used');
  });

  it('takes the routed transport (traffic in clear) only from the coordinator, and brings it back from the kept document after a restart', async () => {
    const host = pair.hosts[0]!;
    // A peer on the host's own link: the routed transport routes its block via that address.
    const peerAddress = host.address.replace(/\.\d+$/, '.99');
    const routed = (revision: number): MeshDesired => ({ ...documentFor('h1', revision), peers: [{ hostId: 'h2', publicKey: PEER_KEY, endpoint: `${peerAddress}:51820`, block: '10.64.16.0/20' }], transport: 'routed' });
    const forged = await agent.accept(signDocument(encode(routed(9)), attacker));
    assert.ok('refused' in forged, JSON.stringify(forged));
    assert.ok(!isRoutedLink(await agent.link.observe()), 'a forged document does not switch the mesh to clear text');
    const switched = await agent.accept(signDocument(encode(routed(9)), coordinator));
    assert.ok('accepted' in switched && switched.accepted !== 'unchanged');
    const observed = await agent.link.observe();
    assert.ok(isRoutedLink(observed), `a routed link, not ${observed.kind}`);
    assert.deepEqual(observed.gatewayRoutes, [{ prefix: '10.64.16.0/20', via: peerAddress }]);
    await pair.exec(host.netns, 'ip', ['link', 'del', 'dev', host.meshInterface]);
    const restarted = new MeshAgent({ hostId: 'h1', dataDir, interfaceName: host.meshInterface, endpoint: `${host.address}:51820`, coordinatorKey: coordinator.publicKey, logger: pino({ level: 'silent' }), netns: host.netns });
    await restarted.resume();
    assert.equal(restarted.current?.transport, 'routed');
    const back = await restarted.link.observe();
    assert.ok(isRoutedLink(back));
    assert.deepEqual(back.addresses, ['10.64.0.1/32']);
  });
});
