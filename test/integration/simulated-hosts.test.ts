import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../lib/cli.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { SimulatedHosts, convergedProject } from '../lib/simulated-hosts.js';
import { waitFor } from '../lib/wait.js';

interface HostsJson {
  readonly hosts: { hostId: string; labels: Record<string, string>; heartbeatAt: string; stale: boolean }[];
}

interface StatusJson {
  readonly hosts: { hostId: string; stale: boolean; status: { projects: { project: string; converged: boolean; instances: { drift: string[] }[] }[] } | null }[];
}

// The simulated hosts of the dashboard benchmark write what agents write: the coordinator's own
// commands (`hosts --json`, `status --json`) read them as hosts, on a real nats-server.
describe('simulated hosts: registrations, heartbeats and status reports as agents write them (real NATS)', () => {
  let nats: NatsServerHandle;
  let hosts: SimulatedHosts;
  const hostIds = ['sima', 'simb', 'simc'];

  before(async () => {
    nats = await startNatsServer();
    hosts = await SimulatedHosts.start({ natsUrl: nats.url, hostIds, heartbeatMs: 300, labels: (_, index) => ({ zone: `z${index}` }) });
  });

  after(async () => {
    await hosts?.close();
    await nats?.cleanup();
  });

  it('`hosts --json` lists every simulated host with its labels, fresh, and its heartbeat advances', async () => {
    const read = async (): Promise<HostsJson> => {
      const result = await runCli(['hosts', '--json', '--nats', nats.url]);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as HostsJson;
    };
    const first = await read();
    assert.deepEqual(
      first.hosts.map((h) => [h.hostId, h.labels, h.stale]).sort(),
      hostIds.map((hostId, index) => [hostId, { zone: `z${index}` }, false]),
    );
    const before = Date.parse(first.hosts.find((h) => h.hostId === 'sima')?.heartbeatAt ?? '');
    await waitFor('a later heartbeat of sima', async () => Date.parse((await read()).hosts.find((h) => h.hostId === 'sima')?.heartbeatAt ?? '') > before, 10_000, 200);
  });

  it('`status --json` reads a status put by setProjects, and a silenced host stops heartbeating', async () => {
    const web = convergedProject('web', 2);
    await hosts.setProjects('simb', [{ ...web, converged: false, instances: web.instances.map((i, n) => (n === 0 ? { ...i, state: 'missing', drift: ['missing'] } : i)) }]);
    const status = await waitFor(
      'simb reporting its drift',
      async () => {
        const result = await runCli(['status', '--json', '--nats', nats.url]);
        if (result.code !== 0) throw new Error(result.stderr);
        const parsed = JSON.parse(result.stdout) as StatusJson;
        return parsed.hosts.find((h) => h.hostId === 'simb')?.status?.projects[0]?.converged === false ? parsed : undefined;
      },
      10_000,
      200,
    );
    assert.deepEqual(status.hosts.find((h) => h.hostId === 'simb')?.status?.projects[0]?.instances.map((i) => i.drift), [['missing'], []]);
    hosts.silence('simc');
    const beats = hosts.heartbeats;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.ok(hosts.heartbeats > beats, 'the others go on');
    const silenced = JSON.parse((await runCli(['hosts', '--json', '--nats', nats.url])).stdout) as HostsJson;
    const last = Date.parse(silenced.hosts.find((h) => h.hostId === 'simc')?.heartbeatAt ?? '');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const later = JSON.parse((await runCli(['hosts', '--json', '--nats', nats.url])).stdout) as HostsJson;
    assert.equal(Date.parse(later.hosts.find((h) => h.hostId === 'simc')?.heartbeatAt ?? ''), last, 'simc heartbeats no more');
  });
});
