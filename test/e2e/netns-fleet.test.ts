import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uniqueName } from '../lib/builders.js';
import { NetnsFleet } from '../lib/netns-fleet.js';
import { waitFor } from '../lib/wait.js';

// Three real hosts, each a network namespace with its own dockerd and agent, NATS on the bridge between them.
describe('the netns fleet: separate engines, a fleet apply placing services on chosen hosts, a cut link (real dockerds, real NATS)', () => {
  let fleet: NetnsFleet;

  before(async () => {
    fleet = await NetnsFleet.start({ hosts: 3 });
  });

  after(async () => {
    await fleet?.cleanup();
  });

  it('each host has its own engine: a container on h1 is invisible to h2, and their subnets do not overlap', async () => {
    const [h1, h2] = [fleet.host('h1'), fleet.host('h2')];
    const name = uniqueName('hwnf-probe');
    const container = await h1.docker.createContainer({ name, Image: 'hw/busybox:test', Cmd: ['true'] });
    try {
      assert.ok((await h1.docker.listContainers({ all: true })).some((c) => c.Names.includes(`/${name}`)));
      assert.ok(!(await h2.docker.listContainers({ all: true })).some((c) => c.Names.includes(`/${name}`)), 'h2 does not see h1\'s container');
    } finally {
      await container.remove({ force: true });
    }
    const subnets = await Promise.all(fleet.hosts.map(async (host) => String((await host.docker.getNetwork('bridge').inspect()).IPAM?.Config?.[0]?.Subnet)));
    assert.equal(new Set(subnets).size, 3, `distinct docker0 subnets: ${subnets.join(', ')}`);
    fleet.hosts.forEach((host, i) => assert.ok(host.containerRange.startsWith(subnets[i]!.split('.').slice(0, 3).join('.')), `${host.hostId}'s docker0 ${subnets[i]} lies in its range ${host.containerRange}`));
    // The hosts reach each other over the bridge: h2 pings h1's address from its own namespace.
    const ping = await fleet.execIn('h2', '/bin/busybox', ['ping', '-c', '1', '-W', '2', h1.address]);
    assert.match(ping.stdout, /1 (packets )?received/);
  });

  it('a fleet apply places each service on its chosen host, where it runs on that host\'s engine only', async () => {
    const project = uniqueName('nf');
    const file = join(fleet.dir, `${project}.yaml`);
    const service = (host: string) => `    image: hw/busybox:test\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n    placement: { hosts: [${host}] }\n`;
    await writeFile(file, `project: ${project}\nservices:\n  web:\n${service('h1')}  api:\n${service('h2')}`);
    const apply = await fleet.cli(['apply', '-f', file, '--wait', '--timeout', '60s']);
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}\n${fleet.host('h1').agentOutput().slice(-2_000)}`);
    const running = async (hostId: string) => (await fleet.host(hostId).docker.listContainers()).map((c) => c.Names[0]!.slice(1));
    const prefix = (hostId: string) => fleet.host(hostId).namePrefix;
    assert.deepEqual(await running('h1'), [`${prefix('h1')}${project}-web-1`]);
    assert.deepEqual(await running('h2'), [`${prefix('h2')}${project}-api-1`]);
    assert.deepEqual(await running('h3'), []);
  });

  it('a cut link makes the host STALE; a restored one makes it fresh again', async () => {
    await fleet.cutLink('h3');
    await waitFor('h3 stale in hosts --json', async () => (await fleet.hostsJson()).find((h) => h.hostId === 'h3')?.stale === true, 40_000, 500);
    const others = await fleet.hostsJson();
    assert.ok(others.filter((h) => h.hostId !== 'h3').every((h) => !h.stale), JSON.stringify(others));
    await fleet.restoreLink('h3');
    await waitFor('h3 fresh again', async () => (await fleet.hostsJson()).find((h) => h.hostId === 'h3')?.stale === false, 40_000, 500);
  });

  it('a killed engine is restarted on its own dirs, its containers still there, and the agent keeps its host', async () => {
    const running = async () => (await fleet.host('h2').docker.listContainers()).map((c) => c.Id);
    const before = await running();
    assert.equal(before.length, 1, 'the api container of the apply above');
    await fleet.killEngine('h2');
    await assert.rejects(fleet.host('h2').docker.ping());
    await fleet.restartEngine('h2');
    assert.ok(await fleet.host('h2').docker.ping());
    assert.deepEqual(await waitFor('the container listed again', async () => ((await running()).length > 0 ? running() : undefined), 20_000, 200), before);
    assert.ok(fleet.host('h2').agentAlive(), fleet.host('h2').agentOutput().slice(-2_000));
  });
});
