import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { meshNetworkPlacement } from '../../agent/mesh/mesh-networks.js';
import { MESH_ROUTE_PROTO } from '../../agent/mesh/routed-state.js';
import { NetnsFleet } from '../lib/netns-fleet.js';
import { waitFor } from '../lib/wait.js';

const run = promisify(execFile);
const IMAGE = 'hw/busybox:test';
const PORT = 51820;

interface MeshApply {
  hosts: { hostId: string; block: string; meshAddress: string; peers: string[]; change: string; revision: number }[];
}

/** A docker command on one host's engine; stdout. */
async function docker(fleet: NetnsFleet, hostId: string, args: readonly string[]): Promise<string> {
  return (await run('docker', ['-H', fleet.host(hostId).dockerHost, ...args], { timeout: 60_000 })).stdout;
}

/** From the host's namespace, a TCP connect to address:port: 'refused' proves the far kernel answered (over the tunnel). */
async function probe(fleet: NetnsFleet, hostId: string, address: string, port: number): Promise<string> {
  const script = `const s = require('node:net').connect(${port}, ${JSON.stringify(address)}, () => { console.log('open'); s.destroy(); }); s.setTimeout(1500, () => { console.log('timeout'); process.exit(0); }); s.on('error', (e) => console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code));`;
  return (await fleet.execIn(hostId, process.execPath, ['-e', script])).stdout.trim();
}

describe('the mesh from the coordinator to the data plane, on two real engines', () => {
  let fleet: NetnsFleet;
  const interfaceOf = (fleet: NetnsFleet, index: number) => `hwm${fleet.runId}${index}`;

  before(async () => {
    fleet = await NetnsFleet.start({ hosts: 2, hostAgentArgs: (host) => ['--mesh-endpoint', `${host.address}:${PORT}`, '--mesh-interface', `hwm${host.netns.split('-')[1]}${host.index}`] });
  });

  after(async () => {
    const runId = fleet?.runId;
    await fleet?.cleanup();
    // wireguard-go killed with the namespace leaves its control socket behind.
    if (runId !== undefined) for (const name of await readdir('/var/run/wireguard').catch(() => [])) if (name.startsWith(`hwm${runId}`)) await rm(`/var/run/wireguard/${name}`, { force: true });
  });

  it('mesh apply gives each host a block and its peers; the agents bring the interfaces up; a second apply changes nothing', async () => {
    const dry = await fleet.cli(['mesh', 'apply', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual((JSON.parse(dry.stdout) as MeshApply).hosts.map((host) => host.change), ['added', 'added']);
    assert.notEqual(await probe(fleet, 'h1', '10.64.16.1', 9), 'refused', 'no mesh before apply (dry run wrote nothing)');
    const applied = await fleet.cli(['mesh', 'apply', '--json']);
    assert.equal(applied.code, 0, applied.stderr);
    const hosts = (JSON.parse(applied.stdout) as MeshApply).hosts;
    assert.deepEqual(hosts.map((host) => [host.hostId, host.block, host.meshAddress, host.peers]), [
      ['h1', '10.64.0.0/20', '10.64.0.1', ['h2']],
      ['h2', '10.64.16.0/20', '10.64.16.1', ['h1']],
    ]);
    // Connection refused (not a timeout) is h2's kernel answering through the tunnel.
    await waitFor('h1 reaches h2\'s mesh address', async () => (await probe(fleet, 'h1', '10.64.16.1', 9)) === 'refused', 20_000, 200);
    await waitFor('h2 reaches h1\'s mesh address', async () => (await probe(fleet, 'h2', '10.64.0.1', 9)) === 'refused', 20_000, 200);
    const again = await fleet.cli(['mesh', 'apply', '--json']);
    assert.deepEqual((JSON.parse(again.stdout) as MeshApply).hosts.map((host) => [host.change, host.revision]), [['unchanged', 1], ['unchanged', 1]]);
    const listed = await fleet.cli(['mesh', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { hosts: { hostId: string }[]; waiting: string[] }).waiting, []);
    const status = await fleet.cli(['status', '--json']);
    assert.doesNotMatch(status.stdout, /_mesh/, 'the mesh document is no project');
  });

  it('a container on h1 reaches a container on h2 by its address through the mesh', async () => {
    const network = `${fleet.runId}-mesh`;
    for (const [hostId, block] of [['h1', '10.64.0.0/20'], ['h2', '10.64.16.0/20']] as const) {
      const placement = meshNetworkPlacement(block, []);
      const options = Object.entries(placement.options).flatMap(([key, value]) => ['-o', `${key}=${value}`]);
      await docker(fleet, hostId, ['network', 'create', '--subnet', placement.subnet, '--gateway', placement.gateway, ...options, network]);
    }
    const server = `${fleet.runId}-api`;
    await docker(fleet, 'h2', ['run', '-d', '--name', server, '--network', network, IMAGE, 'sh', '-c', 'mkdir -p /www && echo served-by-h2 > /www/index.html && exec httpd -f -p 8080 -h /www']);
    const address = (await docker(fleet, 'h2', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, server])).trim();
    assert.match(address, /^10\.64\.17\.\d+$/, 'h2\'s network lies in h2\'s block');
    // timeout, not wget -T: this busybox's wget crashes on -T.
    const answer = await docker(fleet, 'h1', ['run', '--rm', '--network', network, IMAGE, 'timeout', '5', 'wget', '-q', '-O', '-', `http://${address}:8080/`]);
    assert.equal(answer.trim(), 'served-by-h2');
    const transfer = (await fleet.execIn('h2', 'wg', ['show', interfaceOf(fleet, 2), 'transfer'])).stdout;
    assert.match(transfer, /\t[1-9]\d*\t[1-9]\d*/, 'the request crossed the WireGuard interface');
  });

  it('mesh apply --transport routed: the agents swap the tunnel for routes via each other\'s address, and the same container answers', async () => {
    const applied = await fleet.cli(['mesh', 'apply', '--transport', 'routed', '--json']);
    assert.equal(applied.code, 0, applied.stderr);
    const result = JSON.parse(applied.stdout) as MeshApply & { transport: string };
    assert.equal(result.transport, 'routed');
    assert.deepEqual(result.hosts.map((host) => [host.change, host.revision]), [['changed', 2], ['changed', 2]]);
    const h2Address = fleet.host('h2').address.replace(/\./g, '\\.');
    await waitFor('h1 routes h2\'s block via h2\'s address', async () => new RegExp(`10\\.64\\.16\\.0/20 via ${h2Address} `).test((await fleet.execIn('h1', 'ip', ['-4', 'route', 'show', 'proto', String(MESH_ROUTE_PROTO)])).stdout), 20_000, 200);
    // The same name, now a routed link (dummy, or an empty bridge where the kernel has no dummy), not wireguard-go's tun.
    await waitFor('h2\'s mesh interface is a routed link', async () => /\\\s+(dummy|bridge)\s/.test((await fleet.execIn('h2', 'ip', ['-d', '-o', 'link', 'show', 'dev', interfaceOf(fleet, 2)])).stdout), 20_000, 200);
    const network = `${fleet.runId}-mesh`;
    const server = `${fleet.runId}-api`;
    const address = (await docker(fleet, 'h2', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, server])).trim();
    await waitFor('a container on h1 fetches from h2 over the routed transport', async () => {
      const answer = await docker(fleet, 'h1', ['run', '--rm', '--network', network, IMAGE, 'timeout', '5', 'wget', '-q', '-O', '-', `http://${address}:8080/`]).catch(() => '');
      return answer.trim() === 'served-by-h2';
    }, 30_000, 500);
    const back = await fleet.cli(['mesh', 'apply', '--json']);
    assert.equal((JSON.parse(back.stdout) as { transport: string }).transport, 'routed', 'the stored transport is kept when no flag is given');
    assert.deepEqual((JSON.parse(back.stdout) as MeshApply).hosts.map((host) => host.change), ['unchanged', 'unchanged']);
  });
});
