import { after, before, describe, it } from 'node:test';
import { readHostUpstreamResolvers } from '../../agent/resolver/host-upstream.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '../../shared/sleep.js';
import { NetnsFleet } from '../lib/netns-fleet.js';
import { waitFor } from '../lib/wait.js';

const run = promisify(execFile);
const PORT = 51820;
const PROJECT = 'shop';
const BLOCKS: Record<string, string> = { h1: '10.64.0.0/20', h2: '10.64.16.0/20', h3: '10.64.32.0/20' };
const IDLE = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;
// An unchanged compose file: nothing in it says the services run on different hosts but x-hostwright's placement.
const COMPOSE = `name: ${PROJECT}
services:
  web:
    image: hw/busybox:test
    command: ${IDLE}
    depends_on: { api: { condition: service_healthy } }
    x-hostwright: { placement: { hosts: [h1] } }
  api:
    image: hw/busybox:test
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    healthcheck: { test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"], interval: 1s, retries: 30 }
    x-hostwright: { placement: { hosts: [h2, h3] } }
  db:
    image: hw/busybox:test
    command: ${IDLE}
    volumes: [data:/data]
    x-hostwright: { placement: { hosts: [h2] } }
volumes:
  data: {}
`;

async function docker(fleet: NetnsFleet, hostId: string, args: readonly string[]): Promise<string> {
  return (await run('docker', ['-H', fleet.host(hostId).dockerHost, ...args], { timeout: 60_000 })).stdout;
}

/** From the host's namespace, a TCP connect: 'refused' proves the far kernel answered (over the tunnel). */
async function probe(fleet: NetnsFleet, hostId: string, address: string): Promise<string> {
  const script = `const s = require('node:net').connect(9, ${JSON.stringify(address)}, () => { console.log('open'); s.destroy(); }); s.setTimeout(1500, () => { console.log('timeout'); process.exit(0); }); s.on('error', (e) => console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code));`;
  return (await fleet.execIn(hostId, process.execPath, ['-e', script])).stdout.trim();
}

describe('services that find each other across three real engines through the mesh and the fleet resolver', () => {
  let fleet: NetnsFleet;
  const name = (hostId: string, service: string) => `${fleet.host(hostId).namePrefix}${PROJECT}-${service}-1`;

  /** One request from web to api by its compose name: the answering replica's hostname, or the failure. */
  async function request(): Promise<string> {
    try {
      return (await docker(fleet, 'h1', ['exec', name('h1', 'web'), 'timeout', '5', 'wget', '-q', '-O', '-', 'http://api:8080/'])).trim();
    } catch (error) {
      return `failed: ${String((error as { stderr?: string }).stderr ?? error).trim()}`;
    }
  }

  /** Every container's id and restart count, on every host. */
  async function restarts(): Promise<string[]> {
    const rows: string[] = [];
    for (const hostId of ['h1', 'h2', 'h3']) {
      const ids = (await docker(fleet, hostId, ['ps', '-aq'])).split('\n').filter(Boolean);
      if (ids.length > 0) rows.push(...(await docker(fleet, hostId, ['inspect', '-f', '{{.Name}} {{.Id}} {{.RestartCount}} {{.State.StartedAt}}', ...ids])).split('\n').filter(Boolean));
    }
    return rows.sort();
  }

  before(async () => {
    fleet = await NetnsFleet.start({ hosts: 3, hostAgentArgs: (host) => ['--mesh-endpoint', `${host.address}:${PORT}`, '--mesh-interface', `hwm${host.netns.split('-')[1]}${host.index}`] });
  });

  after(async () => {
    const runId = fleet?.runId;
    await fleet?.cleanup();
    // wireguard-go killed with the namespace leaves its control socket behind.
    if (runId !== undefined) for (const entry of await readdir('/var/run/wireguard').catch(() => [])) if (entry.startsWith(`hwm${runId}`)) await rm(`/var/run/wireguard/${entry}`, { force: true });
  });

  it('web on h1 reaches api on h2 and h3 by name; a cut link leaves h2 serving within 5 s; a restored one brings h3 back; nothing restarts', async () => {
    const applied = await fleet.cli(['mesh', 'apply', '--json']);
    assert.equal(applied.code, 0, applied.stderr);
    for (const [from, to] of [['h1', '10.64.16.1'], ['h1', '10.64.32.1'], ['h2', '10.64.0.1'], ['h3', '10.64.0.1']] as const) {
      await waitFor(`${from} reaches ${to} over the mesh`, async () => (await probe(fleet, from, to)) === 'refused', 30_000, 200);
    }
    // Each agent says its live mesh matches revision 1; a route removed by hand on h2 is put back
    // (the agent checks after every cycle, here every 3 s), recorded as an event, and `mesh` says so.
    type MeshList = { hosts: { hostId: string; revision: number; live: { state: string; revision?: number; repaired?: { steps: number } } }[] };
    const meshList = async () => (JSON.parse((await fleet.cli(['mesh', '--json'])).stdout) as MeshList).hosts;
    await waitFor('every host\'s live mesh in sync with revision 1', async () => (await meshList()).every((host) => host.live.state === 'in-sync' && host.live.revision === 1), 20_000, 250);
    const h2Interface = `hwm${fleet.host('h2').netns.split('-')[1]}${fleet.host('h2').index}`;
    await fleet.execIn('h2', 'ip', ['route', 'del', BLOCKS.h1!, 'dev', h2Interface]);
    await waitFor('h2\'s route to h1\'s block repaired, as `mesh` shows', async () => (await meshList()).find((host) => host.hostId === 'h2')?.live.repaired?.steps === 1, 20_000, 250);
    assert.equal(await probe(fleet, 'h2', '10.64.0.1'), 'refused', 'h2 reaches h1 again');
    const listed = await fleet.cli(['mesh']);
    assert.match(listed.stdout, /^h2 .* in sync \(repaired 1 step\(s\) at /m);
    const events = await fleet.cli(['events', '--host', 'h2', '--type', 'drift_detected', '--json']);
    assert.ok(events.stdout.includes(`repaired: route ${BLOCKS.h1} via ${h2Interface}`), `the repair in h2's events:\n${events.stdout}`);
    const file = join(fleet.dir, 'compose.yaml');
    await writeFile(file, COMPOSE);
    // The plan shows where each host's project network goes, before anything is made.
    const plan = await fleet.cli(['plan', '-f', file]);
    assert.equal(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);
    for (const subnet of ['10.64.1.0/24', '10.64.17.0/24', '10.64.33.0/24']) assert.ok(plan.stdout.includes(`subnet ${subnet} of the mesh block`), `${subnet} in the plan:\n${plan.stdout}`);
    const deployed = await fleet.cli(['apply', '-f', file, '--wait', '--timeout', '90s']);
    assert.equal(deployed.code, 0, `${deployed.stdout}\n${deployed.stderr}\n${fleet.host('h1').agentOutput().slice(-2_000)}`);

    // Each host's project network lies in its block; web asks the fleet resolver on its host's mesh address.
    for (const hostId of ['h1', 'h2', 'h3']) {
      const subnet = (await docker(fleet, hostId, ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', `${fleet.host(hostId).namePrefix}${PROJECT}_default`])).trim();
      const [a, b, c] = BLOCKS[hostId]!.split('/')[0]!.split('.').map(Number) as [number, number, number];
      const parts = subnet.split('.').map(Number);
      assert.ok(parts[0] === a && parts[1] === b && parts[2]! > c && parts[2]! < c + 16, `${hostId}'s network ${subnet} lies in its block ${BLOCKS[hostId]}`);
    }
    // The fleet resolver first, then the host's own resolvers for names outside the fleet.
    assert.deepEqual(JSON.parse((await docker(fleet, 'h1', ['inspect', '-f', '{{json .HostConfig.Dns}}', name('h1', 'web')])).trim()), ['10.64.0.1', ...readHostUpstreamResolvers()]);
    // depends_on across hosts: web started only once an api replica on another engine was healthy,
    // which its health check (first probe one interval after the start) makes at least 1 s after it started.
    const startedAt = async (hostId: string, service: string) => Date.parse((await docker(fleet, hostId, ['inspect', '-f', '{{.State.StartedAt}}', name(hostId, service)])).trim());
    const [webStarted, firstApiStarted] = [await startedAt('h1', 'web'), Math.min(await startedAt('h2', 'api'), await startedAt('h3', 'api'))];
    assert.ok(webStarted >= firstApiStarted + 900, `web started ${webStarted - firstApiStarted} ms after the first api replica: before any could be healthy`);
    const replica = async (hostId: string) => (await docker(fleet, hostId, ['inspect', '-f', '{{.Config.Hostname}}', name(hostId, 'api')])).trim();
    const [onH2, onH3] = [await replica('h2'), await replica('h3')];
    assert.notEqual(onH2, onH3);

    // Both replicas serve: the resolver turns its answer from one query to the next.
    const seen = new Set<string>();
    await waitFor('both api replicas to answer web', async () => {
      const answer = await request();
      seen.add(answer);
      return seen.has(onH2) && seen.has(onH3);
    }, 60_000, 100).catch((error: unknown) => assert.fail(`${String(error)}; answers: ${[...seen].join(' | ')}\n${fleet.host('h1').agentOutput().slice(-2_000)}`));
    // A container on no project network (Docker's default bridge, asking the resolver directly) is nobody: refused.
    const stranger = await run('docker', ['-H', fleet.host('h1').dockerHost, 'run', '--rm', '--dns', '10.64.0.1', 'hw/busybox:test', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://api:8080/'], { timeout: 60_000 }).then(
      (result) => `answered: ${result.stdout}`,
      (error: unknown) => String((error as { stderr?: string }).stderr ?? error),
    );
    assert.match(stranger, /bad address/, 'the resolver answers only containers of the host\'s project networks');
    const before = await restarts();

    await fleet.cutLink('h3');
    await sleep(5_000);
    const afterCut: string[] = [];
    for (let i = 0; i < 6; i++) afterCut.push(await request());
    assert.deepEqual(afterCut, Array<string>(6).fill(onH2), 'from 5 s after the cut, every request is served by h2');

    await fleet.restoreLink('h3');
    const back = new Set<string>();
    await waitFor('h3\'s replica back in rotation', async () => {
      back.add(await request());
      return back.has(onH3);
    }, 60_000, 100).catch((error: unknown) => assert.fail(`${String(error)}; answers: ${[...back].join(' | ')}`));
    assert.deepEqual(await restarts(), before, 'no container restarted or was replaced');
  });

  /** The project's containers on one engine, running or not, by name without the host's prefix. */
  async function projectContainers(hostId: string): Promise<string[]> {
    const names = (await docker(fleet, hostId, ['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter(Boolean);
    const prefix = `${fleet.host(hostId).namePrefix}${PROJECT}-`;
    return names.filter((entry) => entry.startsWith(prefix)).map((entry) => entry.slice(fleet.host(hostId).namePrefix.length)).sort();
  }

  it('hosts drain h3 moves its api replica to h2; web on h1 still reaches api by name, on h2 only; no duplicate anywhere; h3 keeps none of the project', async () => {
    const untouched = async () => (await restarts()).filter((row) => !row.includes(`${PROJECT}-api-`) || row.startsWith(`/${name('h2', 'api')} `));
    const before = await untouched();
    // web keeps asking for api through the drain: the readers stop using h3's replica (their
    // documents no longer name h3 for api) before it stops, and h2's second replica is healthy first.
    const during: string[] = [];
    let draining = true;
    const sampler = (async () => {
      while (draining) during.push(await request());
    })();
    const drained = await fleet.cli(['hosts', 'drain', 'h3', '--deadline', '90s']).finally(() => {
      draining = false;
    });
    await sampler;
    assert.equal(drained.code, 0, `${drained.stdout}\n${drained.stderr}\n${fleet.host('h2').agentOutput().slice(-2_000)}`);
    assert.match(drained.stdout, /h3 drained/);
    assert.ok(during.length >= 3, `${during.length} requests during the drain`);
    assert.deepEqual(during.filter((answer) => answer.startsWith('failed')), [], `no request failed during the drain (${during.length} made)`);
    assert.match(drained.stdout, /Phase 1: Wrote desired state for 2 host\(s\): h1 r\d+, h2 r\d+/, 'h1 is written in the first phase: its document stops naming h3 for api');

    // Exactly the project's instances, once each: h2 runs both api replicas, h3 nothing of the project.
    assert.deepEqual(await projectContainers('h1'), [`${PROJECT}-web-1`]);
    assert.deepEqual(await projectContainers('h2'), [`${PROJECT}-api-1`, `${PROJECT}-api-2`, `${PROJECT}-db-1`]);
    assert.deepEqual(await projectContainers('h3'), []);
    const hostnameOf = async (instance: string) => (await docker(fleet, 'h2', ['inspect', '-f', '{{.Config.Hostname}}', `${fleet.host('h2').namePrefix}${PROJECT}-${instance}`])).trim();
    const replicas = new Set([await hostnameOf('api-1'), await hostnameOf('api-2')]);
    assert.equal(replicas.size, 2);

    // Through h1's resolver and the mesh: both of h2's replicas answer, and from then on nothing but them.
    const seen = new Set<string>();
    await waitFor('both of h2\'s api replicas to answer web', async () => {
      seen.add(await request());
      return [...replicas].every((replica) => seen.has(replica));
    }, 30_000, 100).catch((error: unknown) => assert.fail(`${String(error)}; answers: ${[...seen].join(' | ')}\n${fleet.host('h1').agentOutput().slice(-2_000)}`));
    const settled: string[] = [];
    for (let i = 0; i < 6; i++) settled.push(await request());
    assert.ok(settled.every((answer) => replicas.has(answer)), `every request served by h2 after the drain: ${settled.join(' | ')}`);
    // The move replaced nothing else: web, db and h2's first api replica are the same containers, not restarted.
    assert.deepEqual(await untouched(), before);
  });
});
