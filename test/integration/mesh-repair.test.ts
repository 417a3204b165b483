import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MeshAgent } from '../../agent/mesh/mesh-agent.js';
import { MeshRepair } from '../../agent/mesh/mesh-repair.js';
import { Journal } from '../../agent/store/journal.js';
import { assignBlocks, meshDocuments } from '../../coordinator/mesh-plan.js';
import { encode } from '../../shared/codec.js';
import { HOST_PROJECT } from '../../shared/events.js';
import { meshSettingsSchema } from '../../shared/mesh.js';
import { signDocument } from '../../shared/signed-document.js';
import { NetnsPair } from '../lib/netns-pair.js';
import { testSigner } from '../lib/signing.js';
import { waitFor } from '../lib/wait.js';

const SETTINGS = meshSettingsSchema.parse({ listenPort: 51820 });
const ROUTED = meshSettingsSchema.parse({ listenPort: 51820, transport: 'routed' });
const PERIOD_MS = 500;
const H2_MESH_ADDRESS = '10.64.16.1';

// Mesh drift repair on real namespaces, with the real wg, ip, iptables and wireguard-go: what is
// removed by hand comes back within the repair period, recorded as an event in the real journal.
describe('the agent puts back what of its mesh was changed by hand, within the repair period, and records it', () => {
  const coordinator = testSigner();
  let pair: NetnsPair;
  let dirs: string[] = [];
  let agents: MeshAgent[] = [];
  let journal: Journal;
  let repair: MeshRepair;

  /** The drift events h1 recorded after `afterSeq`. */
  async function repairEvents(afterSeq: number) {
    return (await journal.readEvents(afterSeq)).events.filter((event) => event.type === 'drift_detected' && event.project === HOST_PROJECT);
  }

  before(async () => {
    pair = await NetnsPair.start(2);
    dirs = await Promise.all([0, 1, 2].map(() => mkdtemp(join(tmpdir(), 'hw-mesh-repair-'))));
    agents = pair.hosts.map((host, i) => new MeshAgent({ hostId: `h${i + 1}`, dataDir: dirs[i]!, interfaceName: host.meshInterface, endpoint: `${host.address}:${SETTINGS.listenPort}`, coordinatorKey: coordinator.publicKey, logger: pino({ level: 'silent' }), netns: host.netns }));
    const members = await Promise.all(agents.map(async (agent, i) => ({ hostId: `h${i + 1}`, ...(await agent.registration()) })));
    const documents = meshDocuments(SETTINGS, members, assignBlocks(SETTINGS, members.map((member) => member.hostId), new Map()), 1);
    for (const [i, agent] of agents.entries()) {
      const outcome = await agent.accept(signDocument(encode(documents[i]!), coordinator));
      assert.ok('accepted' in outcome, JSON.stringify(outcome));
    }
    await pair.echoServer(pair.hosts[1]!.netns, H2_MESH_ADDRESS, 7001);
    assert.equal(await pair.roundTrip(pair.hosts[0]!.netns, H2_MESH_ADDRESS, 7001), 'ping\n');
    journal = await Journal.open(dirs[2]!);
    repair = new MeshRepair({ hostId: 'h1', mesh: agents[0]!, periodMs: PERIOD_MS, record: (events) => journal.appendEvents(events), logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    repair?.stop();
    await journal?.close();
    await pair?.cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('a converged mesh is left alone and nothing is recorded, even with a route of the host elsewhere in the fleet range', async () => {
    await pair.exec(pair.hosts[0]!.netns, 'ip', ['route', 'add', '10.64.48.0/20', 'dev', 'eth0']);
    assert.deepEqual(await repair.check(), []);
    assert.deepEqual(await repairEvents(0), []);
    assert.match((await pair.exec(pair.hosts[0]!.netns, 'ip', ['-4', 'route', 'show'])).stdout, /10\.64\.48\.0\/20 dev eth0/);
  });

  it('a peer and its route removed by hand are back within the period, traffic flows again, and one event says what was repaired', async () => {
    const host = pair.hosts[0]!;
    const peerKey = (await agents[1]!.registration()).publicKey;
    const seq = (await journal.readEvents(0)).lastSeq;
    repair.start();
    await pair.exec(host.netns, 'wg', ['set', host.meshInterface, 'peer', peerKey, 'remove']);
    await pair.exec(host.netns, 'ip', ['route', 'del', '10.64.16.0/20', 'dev', host.meshInterface]);
    const removedAt = Date.now();
    await waitFor('the peer and its route back', async () => {
      const observed = await agents[0]!.link.observe();
      return observed.routes.includes('10.64.16.0/20') && observed.peers.some((peer) => peer.publicKey === peerKey);
    }, 5_000, 50);
    const took = Date.now() - removedAt;
    assert.ok(took < 3_000, `back ${took} ms after the removal: within the ${PERIOD_MS} ms period and the pass itself, not at a next document`);
    assert.equal(await pair.roundTrip(host.netns, H2_MESH_ADDRESS, 7001), 'ping\n');
    await waitFor('the repair event', async () => (await repairEvents(seq)).length > 0, 5_000, 50);
    const events = await repairEvents(seq);
    assert.equal(events.length, 1, JSON.stringify(events));
    const [event] = events;
    assert.equal(event!.severity, 'warning');
    assert.equal(event!.hostId, 'h1');
    assert.equal(event!.runtimeRef, host.meshInterface);
    assert.match(event!.message, new RegExp(`^mesh interface ${host.meshInterface} differed from its mesh document \\(revision 1\\); repaired: `));
    assert.ok(event!.message.includes(`set peer ${peerKey}`), event!.message);
    assert.ok(event!.message.includes(`route 10.64.16.0/20 via ${host.meshInterface}`), event!.message);
  });

  it('an address and the forward rule removed by hand are back within the period, recorded; a stranger\'s address on the interface is removed', async () => {
    const host = pair.hosts[0]!;
    const seq = (await journal.readEvents(0)).lastSeq;
    await pair.exec(host.netns, 'ip', ['address', 'del', '10.64.0.1/32', 'dev', host.meshInterface]);
    await pair.exec(host.netns, 'ip', ['address', 'add', '192.0.2.7/32', 'dev', host.meshInterface]);
    await pair.exec(host.netns, 'iptables', ['-w', '-D', 'FORWARD', '-i', host.meshInterface, '-d', '10.64.0.0/20', '-m', 'comment', '--comment', `hostwright-mesh-${host.meshInterface}`, '-j', 'ACCEPT']);
    await waitFor('the address and the rule back', async () => {
      const observed = await agents[0]!.link.observe();
      return observed.addresses.join() === '10.64.0.1/32' && observed.forwardRules.join() === '10.64.0.0/20';
    }, 5_000, 50);
    await waitFor('the repair event', async () => (await repairEvents(seq)).length > 0, 5_000, 50);
    const message = (await repairEvents(seq)).map((event) => event.message).join('\n');
    for (const part of ['add mesh address 10.64.0.1/32', 'remove address 192.0.2.7/32', 'accept forwarded connections']) assert.ok(message.includes(part), `${part} in: ${message}`);
    assert.deepEqual(await agents[0]!.plan(), [], 'converged again');
  });

  it('an interface deleted by hand is made again from the held document', async () => {
    const host = pair.hosts[0]!;
    const seq = (await journal.readEvents(0)).lastSeq;
    await pair.exec(host.netns, 'ip', ['link', 'del', 'dev', host.meshInterface]);
    await waitFor('the interface back', async () => (await agents[0]!.plan()).length === 0, 10_000, 100);
    assert.ok((await repairEvents(seq)).some((event) => event.message.includes(`create WireGuard interface ${host.meshInterface}`)));
    await waitFor('traffic through the made-again interface', async () => (await pair.roundTrip(host.netns, H2_MESH_ADDRESS, 7001, 1_000).catch(() => '')) === 'ping\n', 10_000, 200);
  });

  it('on the routed transport, a peer block\'s route removed by hand is back within the period, recorded', async () => {
    const host = pair.hosts[0]!;
    const members = await Promise.all(agents.map(async (agent, i) => ({ hostId: `h${i + 1}`, ...(await agent.registration()) })));
    const documents = meshDocuments(ROUTED, members, assignBlocks(ROUTED, members.map((member) => member.hostId), new Map()), 2);
    for (const [i, agent] of agents.entries()) {
      const outcome = await agent.accept(signDocument(encode(documents[i]!), coordinator));
      assert.ok('accepted' in outcome, JSON.stringify(outcome));
    }
    await waitFor('traffic over the routed transport', async () => (await pair.roundTrip(host.netns, H2_MESH_ADDRESS, 7001, 1_000).catch(() => '')) === 'ping\n', 10_000, 200);
    const routeTo = async () => ((await agents[0]!.link.observe()).gatewayRoutes ?? []).some((route) => JSON.stringify(route).includes('10.64.16.0/20'));
    assert.ok(await routeTo(), 'the routed transport routes h2\'s block');
    const seq = (await journal.readEvents(0)).lastSeq;
    await pair.exec(host.netns, 'ip', ['route', 'del', '10.64.16.0/20']);
    await waitFor('the routed route back', routeTo, 5_000, 50);
    await waitFor('the repair event', async () => (await repairEvents(seq)).some((event) => event.message.includes('10.64.16.0/20')), 5_000, 50);
    assert.equal(await pair.roundTrip(host.netns, H2_MESH_ADDRESS, 7001), 'ping\n');
  });
});
