import type { Browser, Page } from 'playwright-core';
import { cpuSeconds, launchBrowser, residentBytes, startDashboard, type DashboardProcess } from '../test/lib/browser.js';
import { startNatsServer, type NatsServerHandle } from '../test/lib/nats-server.js';
import { SimulatedHosts, convergedProject, ensureFleetBuckets } from '../test/lib/simulated-hosts.js';
import type { ProjectStatus } from '../shared/host-status.js';
import { median, percentile, round } from './stats.js';
import { progress, throwIfInterrupted } from './support.js';

export interface DashboardBenchOptions {
  /** Simulated hosts heartbeating (test/lib/simulated-hosts.ts). */
  readonly hosts: number;
  /** Seconds the dashboard's RSS is sampled (once a second) while the hosts heartbeat. */
  readonly seconds: number;
  /** NODE_OPTIONS of the dashboard process (a `--max-semi-space-size` there keeps it from adding its own flags, coordinator/cli/dashboard-memory.ts). */
  readonly nodeOptions?: string;
  /** The agents' `--heartbeat` (5 s by default); the period follows the fleet's size as an agent's does. */
  readonly heartbeatMs: number;
  /** First-view navigations, filters of each kind and status changes measured. */
  readonly runs: number;
}

export interface DashboardBenchResult {
  readonly benchmark: 'dashboard';
  readonly hosts: number;
  /** The period the hosts beat at: an agent's with `--heartbeat` configured_heartbeat_ms in a fleet this size (shared/heartbeat-period.ts). */
  readonly heartbeat_ms: number;
  readonly configured_heartbeat_ms: number;
  readonly node_options: string | null;
  /** Heartbeats the simulated hosts put per second over the RSS sampling (the target is hosts / heartbeat period). */
  readonly heartbeats_per_s: number;
  /** From navigation to the fleet grid showing rows and "N of M hosts", ms: with no host (the baseline), then with every host. */
  readonly first_view_empty_ms: number;
  readonly first_view_ms: { readonly median: number; readonly max: number; readonly runs: number };
  /** From a filter's input event to the row count updating, ms (median of runs, each kind). */
  readonly filter_ms: { readonly host_substring: number; readonly label: number; readonly state: number; readonly clear: number; readonly max: number };
  /** The dashboard process's RSS, MiB: started on an empty fleet (the baseline), then while every host heartbeats. */
  readonly rss_empty_mib: number;
  readonly rss_mib: { readonly median: number; readonly max: number; readonly samples: number };
  /** The dashboard process's CPU time over the RSS sampling, in percent of one core. */
  readonly cpu_percent: number;
  /** From a host's status put to its cell's data-state changing on the page, ms. */
  readonly status_to_page_ms: { readonly p50: number; readonly p95: number; readonly max: number; readonly samples: number };
}

const FIRST_VIEW_TIMEOUT_MS = 120_000;
const MIB = 1024 * 1024;

function hostIdOf(index: number): string {
  return `sim${String(index).padStart(5, '0')}`;
}

/** Most hosts converged; a few in each other state, so the counts and the state filter have something to find. */
function projectsOf(_hostId: string, index: number): ProjectStatus[] {
  const web = convergedProject('web', 3);
  const api = convergedProject('api', 7, 1);
  if (index % 50 === 7) return [{ ...web, converged: false, instances: web.instances.map((i, n) => (n === 0 ? { ...i, state: 'missing', drift: ['missing'] } : i)) }, api];
  if (index % 97 === 3) return [web, { ...api, converged: false, instances: api.instances.map((i) => ({ ...i, state: 'restarting', condition: { kind: 'crashloop', exitCode: 3, oomKilled: false, restartCount: 5, lastLines: ['FATAL: API_TOKEN is not set'], since: new Date().toISOString() } })) }];
  return [web, api];
}

async function rowCountText(page: Page): Promise<string> {
  return (await page.textContent('[data-testid=row-count]')) ?? '';
}

/** Opens a fresh page and times navigation until the grid shows rows and the count of every host. */
async function firstView(browser: Browser, url: string, hosts: number): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    const start = performance.now();
    await page.goto(url);
    // A view that never completes fails with what the page said (its banner and row count).
    const said = async () => page.evaluate(() => {
      const { document } = globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } };
      return `connection "${document.querySelector('[data-testid=connection]')?.textContent?.trim() ?? ''}", row count "${document.querySelector('[data-testid=row-count]')?.textContent ?? ''}"`;
    });
    await page.waitForFunction(
      (hosts) => {
        const { document } = globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } };
        const count = document.querySelector('[data-testid=row-count]')?.textContent ?? '';
        return new RegExp(`of ${hosts} hosts?`).test(count.replace(/,/g, '')) && (hosts === 0 || document.querySelector('[data-testid=host-row]') !== null);
      },
      hosts,
      { polling: 100, timeout: FIRST_VIEW_TIMEOUT_MS },
    ).catch(async (error: unknown) => {
      throw new Error(`the first view of ${hosts} hosts did not complete within ${FIRST_VIEW_TIMEOUT_MS / 1000} s: ${await said().catch(() => 'page unreadable')}`, { cause: error });
    });
    return performance.now() - start;
  } finally {
    await context.close();
  }
}

/**
 * Sets a filter control's value and dispatches its event in the page, then times until the row
 * count's text changes (a MutationObserver on it), ms.
 */
async function timeFilter(page: Page, selector: string, value: string): Promise<number> {
  const before = await rowCountText(page);
  const elapsed = await page.evaluate(
    ({ selector, value }) =>
      new Promise<number>((resolve, reject) => {
        type El = { value: string; textContent: string | null; dispatchEvent(e: unknown): boolean };
        const g = globalThis as unknown as { document: { querySelector(s: string): El | null }; MutationObserver: new (cb: () => void) => { observe(t: unknown, o: unknown): void; disconnect(): void }; Event: new (type: string, init: unknown) => unknown };
        const control = g.document.querySelector(selector);
        const count = g.document.querySelector('[data-testid=row-count]');
        if (!control || !count) return reject(new Error(`no ${selector} or row count`));
        const before = count.textContent;
        const timer = setTimeout(() => reject(new Error(`the row count stayed "${before}" after ${selector} = ${value}`)), 10_000);
        const observer = new g.MutationObserver(() => {
          if (count.textContent === before) return;
          observer.disconnect();
          clearTimeout(timer);
          resolve(performance.now() - start);
        });
        observer.observe(count, { childList: true, characterData: true, subtree: true });
        const start = performance.now();
        control.value = value;
        control.dispatchEvent(new g.Event(selector.startsWith('select') ? 'change' : 'input', { bubbles: true }));
      }),
    { selector, value },
  );
  if ((await rowCountText(page)) === before) throw new Error(`${selector} = ${value} did not change the row count`);
  return elapsed;
}

/** Times from the status put to the host's `web` cell showing `state` on the page (wall clocks of one machine). */
async function statusToPage(page: Page, hosts: SimulatedHosts, hostId: string, projects: ProjectStatus[], state: string): Promise<number> {
  const selector = `[data-testid=host-row][data-host="${hostId}"] [data-testid=cell][data-project=web]`;
  const seen = page.evaluate(
    ({ selector, state }) =>
      new Promise<number>((resolve, reject) => {
        const g = globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } };
        const deadline = Date.now() + 60_000;
        const look = (): void => {
          if (g.document.querySelector(selector)?.getAttribute('data-state') === state) return resolve(Date.now());
          if (Date.now() > deadline) return reject(new Error(`${selector} never showed ${state}`));
          (globalThis as unknown as { requestAnimationFrame(cb: () => void): void }).requestAnimationFrame(look);
        };
        look();
      }),
    { selector, state },
  );
  const putAt = Date.now();
  await hosts.setProjects(hostId, projects);
  return (await seen) - putAt;
}

/**
 * The dashboard with N simulated hosts heartbeating on a real nats-server, in Debian's chromium:
 * first view, filters, the dashboard process's RSS and a status change's latency to the page,
 * beside the same process on an empty fleet (first view and RSS) measured first in the same run.
 */
export async function runDashboardBench(options: DashboardBenchOptions): Promise<DashboardBenchResult> {
  let nats: NatsServerHandle | undefined;
  let dashboard: DashboardProcess | undefined;
  let hosts: SimulatedHosts | undefined;
  let browser: Browser | undefined;
  try {
    nats = await startNatsServer();
    // The buckets first (the dashboard reads them; a fleet's coordinator made them long before).
    await ensureFleetBuckets(nats.url);
    dashboard = await startDashboard(['--nats', nats.url], options.nodeOptions === undefined ? {} : { NODE_OPTIONS: options.nodeOptions });
    browser = await launchBrowser();
    progress(`dashboard: baseline on an empty fleet (${dashboard.url})`);
    const firstViewEmpty = await firstView(browser, dashboard.url, 0);
    const rssEmpty = await residentBytes(dashboard.pid);
    throwIfInterrupted();

    progress(`dashboard: ${options.hosts} simulated hosts registering`);
    const hostIds = Array.from({ length: options.hosts }, (_, i) => hostIdOf(i));
    hosts = await SimulatedHosts.start({ natsUrl: nats.url, hostIds, heartbeatMs: options.heartbeatMs, status: projectsOf });
    throwIfInterrupted();

    progress(`dashboard: first view, ${options.runs} runs`);
    const firstViews: number[] = [];
    for (let run = 0; run < options.runs; run += 1) firstViews.push(await firstView(browser, dashboard.url, options.hosts));
    throwIfInterrupted();

    progress('dashboard: filters');
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(dashboard.url);
    await page.waitForSelector('[data-testid=host-row]', { timeout: FIRST_VIEW_TIMEOUT_MS });
    const filters = { host_substring: [] as number[], label: [] as number[], state: [] as number[], clear: [] as number[] };
    for (let run = 0; run < options.runs; run += 1) {
      // The ten hosts whose ids share all but the last digit with one in the middle.
      filters.host_substring.push(await timeFilter(page, 'input[data-testid=filter-host]', hostIdOf((Math.floor(options.hosts / 2) + run * 10) % options.hosts).slice(0, -1)));
      filters.clear.push(await timeFilter(page, 'input[data-testid=filter-host]', ''));
      filters.label.push(await timeFilter(page, 'input[data-testid=filter-label]', `zone=z${run % 4}`));
      filters.clear.push(await timeFilter(page, 'input[data-testid=filter-label]', ''));
      filters.state.push(await timeFilter(page, 'select[data-testid=filter-state]', run % 2 === 0 ? 'drift' : 'crash-loop'));
      filters.clear.push(await timeFilter(page, 'select[data-testid=filter-state]', ''));
    }
    throwIfInterrupted();

    progress(`dashboard: status changes to the page, ${options.runs * 2} samples`);
    const probe = hostIdOf(Math.floor(options.hosts / 2));
    await timeFilter(page, 'input[data-testid=filter-host]', probe);
    await page.waitForSelector(`[data-testid=host-row][data-host="${probe}"] [data-testid=cell][data-project=web][data-state=converged]`, { timeout: 30_000 });
    const latencies: number[] = [];
    const healthy = hosts.projectsOf(probe);
    const [web, ...rest] = healthy;
    if (web === undefined) throw new Error(`simulated host ${probe} has no project`);
    const drifting: ProjectStatus[] = [{ ...web, converged: false, instances: web.instances.map((i, n) => (n === 0 ? { ...i, state: 'missing', drift: ['missing'] } : i)) }, ...rest];
    for (let run = 0; run < options.runs * 2; run += 1) {
      latencies.push(await statusToPage(page, hosts, probe, run % 2 === 0 ? drifting : healthy, run % 2 === 0 ? 'drift' : 'converged'));
      // Apart by more than the server's coalescing, so every sample starts from a quiet page.
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    await page.close();
    throwIfInterrupted();

    progress(`dashboard: RSS over ${options.seconds} s of heartbeats`);
    const samples: number[] = [];
    const beatsBefore = hosts.heartbeats;
    const cpuBefore = await cpuSeconds(dashboard.pid);
    const sampleStart = performance.now();
    for (let second = 0; second < options.seconds; second += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      samples.push(await residentBytes(dashboard.pid));
      throwIfInterrupted();
    }
    const sampledS = (performance.now() - sampleStart) / 1000;
    const beatsPerS = (hosts.heartbeats - beatsBefore) / sampledS;
    const cpuPercent = ((await cpuSeconds(dashboard.pid)) - cpuBefore) / sampledS * 100;

    const all = [...filters.host_substring, ...filters.label, ...filters.state, ...filters.clear];
    return {
      benchmark: 'dashboard',
      hosts: options.hosts,
      heartbeat_ms: hosts.periodMs,
      configured_heartbeat_ms: options.heartbeatMs,
      node_options: options.nodeOptions ?? null,
      heartbeats_per_s: round(beatsPerS, 0),
      first_view_empty_ms: round(firstViewEmpty, 0),
      first_view_ms: { median: round(median(firstViews), 0), max: round(Math.max(...firstViews), 0), runs: firstViews.length },
      filter_ms: { host_substring: round(median(filters.host_substring), 1), label: round(median(filters.label), 1), state: round(median(filters.state), 1), clear: round(median(filters.clear), 1), max: round(Math.max(...all), 1) },
      rss_empty_mib: round(rssEmpty / MIB, 1),
      rss_mib: { median: round(median(samples) / MIB, 1), max: round(Math.max(...samples) / MIB, 1), samples: samples.length },
      cpu_percent: round(cpuPercent, 1),
      status_to_page_ms: { p50: round(median(latencies), 0), p95: round(percentile(latencies, 95), 0), max: round(Math.max(...latencies), 0), samples: latencies.length },
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await hosts?.close().catch(() => undefined);
    await dashboard?.stop().catch(() => undefined);
    await nats?.cleanup().catch(() => undefined);
  }
}

export function dashboardRows(result: DashboardBenchResult): [string, string][] {
  return [
    ['simulated hosts (heartbeat period; the agents\' --heartbeat)', `${result.hosts} (${result.heartbeat_ms / 1000} s; ${result.configured_heartbeat_ms / 1000} s)`],
    ['heartbeats put per second while sampling', String(result.heartbeats_per_s)],
    ['dashboard NODE_OPTIONS', result.node_options ?? '(none: its own heap flags)'],
    ['first view, empty fleet (baseline)', `${result.first_view_empty_ms} ms`],
    [`first view, ${result.hosts} hosts (median / max of ${result.first_view_ms.runs})`, `${result.first_view_ms.median} / ${result.first_view_ms.max} ms`],
    ['filter: host substring / label / state (median)', `${result.filter_ms.host_substring} / ${result.filter_ms.label} / ${result.filter_ms.state} ms`],
    ['filter cleared (median); slowest filter', `${result.filter_ms.clear} ms; ${result.filter_ms.max} ms`],
    ['dashboard RSS, empty fleet (baseline)', `${result.rss_empty_mib} MiB`],
    [`dashboard RSS while hosts heartbeat (median / max of ${result.rss_mib.samples} s)`, `${result.rss_mib.median} / ${result.rss_mib.max} MiB`],
    [`dashboard CPU while hosts heartbeat (over the same ${result.rss_mib.samples} s)`, `${result.cpu_percent} % of a core`],
    [`status put to the page (p50 / p95 / max of ${result.status_to_page_ms.samples})`, `${result.status_to_page_ms.p50} / ${result.status_to_page_ms.p95} / ${result.status_to_page_ms.max} ms`],
  ];
}
