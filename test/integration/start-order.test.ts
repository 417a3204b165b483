import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';

const healthcheck = { test: ['CMD', 'true'], interval: '500ms', retries: 3, start_period: '1s' };

/** A one-shot that works for about a second, then exits with `code`. */
const migrate = (code: number) => service({ restart: 'no', command: ['sh', '-c', `sleep 1; exit ${code}`] });

/** The engine's container events since `since` (seconds) about these containers, in order. */
async function engineEvents(since: number, ids: readonly string[]): Promise<{ id: string; action: string; timeNano: number }[]> {
  const stream = await docker.getEvents({ since, until: Math.ceil(Date.now() / 1000) + 1, filters: { type: ['container'], container: [...ids] } });
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { id: string; Action: string; timeNano: number })
    .map((event) => ({ id: event.id, action: event.Action, timeNano: event.timeNano }));
}

describe('start order: depends_on (real Docker)', () => {
  const project = uniqueName('order');
  const failing = uniqueName('order-fail');
  const limited = uniqueName('order-retry');
  let h: Awaited<ReturnType<typeof openHarness>>;
  after(async () => {
    await removeProject(project);
    await removeProject(failing);
    await removeProject(limited);
    await h?.close();
  });

  it('runs migrate to completion, then api, and starts web only once api is healthy; the next plan is empty', async () => {
    h = await openHarness('h1');
    const startedAt = Math.floor(Date.now() / 1000) - 1;
    await h.journal.putDesired(
      desired(project, {
        web: service({ depends_on: { api: { condition: 'service_healthy' } } }),
        api: service({ healthcheck, depends_on: { migrate: { condition: 'service_completed_successfully' } } }),
        migrate: migrate(0),
      }),
    );
    const report = await h.reconciler.runCycle();
    assert.equal(report.failed, false, report.results.map((r) => r.message).join('; '));
    assert.deepEqual(
      report.plan.actions.filter((a) => a.kind === 'await-dependency').map((a) => `${a.chain} waits for ${a.kind === 'await-dependency' ? a.dependency : ''}`),
      [`${project}/api/1 waits for migrate`, `${project}/web/1 waits for api`],
    );

    const inspect = async (service: string) => docker.getContainer(`${project}-${service}-1`).inspect();
    const [migrated, api, web] = [await inspect('migrate'), await inspect('api'), await inspect('web')];
    assert.equal(migrated.State.Status, 'exited');
    assert.equal(migrated.State.ExitCode, 0);
    assert.ok(Date.parse(migrated.State.FinishedAt) <= Date.parse(api.State.StartedAt), `api started ${api.State.StartedAt}, before migrate finished ${migrated.State.FinishedAt}`);
    assert.ok(Date.parse(api.Created) >= Date.parse(migrated.State.FinishedAt), 'api was created only after migrate completed');
    // The engine's own event order (its health log keeps only the last five checks).
    const events = await engineEvents(startedAt, [api.Id, web.Id]);
    const healthyAt = events.find((event) => event.id === api.Id && event.action === 'health_status: healthy')?.timeNano;
    const webCreatedAt = events.find((event) => event.id === web.Id && event.action === 'create')?.timeNano;
    const webStartedAt = events.find((event) => event.id === web.Id && event.action === 'start')?.timeNano;
    assert.ok(healthyAt !== undefined && webCreatedAt !== undefined && webStartedAt !== undefined, JSON.stringify(events));
    assert.ok(webCreatedAt > healthyAt, 'web was created only after api turned healthy');
    assert.ok(webStartedAt > healthyAt, 'web started only after api turned healthy');

    // The one-shot that completed is not started again, and nothing else is to do.
    const again = await h.reconciler.runCycle({ dryRun: true });
    assert.deepEqual(again.plan.actions.map((a) => `${a.kind} ${'name' in a ? a.name : ''}`), []);
  });

  it('a dependency that must complete but fails stops the cycle before its dependent is created', async () => {
    await h.journal.putDesired(desired(failing, { api: service({ depends_on: { migrate: { condition: 'service_completed_successfully' } } }), migrate: migrate(3) }));
    const report = await h.reconciler.runCycle();
    assert.equal(report.failed, true);
    const failure = report.results.find((r) => r.outcome === 'failed');
    assert.equal(failure?.action.kind, 'await-dependency');
    assert.match(failure?.message ?? '', new RegExp(`${failing}-migrate-1 exited with code 3 .*depends_on migrate: service_completed_successfully`));
    const names = (await projectContainers(failing)).map((c) => c.Names[0]);
    assert.deepEqual(names, [`/${failing}-migrate-1`], 'api was never created');
  });

  it('a failed one-shot is left exited and reported failed, cycle after cycle: on-failure:2 once the engine gave up (MaximumRetryCount 2), and restart "no"', async () => {
    const failingTask = (restart: 'no' | 'on-failure:2') => service({ restart, command: ['sh', '-c', 'exit 3'] });
    await h.journal.putDesired(desired(limited, { retried: failingTask('on-failure:2'), once: failingTask('no') }));
    await h.reconciler.runCycle();
    const inspect = async (service: string) => docker.getContainer(`${limited}-${service}-1`).inspect();
    assert.deepEqual((await inspect('retried')).HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
    // The engine's back-off starts at 100 ms and doubles: two retries are over well within 10 s.
    const deadline = Date.now() + 10_000;
    while ((await inspect('retried')).State.Status !== 'exited' || (await inspect('retried')).RestartCount < 2) {
      assert.ok(Date.now() < deadline, 'the engine retried twice and gave up');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const before = await Promise.all([inspect('retried'), inspect('once')]);
    assert.equal(before[1].State.Status, 'exited');
    for (let cycle = 0; cycle < 2; cycle += 1) {
      // The agent's engine events (die, start) drop its cached inspects; the harness has no event stream.
      h.reconciler.observer.invalidate();
      const report = await h.reconciler.runCycle();
      const ours = report.plan.actions.filter((a) => 'name' in a && a.name.startsWith(limited));
      assert.deepEqual(ours.map((a) => `${a.kind} ${'name' in a ? a.name : ''}`), [], `cycle ${cycle}: nothing is started again`);
    }
    const after = await Promise.all([inspect('retried'), inspect('once')]);
    assert.deepEqual(after.map((c) => [c.State.Status, c.State.ExitCode, c.State.StartedAt, c.RestartCount]), before.map((c) => [c.State.Status, c.State.ExitCode, c.State.StartedAt, c.RestartCount]));
    const status = await h.reconciler.observeStatus();
    const instances = status.projects.find((p) => p.project === limited)?.instances ?? [];
    assert.deepEqual(instances.map((i) => `${i.service} ${i.condition?.kind} ${i.condition?.exitCode}`).sort(), ['once failed 3', 'retried failed 3']);
    // A changed spec still replaces the failed one-shot.
    await h.journal.putDesired(desired(limited, { retried: service({ restart: 'on-failure:2', command: ['sh', '-c', 'exit 0'] }), once: failingTask('no') }, { revision: 2 }));
    const replaced = await h.reconciler.runCycle();
    assert.ok(replaced.plan.actions.some((a) => a.kind === 'create' && a.name === `${limited}-retried-1`), replaced.plan.actions.map((a) => a.kind).join(', '));
  });
});
