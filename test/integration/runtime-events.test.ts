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

  it("the agent's own changes wake no extra cycle; a container killed behind its back does", async (t) => {
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

    // The engine is shared with other tests and agents: an event of a container without Hostwright
    // labels may wake a cycle (it could free or take a name this host wants). Cycles are therefore
    // counted over a window in which no container but this project's had an event.
    const acting = () => cycles.filter((cycle) => cycle.results.length > 0);
    const cyclesInQuietWindow = async (): Promise<number> => {
      for (let attempt = 1; ; attempt += 1) {
        const before = cycles.length;
        const others = await otherContainerEvents(project, 2_000);
        if (others === 0 || attempt === 5) {
          if (others > 0) t.diagnostic(`no quiet 2 s window in 5 tries: ${others} event(s) of other containers in the last one`);
          return cycles.length - before;
        }
      }
    };

    await h.journal.putDesired(desired(project, { web: service({ command: QUICK_STOP_COMMAND, replicas: 2, stop_timeout: '1s' }) }));
    loop.trigger('desired');
    await waitFor('the first cycle', async () => acting().length >= 1);
    assert.deepEqual(acting()[0]?.results.map((r) => r.action.kind).sort(), ['create', 'create', 'create-network', 'start', 'start']);
    // Its own 4 create/start events settle after 250 ms; give them 8 times that to (wrongly) wake the loop.
    assert.equal(await cyclesInQuietWindow(), 0, 'own events woke more cycles');

    // A change of the spec: stop, remove, create, start per instance; still one cycle.
    await h.journal.putDesired(desired(project, { web: service({ command: QUICK_STOP_COMMAND, replicas: 2, stop_timeout: '1s', env: { V: '2' } }) }, { revision: 2 }));
    loop.trigger('desired');
    await waitFor('the second cycle', async () => acting().length >= 2);
    assert.deepEqual(acting()[1]?.results.map((r) => r.action.kind).sort(), ['create', 'create', 'remove', 'remove', 'start', 'start', 'stop', 'stop']);
    assert.equal(await cyclesInQuietWindow(), 0, 'own events woke more cycles');

    // Someone else kills an instance: the die event wakes the loop, which starts it again.
    const [victim] = await projectContainers(project);
    assert.ok(victim);
    await docker.getContainer(victim.Id).kill();
    const seen = cycles.length;
    await waitFor('a cycle woken by the kill restarts the container', async () => cycles.slice(seen).some((c) => c.results.some((r) => r.action.kind === 'start' && r.outcome === 'done')), 20_000);
    assert.equal((await docker.getContainer(victim.Id).inspect()).State.Running, true);
  });
});

/** Events of containers outside `project` on the engine during the next `ms` milliseconds. */
async function otherContainerEvents(project: string, ms: number): Promise<number> {
  const abort = new AbortController();
  const stream = (await docker.getEvents({ filters: { type: ['container'] }, abortSignal: abort.signal })) as NodeJS.ReadableStream;
  let others = 0;
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
      if (event.Actor?.Attributes?.['io.hostwright.project'] !== project) others += 1;
    }
  });
  stream.on('error', () => undefined);
  await new Promise((resolve) => setTimeout(resolve, ms));
  abort.abort();
  return others;
}
