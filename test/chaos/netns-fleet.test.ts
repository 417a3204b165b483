import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { EndpointView } from '../../agent/fleet/endpoint-registry.js';
import { signingKeyOf } from '../../shared/signed-document.js';
import { hostInboxPrefix } from '../../shared/subjects.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { repeatCount, ScenarioTally } from '../lib/chaos-results.js';
import { NetnsFleet } from '../lib/netns-fleet.js';
import { waitFor } from '../lib/wait.js';

const HOSTS = ['h1', 'h2', 'h3'] as const;
/** Where the project's services run: api on two hosts, so a cut host leaves one instance behind. */
const PLACEMENT: Readonly<Record<string, readonly string[]>> = { web: ['h1'], api: ['h2', 'h3'], db: ['h2'] };
/** A host that goes silent leaves every other host's view within this (issue 29). */
const WITHDRAW_BOUND_MS = 5_000;

interface StatusJson {
  hosts: { hostId: string; stale: boolean }[];
}

interface Running {
  readonly id: string;
  readonly name: string;
  readonly startedAt: string;
  readonly restartCount: number;
}

// Scenario 8: three real hosts (network namespaces, each with its own dockerd and agent) run a project
// spread over them, each publishing its endpoints. A host's link is cut until status shows it stale,
// then restored; another host's engine is SIGKILLed and restarted. Readers in the test process, each
// with a host's credentials and that host's placements (agent/fleet/endpoint-registry.ts, as the
// agents' resolvers use it), time when the cut host's endpoints leave and come back.
describe('chaos 8: a host\'s link cut and an engine killed on a fleet of real separate engines (netns hosts, real agents, NATS)', () => {
  const tally = new ScenarioTally('8-netns-fleet', 'netns fleet: link cut, engine killed');
  let fleet: NetnsFleet | undefined;
  const views: EndpointView[] = [];
  const connections: NatsConnection[] = [];
  after(async () => {
    await tally.write();
    for (const view of views) view.close();
    for (const nc of connections) await nc.close().catch(() => undefined);
    await fleet?.cleanup();
  });

  it(`${repeatCount()} rounds of a cut link (endpoints withdrawn within 5 s, STALE then fresh, nothing restarted) and a killed engine (converges, no duplicate)`, { timeout: 10 * 60_000 }, async (t) => {
    fleet = await NetnsFleet.start({ hosts: HOSTS.length });
    const f = fleet;
    const project = uniqueName('nx');
    const file = join(f.dir, `${project}.yaml`);
    const spec = (hosts: readonly string[]) => `    image: hw/busybox:test\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n    placement: { hosts: [${hosts.join(', ')}] }\n`;
    await writeFile(file, `project: ${project}\nservices:\n${Object.entries(PLACEMENT).map(([name, hosts]) => `  ${name}:\n${spec(hosts)}`).join('')}`);
    const apply = await f.cli(['apply', '-f', file, '--wait', '--timeout', '90s']);
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);

    const seedOf = async (hostId: string) => new TextEncoder().encode((await readFile(join(f.fleetDir, 'hosts', `${hostId}.nk`), 'utf8')).trim());
    const keys = Object.fromEntries(await Promise.all(HOSTS.map(async (hostId) => [hostId, signingKeyOf(await seedOf(hostId)).publicKey] as const)));
    const remotes = Object.fromEntries(Object.entries(PLACEMENT).map(([name, hosts]) => [name, Object.fromEntries(hosts.map((hostId) => [hostId, { key: keys[hostId]! }]))]));
    // h1 and h2 read the registry as their agents do: h1 sees api on h2 and h3, h2 sees api on h3 (its own are local).
    const readers = new Map<string, EndpointView>();
    for (const hostId of ['h1', 'h2']) {
      const nc = await connect({ servers: f.nats.url, authenticator: nkeyAuthenticator(await seedOf(hostId)), inboxPrefix: hostInboxPrefix(hostId) });
      connections.push(nc);
      const view = new EndpointView(nc, hostId);
      view.setDesired([desired(project, { web: service() }, { hostId, remotes })]);
      views.push(view);
      readers.set(hostId, view);
    }
    const apiHosts = (reader: string) => [...new Set(readers.get(reader)!.resolve(project, 'api').map((endpoint) => endpoint.hostId))].sort();
    const allBack = () => JSON.stringify(apiHosts('h1')) === '["h2","h3"]' && JSON.stringify(apiHosts('h2')) === '["h3"]';
    await waitFor('both readers resolve every api instance', async () => allBack(), 30_000, 100);

    const expected = (hostId: string) => Object.entries(PLACEMENT).filter(([, hosts]) => hosts.includes(hostId)).map(([name]) => `${f.host(hostId).namePrefix}${project}-${name}-1`).sort();
    const running = async (hostId: string): Promise<Running[]> => {
      const listed = await f.host(hostId).docker.listContainers({ all: true });
      const mine = listed.filter((c) => c.Names.some((name) => name.includes(`${project}-`)));
      return Promise.all(mine.map(async (c) => {
        const inspected = await f.host(hostId).docker.getContainer(c.Id).inspect();
        return { id: c.Id, name: c.Names[0]!.slice(1), startedAt: inspected.State.Running ? inspected.State.StartedAt : 'not running', restartCount: inspected.RestartCount };
      }));
    };
    const snapshot = async () => Object.fromEntries(await Promise.all(HOSTS.map(async (hostId) => [hostId, (await running(hostId)).sort((a, b) => (a.name < b.name ? -1 : 1))] as const)));
    const converged = async () => {
      for (const hostId of HOSTS) {
        const found = await running(hostId).catch(() => undefined);
        if (!found || JSON.stringify(found.filter((c) => c.startedAt !== 'not running').map((c) => c.name).sort()) !== JSON.stringify(expected(hostId))) return false;
      }
      return allBack();
    };
    const hostStale = async (hostId: string) => {
      const status = await f.cli(['status', '--json']);
      if (status.code !== 0) return undefined;
      return (JSON.parse(status.stdout) as StatusJson).hosts.find((host) => host.hostId === hostId)?.stale;
    };
    const withdrawMs: number[] = [];
    const returnMs: number[] = [];
    const engineBackMs: number[] = [];

    for (let round = 1; round <= repeatCount(); round += 1) {
      tally.repeat();
      // The link: h3 cut from NATS and from every other host.
      const before = await snapshot();
      await f.cutLink('h3');
      tally.fault();
      const cutAt = Date.now();
      const left = new Map<string, number>();
      await waitFor('h3\'s api leaves both readers', async () => {
        for (const reader of readers.keys()) if (!left.has(reader) && !apiHosts(reader).includes('h3')) left.set(reader, Date.now() - cutAt);
        return left.size === readers.size;
      }, 20_000, 20);
      const slowest = Math.max(...left.values());
      withdrawMs.push(slowest);
      assert.deepEqual(apiHosts('h1'), ['h2'], 'h1 still resolves h2\'s api while h3 is cut');
      await waitFor('status shows h3 STALE', async () => (await hostStale('h3')) === true, 40_000, 500);
      const status = JSON.parse((await f.cli(['status', '--json'])).stdout) as StatusJson;
      assert.deepEqual(status.hosts.filter((host) => host.stale).map((host) => host.hostId), ['h3'], 'only the cut host is stale');
      await f.restoreLink('h3');
      const restoredAt = Date.now();
      await waitFor('h3\'s api back in both readers', async () => allBack(), 30_000, 20);
      returnMs.push(Date.now() - restoredAt);
      await waitFor('status shows h3 fresh', async () => (await hostStale('h3')) === false, 40_000, 500);
      tally.converged(Date.now() - restoredAt);
      assert.deepEqual(await snapshot(), before, 'no container restarted, replaced or added on any engine by the cut');
      t.diagnostic(`round ${round}: h3's endpoints left the readers ${[...left].map(([reader, ms]) => `${reader} ${ms} ms`).join(', ')} after the cut, came back ${returnMs.at(-1)} ms after the restore`);
      assert.ok(slowest <= WITHDRAW_BOUND_MS, `h3's endpoints left every reader within ${WITHDRAW_BOUND_MS} ms (took ${slowest} ms)`);

      // The engine: h2's dockerd and containerd SIGKILLed, then started again on the same dirs.
      await f.killEngine('h2');
      tally.fault();
      await f.restartEngine('h2');
      const engineAt = Date.now();
      await waitFor('the project converged again after h2\'s engine restart', converged, 60_000, 200);
      // The endpoints h1 resolves for h2 are the addresses h2's api holds now, after the engine's restart.
      await waitFor('h1 resolves h2\'s api at its current address', async () => {
        const api = (await f.host('h2').docker.listContainers()).find((c) => c.Names[0] === `/${expected('h2').find((name) => name.endsWith('-api-1'))}`);
        const addresses = Object.values(api?.NetworkSettings.Networks ?? {}).map((network) => network.IPAddress).filter((address) => address !== '');
        const resolved = readers.get('h1')!.resolve(project, 'api').filter((endpoint) => endpoint.hostId === 'h2').map((endpoint) => endpoint.address);
        return resolved.length > 0 && resolved.every((address) => addresses.includes(address));
      }, 30_000, 200);
      engineBackMs.push(Date.now() - engineAt);
      tally.converged(Date.now() - engineAt);
      assert.ok(f.host('h2').agentAlive(), f.host('h2').agentOutput().slice(-2_000));
      t.diagnostic(`round ${round}: converged with h2's endpoints back ${engineBackMs.at(-1)} ms after its engine answered again`);
    }

    // Every engine holds exactly the project's containers, once each, all running.
    let found = 0;
    let missing = 0;
    let duplicate = 0;
    let orphan = 0;
    let expectedCount = 0;
    for (const hostId of HOSTS) {
      const names = (await running(hostId)).map((c) => c.name);
      const want = expected(hostId);
      expectedCount += want.length;
      found += names.length;
      missing += want.filter((name) => !names.includes(name)).length;
      duplicate += names.filter((name, i) => names.indexOf(name) !== i).length;
      orphan += names.filter((name) => !want.includes(name)).length;
    }
    tally.containers({ expected: expectedCount, found, missing, duplicate, orphan });
    tally.note(`h3's endpoints left every reader ${withdrawMs.join(', ')} ms after the cut (bound ${WITHDRAW_BOUND_MS} ms), returned ${returnMs.join(', ')} ms after the restore; h2 converged with its endpoints back ${engineBackMs.join(', ')} ms after its engine answered`);
    assert.deepEqual({ missing, duplicate, orphan }, { missing: 0, duplicate: 0, orphan: 0 });
  });
});
