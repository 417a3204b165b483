import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QUICK_STOP_COMMAND, TEST_IMAGE, desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeContainerNamed, removeProject } from '../lib/docker-harness.js';
import { freePort } from '../lib/nats-server.js';

describe('port gates (real Docker)', () => {
  const first = uniqueName('ports-a');
  const second = uniqueName('ports-b');
  const foreign = uniqueName('ports-foreign');
  let h: Awaited<ReturnType<typeof openHarness>>;
  after(async () => {
    await removeContainerNamed(foreign);
    await removeProject(first);
    await removeProject(second);
    await h?.close();
  });

  it('a host port held by a container Hostwright does not own blocks the plan before Docker refuses the start', async () => {
    h = await openHarness('h1');
    const port = await freePort();
    const holder = await docker.createContainer({ name: foreign, Image: TEST_IMAGE, Cmd: QUICK_STOP_COMMAND, HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] } }, ExposedPorts: { '8080/tcp': {} } });
    await holder.start();
    await h.journal.putDesired(desired(first, { web: service({ ports: [`127.0.0.1:${port}:8080`] }) }));
    const report = await h.reconciler.runCycle();
    assert.deepEqual(
      report.blocks.map((block) => `${block.gate}: ${block.message}`),
      [`port-conflict: ${first}/web binds host port "127.0.0.1:${port}:8080", which container ${foreign} (not owned by Hostwright) already holds (0.0.0.0:${port}/tcp); stop it or choose another port`],
    );
    assert.deepEqual(report.results, [], 'nothing ran');
    assert.deepEqual(await projectContainers(first), []);

    // Once the port is free the same desired state applies.
    await removeContainerNamed(foreign);
    const applied = await h.reconciler.runCycle();
    assert.deepEqual(applied.blocks, []);
    assert.equal(applied.failed, false, applied.results.map((r) => r.message).join('; '));
  });

  it('two projects on one host binding one port: the second is blocked and the first keeps running', async () => {
    const [running] = await projectContainers(first);
    const port = running?.Ports.find((p) => p.PublicPort)?.PublicPort;
    assert.ok(port, 'the first project publishes its port');
    await h.journal.putDesired(desired(second, { api: service({ ports: [`${port}:8080`] }) }));
    const report = await h.reconciler.runCycle();
    assert.deepEqual(
      report.blocks.map((block) => `${block.project} ${block.gate}`),
      [`${second} port-conflict`],
    );
    assert.match(report.blocks[0]?.message ?? '', new RegExp(`${first}/web .* and ${second}/api .* bind the same host port ${port}/tcp`));
    assert.deepEqual(await projectContainers(second), []);
    assert.equal((await projectContainers(first))[0]?.State, 'running');
  });
});
