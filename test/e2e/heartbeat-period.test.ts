import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KvWatchInclude, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { FLEET_HEARTBEATS_PER_SECOND, heartbeatPeriodMs } from '../../shared/heartbeat-period.js';
import { uniqueName } from '../lib/builders.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { SimulatedHosts } from '../lib/simulated-hosts.js';
import { waitFor } from '../lib/wait.js';

interface HostJson {
  hostId: string;
  heartbeatMs?: number;
  stale: boolean;
}

// A real agent (the harness runs it with --heartbeat 1s) in a fleet of 1,500 hosts on a real
// nats-server: 1,499 simulated hosts beating every 5 min, and the agent, which reads the registry's
// size and spaces its beats so that the fleet stays within FLEET_HEARTBEATS_PER_SECOND.
describe('the heartbeat period follows the fleet\'s size (a real agent, real NATS, real Docker)', () => {
  const runId = uniqueName('hwp');
  const hostId = uniqueName('hp');
  const others = Array.from({ length: 3 * FLEET_HEARTBEATS_PER_SECOND - 1 }, (_, i) => `${runId}-sim${i}`);
  const expected = heartbeatPeriodMs(1_000, others.length + 1);
  let nats: NatsServerHandle;
  let fleet: FleetHarness;
  let simulated: SimulatedHosts;
  let watcher: NatsConnection;

  before(async () => {
    nats = await startNatsServer();
    simulated = await SimulatedHosts.start({ natsUrl: nats.url, hostIds: others, heartbeatMs: 300_000 });
    fleet = FleetHarness.create(nats, runId);
    await fleet.startAgents([{ hostId, labels: {} }]);
    watcher = await connect({ servers: nats.url });
  });
  after(async () => {
    await watcher?.close();
    await fleet?.cleanup();
    await simulated?.close();
    await nats?.cleanup();
  });

  it(`announces ${expected / 1000} s for --heartbeat 1s among 1,500 hosts, beats at that period, and reads as live throughout`, async () => {
    assert.equal(expected, 3_000);
    const hostsJson = async () => JSON.parse((await fleet.cli(['hosts', '--json'], 0)).stdout) as { hosts: HostJson[] };
    await waitFor('the agent announcing the longer period', async () => (await hostsJson()).hosts.find((host) => host.hostId === hostId)?.heartbeatMs === expected || undefined, 20_000, 250);
    const kv = await new Kvm(watcher).open('hw_hosts');
    const beats: number[] = [];
    const watch = await kv.watch({ key: hostId, include: KvWatchInclude.UpdatesOnly });
    for await (const entry of watch) {
      if (entry.operation === 'PUT') beats.push(Date.now());
      if (beats.length === 4) break;
    }
    watch.stop();
    const gaps = beats.slice(1).map((at, i) => at - (beats[i] as number));
    for (const gap of gaps) assert.ok(gap >= expected - 500 && gap <= expected + 1_500, `beats ${gaps.join(', ')} ms apart, expected about ${expected}`);
    const agent = (await hostsJson()).hosts.find((host) => host.hostId === hostId);
    assert.equal(agent?.stale, false);
    assert.match(fleet.agent(hostId).output(), /heartbeat period follows the fleet's size/);
  });
});
