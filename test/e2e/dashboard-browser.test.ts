import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { LABELS } from '../../shared/labels.js';
import { uniqueName } from '../lib/builders.js';
import { assertAccessible, launchBrowser, openPage, startDashboard, type DashboardProcess, type InPage } from '../lib/browser.js';
import { runCli, startCli, type CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import type { NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;
// A line a host could print to attack the page, then a numbered line every second.
const HOSTILE_LINE = '<script>window.__hwXss=2</script><img src=x onerror=window.__hwXss=2>';
const TALKER = `["sh", "-c", "trap 'exit 0' TERM; echo '${HOSTILE_LINE}'; (i=0; while true; do echo line-$i; i=$((i+1)); sleep 1; done) & wait"]`;
const CRASH = `["sh", "-c", "echo starting; echo 'FATAL: API_TOKEN is not set' >&2; exit 3"]`;
const HOSTILE_LABEL = '<script>window.__hwXss=1</script><img src=x onerror=window.__hwXss=1>';

/**
 * Where screenshots of each view go when HW_DASHBOARD_SCREENSHOTS is set (a directory, relative to
 * the repository; docs/dashboard for the ones docs/dashboard.md shows); none otherwise.
 */
const SCREENSHOTS = process.env.HW_DASHBOARD_SCREENSHOTS === undefined ? undefined : resolve(fileURLToPath(new URL('../../..', import.meta.url)), process.env.HW_DASHBOARD_SCREENSHOTS);

/** What the page must never run: a `<script>` without src, an element from markup in host data, or the flag such markup sets. */
async function assertNoInjection(page: Page, what: string): Promise<void> {
  const found = await page.evaluate(() => {
    const { document } = globalThis as unknown as InPage;
    const scripts = Array.from(document.querySelectorAll('script')).filter((s) => !(s.getAttribute('src') ?? '').startsWith('/assets/'));
    const images = Array.from(document.querySelectorAll('img')).filter((i) => i.getAttribute('src') === 'x');
    return { scripts: scripts.length, images: images.length, flag: (globalThis as unknown as { __hwXss?: unknown }).__hwXss ?? null };
  });
  assert.deepEqual(found, { scripts: 0, images: 0, flag: null }, `${what}: markup from a host became elements, or ran`);
}

// Three real agents (CLI child processes, `fleet init` credentials) on one real nats-server and the
// shared Docker engine; `hostwright dashboard` as a child process, once as the deployer with
// actions allowed and once as a reader; Debian's chromium drives the page. The scenarios run in
// order on one fleet: h1 runs `talk` and `drift` (drift reported, not repaired), h2 `talk` and the
// crash-looping `crash`, every host `roll` for the rollouts; h3 stops at the end.
describe('dashboard in chromium: live fleet, host, project, rollout and events views over real NATS, agents and Docker', { timeout: 240_000 }, () => {
  const runId = uniqueName('hwd');
  const [h1, h2, h3] = ['d1', 'd2', 'd3'].map((prefix) => uniqueName(prefix)) as [string, string, string];
  const hostIds = [h1, h2, h3];
  const [talk, drift, crash, roll] = ['talk', 'drift', 'crash', 'roll'].map((p) => uniqueName(p)) as [string, string, string, string];
  let dir: string;
  let nats: NatsServerHandle;
  let fleet: FleetHarness;
  let deployer: DashboardProcess;
  let reader: DashboardProcess;
  let browser: Browser;
  let page: Page & { errors: () => string[] };
  let rolloutId = '';

  const creds = (file: string) => ['--nats', nats.url, '--creds', join(dir, file)];
  const cli = async (args: readonly string[], expectCode: number): Promise<CliResult> => {
    const result = await runCli([...args, ...creds('coordinator.nk')], { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${fleet.agentTails()}`);
    return result;
  };
  const fleetFile = async (project: string, body: string): Promise<string> => {
    const file = join(dir, `${project}.yaml`);
    await writeFile(file, `project: ${project}\nservices:\n${body}`);
    return file;
  };
  const rollFile = (version: string, health: 'true' | 'false') =>
    fleetFile(roll, `  app:\n    image: hw/busybox:test\n    command: ${QUICK_STOP}\n    env: { VERSION: "${version}" }\n    stop_timeout: 1s\n    healthcheck: { test: ["CMD", "${health}"], interval: 500ms, retries: 1 }\n    placement: { hosts: [${hostIds.join(', ')}] }\n`);
  const driftFile = (policy: 'report' | 'repair') => fleetFile(drift, `  app:\n    image: hw/busybox:test\n    command: ${QUICK_STOP}\n    stop_timeout: 1s\n    drift: ${policy}\n    placement: { hosts: [${h1}] }\n`);
  /** Moves the page to a route as a click on a link would (same document, the live stream kept). */
  const route = async (hash: string): Promise<void> => {
    await page.evaluate((hash) => ((globalThis as unknown as { location: { hash: string } }).location.hash = hash), hash);
  };
  const cell = (hostId: string, project: string) => `[data-testid=host-row][data-host="${hostId}"] [data-testid=cell][data-project="${project}"]`;
  const shoot = async (name: string): Promise<void> => {
    if (SCREENSHOTS === undefined) return;
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
  };
  const failureContext = () => `page errors: ${JSON.stringify(page.errors())}\ndashboard: ${deployer.process.output().split('\n').slice(-15).join('\n')}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-dashboard-'));
    const started = await FleetHarness.withFleetAuth(dir, runId, hostIds, [{ name: 'ro', role: 'reader' }]);
    ({ nats, fleet } = started);
    const { hostArgs } = started;
    await fleet.startAgents([
      { hostId: h1, labels: { role: 'web', note: HOSTILE_LABEL }, args: hostArgs(h1) },
      { hostId: h2, labels: { role: 'web' }, args: hostArgs(h2) },
      { hostId: h3, labels: { role: 'db' }, args: hostArgs(h3) },
    ]);
    await cli(['apply', '-f', await fleetFile(talk, `  app:\n    image: hw/busybox:test\n    command: ${TALKER}\n    stop_timeout: 1s\n    placement: { hosts: [${h1}, ${h2}] }\n`), '--wait', '--timeout', '60s'], 0);
    await cli(['apply', '-f', await driftFile('report'), '--wait', '--timeout', '60s'], 0);
    await cli(['apply', '-f', await rollFile('1', 'true'), '--wait', '--timeout', '60s'], 0);
    // Crash-loops from the start: apply --wait says it failed.
    await cli(['apply', '-f', await fleetFile(crash, `  api:\n    image: hw/busybox:test\n    command: ${CRASH}\n    placement: { hosts: [${h2}] }\n`), '--wait', '--timeout', '30s'], 1);
    deployer = await startDashboard([...creds('coordinator.nk'), '--stale-after', '4s', '--allow-actions', '--signing-key', join(dir, 'coordinator-signing.nk')]);
    // --allow-actions asked for, but a reader's credential: the role, read from the fleet's auth manifest, withholds them.
    reader = await startDashboard([...creds(join('users', 'ro.nk')), '--fleet-auth', dir, '--allow-actions']);
    browser = await launchBrowser();
    page = await openPage(browser, deployer.url);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await deployer?.stop();
    await reader?.stop();
    await fleet?.cleanup();
    await nats?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the fleet view lists every host with its cells and counts, live; a hostile host label is text; axe finds nothing serious', async () => {
    await page.waitForSelector('[data-testid=connection][data-state=live]', { timeout: 15_000 });
    for (const hostId of hostIds) await page.waitForSelector(`[data-testid=host-row][data-host="${hostId}"]`, { timeout: 15_000 });
    assert.match((await page.textContent('[data-testid=row-count]')) ?? '', /^\s*3 of 3 hosts?\s*$/);
    assert.match((await page.textContent('[data-testid=counts] [data-count=hosts]')) ?? '', /\b3\b/, 'the counts bar says 3 hosts');
    // The hostile label is shown as the text it is.
    assert.ok(((await page.textContent(`[data-testid=host-row][data-host="${h1}"]`)) ?? '').includes(`note=${HOSTILE_LABEL}`), `${h1}'s row shows its label as text`);
    await page.waitForSelector(`${cell(h2, crash)}[data-state=crash-loop]`, { timeout: 20_000 });
    for (const hostId of hostIds) await page.waitForSelector(`${cell(hostId, roll)}[data-state=converged]`, { timeout: 20_000 });
    assert.equal(await page.locator(`[data-testid=host-row][data-host="${h1}"] a[href="#/host/${h1}"]`).count(), 1, 'the row links to its host view');
    assert.equal(await page.locator(`[data-testid=host-row][data-host="${h1}"] svg[data-testid=sparkline]`).count(), 1, 'the row has its sparkline');
    await assertNoInjection(page, 'fleet view');
    await assertAccessible(page, 'the fleet view');
  });

  it('a container removed by hand turns its drift cell within 2 s, and back to converged after the repair', async () => {
    await page.waitForSelector(`${cell(h1, drift)}[data-state=converged]`, { timeout: 15_000 });
    const [container] = (await fleet.containersOf(h1)).filter((c) => c.Labels[LABELS.project] === drift);
    assert.ok(container, `no container of ${drift} on ${h1}`);
    const removedAt = Date.now();
    await docker.getContainer(container.Id).remove({ force: true });
    await page.waitForSelector(`${cell(h1, drift)}[data-state=drift]`, { timeout: 15_000 });
    const tookMs = Date.now() - removedAt;
    process.stderr.write(`dashboard: drift cell ${tookMs} ms after docker rm\n`);
    assert.ok(tookMs <= 2_000, `the drift cell turned after ${tookMs} ms (want within 2 s)\n${failureContext()}`);
    await shoot('fleet');
    // The repair: a revision whose policy repairs drift (an explicit apply converges).
    await cli(['apply', '-f', await driftFile('repair'), '--wait', '--timeout', '60s'], 0);
    await page.waitForSelector(`${cell(h1, drift)}[data-state=converged]`, { timeout: 15_000 });
  });

  it('the host view shows a crash loop\'s exit code and last lines, its instances, last plan and events', async () => {
    await route(`#/host/${h2}`);
    await page.waitForSelector(`[data-testid=host-view][data-host="${h2}"]`, { timeout: 10_000 });
    const crashing = page.locator('[data-testid=instance]').filter({ hasText: crash });
    await crashing.first().waitFor({ timeout: 15_000 });
    await crashing.locator('[data-testid=exit-code]').first().waitFor({ timeout: 15_000 });
    assert.match((await crashing.locator('[data-testid=exit-code]').first().textContent()) ?? '', /\b3\b/);
    assert.match((await crashing.locator('[data-testid=last-lines]').first().textContent()) ?? '', /FATAL: API_TOKEN is not set/);
    assert.ok((await page.locator('[data-testid=instance]').count()) >= 3, 'talk, roll and crash instances are listed');
    await page.locator('[data-testid=last-plan]').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=event]').first().waitFor({ timeout: 10_000 });
    await shoot('host');
    await assertAccessible(page, 'the host view');
  });

  it('logs of an instance stream live and filter; a hostile log line is text; the download is the lines as a file', async () => {
    await route(`#/host/${h1}`);
    await page.waitForSelector(`[data-testid=host-view][data-host="${h1}"]`, { timeout: 10_000 });
    const select = page.locator('select[data-testid=logs-instance]');
    const option = await select.locator('option').evaluateAll((options, talk) => options.map((o) => ({ value: o.getAttribute('value') ?? '', text: o.textContent ?? '' })).find((o) => o.text.includes(talk) || o.value.includes(talk)), talk);
    assert.ok(option, `no logs-instance option for ${talk}`);
    await select.selectOption(option.value);
    const lines = page.locator('[data-testid=logs] [data-testid=log-line]');
    await lines.filter({ hasText: /line-\d+/ }).first().waitFor({ timeout: 15_000 });
    const count = async () => lines.filter({ hasText: /line-\d+/ }).count();
    const first = await count();
    await waitFor('new log lines streaming in', async () => (await count()) > first, 10_000, 200);
    // The hostile line arrived as text, and made nothing.
    await lines.filter({ hasText: HOSTILE_LINE }).first().waitFor({ timeout: 10_000 });
    await assertNoInjection(page, 'logs panel');
    await shoot('logs');

    await page.fill('input[data-testid=logs-filter]', 'line-1');
    await waitFor(
      'only lines with line-1 shown',
      async () => {
        const texts = await lines.allTextContents();
        return texts.length > 0 && texts.every((text) => text.includes('line-1'));
      },
      10_000,
      200,
    );
    const href = await page.getAttribute('a[data-testid=logs-download]', 'href');
    assert.ok(href, 'the download link has an href');
    const download = await fetch(new URL(href, page.url()));
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-disposition') ?? '', /attachment/);
    assert.match(await download.text(), /line-\d+/);
    await page.fill('input[data-testid=logs-filter]', '');
    await assertAccessible(page, 'the host view with logs');
  });

  it('the project view shows each host\'s revision, who applied it and the typed diff', async () => {
    await route(`#/project/${drift}`);
    await page.waitForSelector('[data-testid=project-view]', { timeout: 10_000 });
    await page.locator('[data-testid=project-view]').filter({ hasText: h1 }).waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=diff]').first().waitFor({ timeout: 10_000 });
    assert.match((await page.textContent('[data-testid=diff]')) ?? '', /drift/, 'the diff of the last change names the drift policy');
    await shoot('project');
    await assertAccessible(page, 'the project view');
  });

  it('a rollout\'s waves advance on screen; a bad version\'s pause shows the failing gate', async () => {
    await route('#/rollouts');
    await rollFile('2', 'true');
    const child = startCli(['rollout', '-f', join(dir, `${roll}.yaml`), '--canary', '1', '--max-parallel', '2', '--min-healthy', '2s', '--healthy-deadline', '60s', ...creds('coordinator.nk')], { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const id = await waitFor('the rollout\'s id line', async () => /^rollout (\S+): \d+ wave\(s\)/m.exec(child.output())?.[1], 30_000, 100);
    await page.waitForSelector(`[data-testid=rollout-row][data-rollout="${id}"]`, { timeout: 10_000 });
    await route(`#/rollout/${id}`);
    await page.waitForSelector('[data-testid=rollout-view] [data-testid=wave]', { timeout: 10_000 });
    // Every state each host shows, in order, recorded in the page as it changes.
    await page.evaluate(() => {
      type El = { getAttribute(name: string): string | null; querySelectorAll(selector: string): ArrayLike<El> };
      const g = globalThis as unknown as { document: El; __seen: string[]; MutationObserver: new (cb: () => void) => { observe(t: unknown, o: unknown): void } };
      g.__seen = [];
      const record = () => {
        Array.from(g.document.querySelectorAll('[data-testid=wave]')).forEach((wave, index) => {
          for (const host of Array.from(wave.querySelectorAll('[data-testid=rollout-host]'))) {
            const entry = `${index}:${host.getAttribute('data-host')}:${host.getAttribute('data-state')}`;
            if (!g.__seen.includes(entry)) g.__seen.push(entry);
          }
        });
      };
      record();
      new g.MutationObserver(record).observe(g.document, { subtree: true, attributes: true, childList: true });
    });
    for (const hostId of hostIds) await page.waitForSelector(`[data-testid=rollout-host][data-host="${hostId}"][data-state=healthy]`, { timeout: 60_000 });
    assert.equal(await exited, 0, child.output());
    const seen = await page.evaluate(() => (globalThis as unknown as { __seen: string[] }).__seen);
    const at = (entry: string) => seen.findIndex((s) => s.endsWith(entry));
    assert.ok(at(`${h1}:healthy`) >= 0, `the canary showed healthy: ${JSON.stringify(seen)}`);
    for (const later of [h2, h3]) {
      assert.ok(at(`${later}:pending`) >= 0 && at(`${later}:pending`) < at(`${h1}:healthy`), `${later} showed pending while the canary went: ${JSON.stringify(seen)}`);
      assert.ok(at(`${later}:healthy`) > at(`${h1}:healthy`), `${later} turned healthy after the canary, on screen: ${JSON.stringify(seen)}`);
    }
    await page.locator('svg[data-testid=timeline]').first().waitFor({ timeout: 5_000 });
    await page.locator('[data-testid=converge-times]').first().waitFor({ timeout: 5_000 });

    // The bad version: the canary turns unhealthy, the rollout pauses, and the page says why.
    await rollFile('3-bad', 'false');
    const bad = await cli(['rollout', '-f', join(dir, `${roll}.yaml`), '--canary', '1', '--max-parallel', '2', '--min-healthy', '1s', '--healthy-deadline', '20s'], 1);
    rolloutId = /^rollout (\S+): \d+ wave\(s\)/m.exec(bad.stdout)?.[1] ?? '';
    assert.ok(rolloutId, bad.stdout);
    await route(`#/rollout/${rolloutId}`);
    const canary = page.locator(`[data-testid=rollout-host][data-host="${h1}"]`);
    await page.waitForSelector(`[data-testid=rollout-host][data-host="${h1}"][data-state=failed]`, { timeout: 20_000 });
    await waitFor('the failing gate on screen', async () => /unhealthy/i.test((await page.locator('[data-testid=rollout-view]').textContent()) ?? ''), 10_000, 200);
    const gateText = ((await canary.locator('[data-testid=gate]').allTextContents()).join(' ') || (await page.locator('[data-testid=gate]').allTextContents()).join(' ')).trim();
    assert.match(gateText, /unhealthy/i, `the gate says the canary is unhealthy: ${gateText}\n${failureContext()}`);
    for (const action of ['resume', 'abort']) assert.equal(await page.locator(`button[data-testid=action-${action}]`).count(), 1, `the deployer with actions allowed sees ${action}`);
    await shoot('rollout');
    await assertAccessible(page, 'the rollout view');
    await route('#/rollouts');
    await page.waitForSelector(`[data-testid=rollout-row][data-rollout="${rolloutId}"]`, { timeout: 10_000 });
    await shoot('rollouts');
    await assertAccessible(page, 'the rollouts list');
  });

  it('with a reader credential the action buttons are absent and the actions endpoint refuses (403)', async () => {
    const readerPage = await openPage(browser, `${reader.url}#/rollout/${rolloutId}`);
    try {
      await readerPage.waitForSelector('[data-testid=rollout-view] [data-testid=rollout-host]', { timeout: 15_000 });
      const session = (await (await fetch(new URL('/api/session', reader.url))).json()) as { role: string; actionsAllowed: boolean };
      assert.deepEqual([session.role, session.actionsAllowed], ['reader', false]);
      assert.equal(await readerPage.locator('button[data-testid^=action-]').count(), 0, 'no action button for a reader');
      for (const action of ['pause', 'resume', 'abort']) {
        const refused = await fetch(new URL(`/api/rollouts/${rolloutId}/${action}`, reader.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        assert.equal(refused.status, 403, `POST ${action} as a reader`);
      }
      const state = JSON.parse((await cli(['rollout', 'status', rolloutId, '--json'], 0)).stdout) as { status: string };
      assert.equal(state.status, 'paused', 'the reader changed nothing');
    } finally {
      await readerPage.context().close();
    }
  });

  it('the events view lists events and a correlation id opens every event of its cycle', async () => {
    await route('#/events');
    await page.waitForSelector('[data-testid=events-view] [data-testid=event]', { timeout: 10_000 });
    await shoot('events');
    await assertAccessible(page, 'the events view');
    const link = page.locator('[data-testid=events-view] [data-testid=event] a[href^="#/events?correlation="]').first();
    const correlation = ((await link.textContent()) ?? '').trim();
    assert.ok(correlation, 'an event links its correlation id');
    await link.click();
    await waitFor(
      'only the events of that correlation id',
      async () => {
        const rows = await page.locator('[data-testid=events-view] [data-testid=event]').allTextContents();
        return rows.length > 0 && rows.every((row) => row.includes(correlation));
      },
      10_000,
      200,
    );
  });

  it('the stale marker appears when an agent stops, and the connection banner stays live', async () => {
    await route('#/');
    await page.waitForSelector(`[data-testid=host-row][data-host="${h3}"]`, { timeout: 10_000 });
    assert.equal(await page.locator(`[data-testid=host-row][data-host="${h3}"] [data-testid=stale]`).count(), 0, `${h3} is not stale yet`);
    await fleet.stop(h3);
    const stale = page.locator(`[data-testid=host-row][data-host="${h3}"] [data-testid=stale]`);
    // The dashboard runs with --stale-after 4s; the agents heartbeat every second.
    await stale.waitFor({ timeout: 15_000 });
    assert.match((await stale.textContent()) ?? '', /STALE/);
    assert.equal(await page.getAttribute('[data-testid=connection]', 'data-state'), 'live');
    // Uncaught errors and CSP refusals (a 404 of a favicon is neither).
    assert.deepEqual(page.errors().filter((e) => e.startsWith('pageerror') || /Content Security Policy/i.test(e)), [], 'no error in the page');
  });
});
