import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HostDesired } from '../../shared/host-desired.js';
import { QUICK_STOP_COMMAND, desired, service, uniqueName } from '../lib/builders.js';
import { inside } from '../lib/container-exec.js';
import { docker, openHarness, projectContainers, projectResources, removeProject } from '../lib/docker-harness.js';
import { waitFor } from '../lib/wait.js';

// Project networks and volumes on the real engine: service names resolve within a project and
// nowhere else, networks go with the project, volumes keep their data, and each is journaled,
// owned and repaired like a container.

/** A busybox web server answering `body` on port 8080. */
function server(body: string) {
  return service({ command: ['sh', '-c', `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 8080 -h /www`], stop_timeout: '1s' });
}

/** A client whose health check fetches http://api:8080/ by name (`timeout`: the static busybox's `wget -T` crashes). */
const client = service({
  command: QUICK_STOP_COMMAND,
  stop_timeout: '1s',
  healthcheck: { test: ['CMD-SHELL', 'timeout 3 wget -q -O- http://api:8080/ | grep -q ours'], interval: '1s', timeout: '3s', retries: 30 },
});

async function containerNamed(name: string) {
  const info = await docker.getContainer(name).inspect();
  return info;
}

describe('project networks and volumes (real Docker)', () => {
  let h: Awaited<ReturnType<typeof openHarness>>;
  const projects: string[] = [];
  const project = uniqueName('net');
  const other = uniqueName('netb');
  projects.push(project, other);

  const apply = async (document: HostDesired) => {
    await h.journal.putDesired(document);
    const report = await h.reconciler.runCycle({ explicit: true });
    assert.equal(report.failed, false, report.results.filter((r) => r.outcome === 'failed').map((r) => r.message).join('; '));
    return report;
  };

  before(async () => {
    h = await openHarness('net');
  });
  after(async () => {
    for (const name of projects) await removeProject(name);
    await h?.close();
  });

  it('a web service whose health check calls http://api:8080/ by name turns healthy; the network is made first, journaled and owned', async () => {
    const report = await apply(desired(project, { api: server('ours'), web: client }));
    const kinds = report.results.map((r) => r.action.kind);
    assert.equal(kinds[0], 'create-network', `the network comes first: ${kinds.join(', ')}`);
    assert.deepEqual((await projectResources(project)).networks, [`${project}_default`]);
    const network = await docker.getNetwork(`${project}_default`).inspect();
    assert.equal(network.Labels?.['io.hostwright.project'], project);
    assert.equal(network.Labels?.['io.hostwright.network'], 'default');
    const rows = await h.journal.intentsWithResults(100);
    assert.ok(rows.some((row) => row.intent.action.kind === 'create-network' && row.result?.outcome === 'done'), 'the create is journaled with its result');
    await waitFor('web to turn healthy', async () => (await containerNamed(`${project}-web-1`)).State.Health?.Status === 'healthy', 60_000);
    const web = await containerNamed(`${project}-web-1`);
    assert.deepEqual(Object.keys(web.NetworkSettings.Networks), [`${project}_default`]);
    const aliases = web.NetworkSettings.Networks[`${project}_default`]?.Aliases ?? [];
    assert.ok(aliases.includes('web') && aliases.includes('web-1'), `aliases ${aliases.join(', ')}`);
    const again = await h.reconciler.runCycle({ explicit: true });
    assert.deepEqual(again.results, [], 'converged: nothing more to do');
  });

  it('a second project with a service also named api is not reachable from the first', async () => {
    await apply(desired(other, { api: server('theirs') }));
    const web = await containerNamed(`${project}-web-1`);
    assert.equal((await inside(web.Id, 'timeout 3 wget -q -O- http://api:8080/')).output, 'ours');
    const theirs = await containerNamed(`${other}-api-1`);
    const address = theirs.NetworkSettings.Networks[`${other}_default`]?.IPAddress;
    assert.ok(address, 'the other project\'s api has an address on its own network');
    const reach = await inside(web.Id, `timeout 3 wget -q -O- http://${address}:8080/`);
    assert.notEqual(reach.code, 0, `reached the other project's api: ${reach.output}`);
    const theirsFromThem = await inside(theirs.Id, 'timeout 3 wget -q -O- http://api:8080/');
    assert.equal(theirsFromThem.output, 'theirs', 'each project resolves its own api');
  });

  it('a container disconnected from its network by hand is reported modified (networks) and replaced on apply', async () => {
    const before = await containerNamed(`${project}-api-1`);
    await docker.getNetwork(`${project}_default`).disconnect({ Container: before.Id, Force: true });
    h.reconciler.observer.invalidate(before.Id);
    const plan = await h.reconciler.runCycle({ dryRun: true, explicit: true });
    const entry = plan.diff.projects.flatMap((d) => d.entries).find((e) => e.kind === 'modified');
    assert.ok(entry && 'container' in entry && entry.container.modifiedFields.includes('networks'), JSON.stringify(entry && 'container' in entry ? entry.container.modifiedFields : entry));
    await h.reconciler.runCycle({ explicit: true });
    const after = await containerNamed(`${project}-api-1`);
    assert.notEqual(after.Id, before.Id);
    assert.deepEqual(Object.keys(after.NetworkSettings.Networks), [`${project}_default`]);
  });

  it('a network of that name Hostwright did not make blocks the project in plan, and is never touched', async () => {
    const squatted = uniqueName('netc');
    projects.push(squatted);
    const foreign = await docker.createNetwork({ Name: `${squatted}_default`, CheckDuplicate: true });
    try {
      await h.journal.putDesired(desired(squatted, { api: server('x') }));
      const report = await h.reconciler.runCycle({ explicit: true });
      assert.deepEqual(report.results, []);
      assert.match(report.blocks.map((b) => `${b.gate}: ${b.message}`).join('\n'), /name-conflict: network .*_default is taken by a network Hostwright did not create/);
      assert.equal((await foreign.inspect()).Id, foreign.id, 'the foreign network is still there');
    } finally {
      await foreign.remove().catch(() => undefined);
    }
  });

  it('declared networks with aliases and a fixed address, an external network used and never removed, network_mode none', async () => {
    const declared = uniqueName('netd');
    projects.push(declared);
    const externalName = uniqueName('ext');
    const external = await docker.createNetwork({ Name: externalName, CheckDuplicate: true });
    try {
      await apply(
        desired(
          declared,
          {
            api: service({ command: QUICK_STOP_COMMAND, stop_timeout: '1s', networks: { back: { aliases: ['db-proxy'], ipv4_address: '10.231.7.10' }, outside: null } }),
            sealed: service({ command: QUICK_STOP_COMMAND, stop_timeout: '1s', network_mode: 'none' }),
          },
          { networks: { back: { internal: true, ipam: { config: [{ subnet: '10.231.7.0/24' }] } }, outside: { external: true, name: externalName } } },
        ),
      );
      const api = await containerNamed(`${declared}-api-1`);
      assert.deepEqual(Object.keys(api.NetworkSettings.Networks).sort(), [`${declared}_back`, externalName].sort());
      assert.equal(api.NetworkSettings.Networks[`${declared}_back`]?.IPAddress, '10.231.7.10');
      assert.ok(api.NetworkSettings.Networks[`${declared}_back`]?.Aliases?.includes('db-proxy'));
      assert.equal((await docker.getNetwork(`${declared}_back`).inspect()).Internal, true);
      const sealed = await containerNamed(`${declared}-sealed-1`);
      assert.equal(sealed.HostConfig.NetworkMode, 'none');
      // The project goes: its own network with it, the external one stays.
      await apply(desired(declared, {}, { allowEmpty: true, revision: 2 }));
      assert.deepEqual((await projectResources(declared)).networks, []);
      assert.equal((await external.inspect()).Name, externalName);
    } finally {
      await removeProject(declared);
      await external.remove().catch(() => undefined);
    }
  });

  it('an IPv6 network (enable_ipv6 with a unique local /64, as Mailcow declares it): the engine gives each container an address in it, reached over IPv6; a changed subnet blocks the project in plan', async () => {
    const dual = uniqueName('net6');
    projects.push(dual);
    // A random unique local /64 per run: the engine refuses two networks with overlapping subnets.
    const group = () => Math.floor(Math.random() * 0xffff).toString(16);
    const subnet = `fd00:${group()}:${group()}::/64`;
    const prefix = subnet.replace('::/64', '::');
    const ipv6 = (range: string) => ({ back: { enable_ipv6: true, ipam: { config: [{ subnet: range, gateway: `${range.replace('::/64', '::')}1` }] } } });
    const services = { api: server('ours'), probe: service({ command: QUICK_STOP_COMMAND, stop_timeout: '1s', networks: ['back'] }) };
    await apply(desired(dual, { ...services, api: { ...services.api, networks: ['back'] } }, { networks: ipv6(subnet) }));
    const network = await docker.getNetwork(`${dual}_back`).inspect();
    assert.equal(network.EnableIPv6, true);
    assert.ok((network.IPAM?.Config ?? []).some((range: { Subnet?: string }) => range.Subnet === subnet), JSON.stringify(network.IPAM));
    const api = await containerNamed(`${dual}-api-1`);
    const address = api.NetworkSettings.Networks[`${dual}_back`]?.GlobalIPv6Address ?? '';
    assert.ok(address.startsWith(prefix), `api's IPv6 address ${address} is in ${subnet}`);
    const probe = await containerNamed(`${dual}-probe-1`);
    const fetched = await waitFor('api answers over IPv6', async () => {
      const result = await inside(probe.Id, `timeout 3 wget -q -O- http://[${address}]:8080/`);
      return result.code === 0 ? result.output : undefined;
    }, 15_000);
    assert.equal(fetched, 'ours');
    // Docker cannot change a network in place: another subnet is a changed network, which plan shows.
    await h.journal.putDesired(desired(dual, { ...services, api: { ...services.api, networks: ['back'] } }, { networks: ipv6(`fd00:${group()}:${group()}::/64`), revision: 2 }));
    const changed = await h.reconciler.runCycle({ dryRun: true });
    assert.ok(changed.blocks.some((block) => block.project === dual && block.gate === 'resource-changed'), JSON.stringify(changed.blocks));
  });

  it('a named volume keeps its data across a replacement; unused it is kept and reported, and removed only with prune', async () => {
    const stateful = uniqueName('vol');
    projects.push(stateful);
    const db = (version: string) => service({ command: QUICK_STOP_COMMAND, stop_timeout: '1s', volumes: ['data:/data'], env: { VERSION: version } });
    const volumes = { data: { labels: { tier: 'db' } } };
    await apply(desired(stateful, { db: db('1') }, { volumes }));
    const volumeName = `${stateful}_data`;
    assert.deepEqual((await projectResources(stateful)).volumes, [volumeName]);
    const first = await containerNamed(`${stateful}-db-1`);
    assert.equal((await inside(first.Id, 'echo kept > /data/file && cat /data/file')).output, 'kept');
    await apply(desired(stateful, { db: db('2') }, { volumes, revision: 2 }));
    const second = await containerNamed(`${stateful}-db-1`);
    assert.notEqual(second.Id, first.Id, 'replaced');
    assert.equal((await inside(second.Id, 'cat /data/file')).output, 'kept', 'the data survived the replacement');
    // No service uses it any more: kept, with its data, and said so in the plan.
    await apply(desired(stateful, { other: service({ command: QUICK_STOP_COMMAND, stop_timeout: '1s' }) }, { revision: 3 }));
    assert.deepEqual((await projectResources(stateful)).volumes, [volumeName]);
    const plan = await h.reconciler.runCycle({ dryRun: true, explicit: true });
    assert.deepEqual(plan.plan.unusedVolumes.map((v) => v.name), [volumeName]);
    // Pruning removes it.
    await apply(desired(stateful, { other: service({ command: QUICK_STOP_COMMAND, stop_timeout: '1s' }) }, { revision: 4, pruneVolumes: true }));
    assert.deepEqual((await projectResources(stateful)).volumes, []);
  });

  it('removing the project removes its network', async () => {
    await apply(desired(project, {}, { allowEmpty: true, revision: 2 }));
    assert.deepEqual(await projectContainers(project), []);
    assert.deepEqual((await projectResources(project)).networks, []);
  });
});
