import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assignBlocks, meshDocuments } from '../../coordinator/mesh-plan.js';
import { MeshLink } from '../../agent/mesh/mesh-link.js';
import { meshNetworkPlacement } from '../../agent/mesh/mesh-networks.js';
import { meshSettingsSchema } from '../../shared/mesh.js';
import { NetnsFleet } from '../lib/netns-fleet.js';

const run = promisify(execFile);
const SETTINGS = meshSettingsSchema.parse({});
const IMAGE = 'hw/busybox:test';

/** `docker run` on one host's engine; stdout. */
async function docker(fleet: NetnsFleet, hostId: string, args: readonly string[]): Promise<string> {
  return (await run('docker', ['-H', fleet.host(hostId).dockerHost, ...args], { timeout: 60_000 })).stdout;
}

describe('the data plane between two real engines: routed per-host subnets over the WireGuard mesh', () => {
  let fleet: NetnsFleet;
  const network = (fleet: NetnsFleet) => `${fleet.runId}-mesh`;

  before(async () => {
    fleet = await NetnsFleet.start({ hosts: 2, agents: false });
  });

  after(async () => {
    await fleet?.cleanup();
  });

  it('a container on h1 reaches a container on h2 by its address only once the mesh is up', async () => {
    const links = fleet.hosts.map((host) => new MeshLink({ interfaceName: `hwm${fleet.runId}${host.index}`, dataDir: host.dataDir, netns: host.netns }));
    const members = await Promise.all(links.map(async (link, i) => ({ hostId: fleet.hosts[i]!.hostId, publicKey: (await link.key()).publicKey, endpoint: `${fleet.hosts[i]!.address}:${SETTINGS.listenPort}` })));
    const documents = meshDocuments(SETTINGS, members, assignBlocks(SETTINGS, members.map((member) => member.hostId), new Map()), 1);
    for (const [i, host] of fleet.hosts.entries()) {
      const placement = meshNetworkPlacement(documents[i]!.block, []);
      const options = Object.entries(placement.options).flatMap(([key, value]) => ['-o', `${key}=${value}`]);
      await docker(fleet, host.hostId, ['network', 'create', '--subnet', placement.subnet, '--gateway', placement.gateway, ...options, network(fleet)]);
    }
    const server = `${fleet.runId}-api`;
    await docker(fleet, 'h2', ['run', '-d', '--name', server, '--network', network(fleet), IMAGE, 'sh', '-c', 'mkdir -p /www && echo served-by-h2 > /www/index.html && exec httpd -f -p 8080 -h /www']);
    const address = (await docker(fleet, 'h2', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${network(fleet)}").IPAddress}}`, server])).trim();
    assert.match(address, /^10\.64\.17\.\d+$/, 'h2\'s network lies in h2\'s block');
    // timeout, not wget -T: this busybox's wget crashes on -T.
    const fetch = ['run', '--rm', '--network', network(fleet), IMAGE, 'timeout', '3', 'wget', '-q', '-O', '-', `http://${address}:8080/`];
    await assert.rejects(docker(fleet, 'h1', fetch), 'no route between the engines before the mesh');
    for (const [i, link] of links.entries()) await link.reconcile(documents[i]);
    assert.equal((await docker(fleet, 'h1', fetch)).trim(), 'served-by-h2');
    const dump = (await fleet.execIn('h2', 'wg', ['show', `hwm${fleet.runId}2`, 'transfer'])).stdout;
    assert.match(dump, /\t[1-9]\d*\t[1-9]\d*/, 'the request crossed the WireGuard interface');
  });
});
