import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AgentLoop } from '../../agent/agent-loop.js';
import type { CycleReport } from '../../agent/cycle.js';
import { wakeOnRuntimeEvents } from '../../agent/runtime-triggers.js';
import { desired, QUICK_STOP_COMMAND, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';
import { waitFor } from '../lib/wait.js';

// Runtime events wake the loop, except the echoes of the agent's own actions: the cycle that
// acted observed again when it was done, so its own create/start/stop/remove need no new cycle.
describe('runtime events wake the loop (real Docker)', () => {
  const projects: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const stop of stops) await stop();
    await Promise.all(projects.map(removeProject));
  });

  it("the agent's own changes wake no extra cycle; a container killed behind its back does", async () => {
    const project = uniqueName('events');
    projects.push(project);
    const h = await openHarness('h1');
    const abort = new AbortController();
    const cycles: CycleReport[] = [];
    const loop = new AgentLoop(h.reconciler, h.journal, { resyncMs: 3_600_000, logger: pino({ level: process.env.HW_TEST_LOG ?? 'silent' }), onCycle: (report) => { if (!(report instanceof Error)) cycles.push(report); } });
    stops.push(async () => {
      abort.abort();
      await loop.stop();
      await h.close();
    });
    wakeOnRuntimeEvents(h.runtime, h.reconciler, loop, pino({ level: 'silent' }), abort.signal);
    // Let the event stream connect before anything happens.
    await new Promise((resolve) => setTimeout(resolve, 500));

    await h.journal.putDesired(desired(project, { web: service({ command: QUICK_STOP_COMMAND, replicas: 2, stop_timeout: '1s' }) }));
    loop.trigger('desired');
    await waitFor('the first cycle', async () => cycles.length >= 1);
    assert.deepEqual(cycles[0]?.results.map((r) => r.action.kind).sort(), ['create', 'create', 'start', 'start']);
    // Its own 4 create/start events settle after 250 ms; give them 8 times that to (wrongly) wake the loop.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(cycles.length, 1, `own events woke ${cycles.length - 1} more cycle(s)`);

    // A change of the spec: stop, remove, create, start per instance; still one cycle.
    await h.journal.putDesired(desired(project, { web: service({ command: QUICK_STOP_COMMAND, replicas: 2, stop_timeout: '1s', env: { V: '2' } }) }, { revision: 2 }));
    loop.trigger('desired');
    await waitFor('the second cycle', async () => cycles.length >= 2);
    assert.deepEqual(cycles[1]?.results.map((r) => r.action.kind).sort(), ['create', 'create', 'remove', 'remove', 'start', 'start', 'stop', 'stop']);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(cycles.length, 2, `own events woke ${cycles.length - 2} more cycle(s)`);

    // Someone else kills an instance: the die event wakes the loop, which starts it again.
    const [victim] = await projectContainers(project);
    assert.ok(victim);
    await docker.getContainer(victim.Id).kill();
    await waitFor('a cycle woken by the kill restarts the container', async () => cycles.slice(2).some((c) => c.results.some((r) => r.action.kind === 'start' && r.outcome === 'done')), 20_000);
    assert.equal((await docker.getContainer(victim.Id).inspect()).State.Running, true);
  });
});
