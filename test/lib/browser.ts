/**
 * The dashboard's browser tests and benchmark: Debian's chromium driven by playwright-core (never a
 * browser download; CI installs the `chromium` apt package), axe-core checks, and `hostwright
 * dashboard` started as a user would, as a child process whose URL is read from its start line.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { killOnExit } from './child-reaper.js';
import { startCli } from './cli.js';
import { waitFor } from './wait.js';

/** Debian's chromium; HW_CHROMIUM names another build of it. */
export const CHROMIUM = process.env.HW_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: the tests run as root in CI, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
}

/** A fresh page at a desktop size, with every console error and page error kept for assertion messages. */
export async function openPage(browser: Browser, url: string, size = { width: 1400, height: 900 }): Promise<Page & { errors: () => string[] }> {
  const context = await browser.newContext({ viewport: size });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  return Object.assign(page, { errors: () => [...errors] });
}

let axeSource: string | undefined;

/** The little of the DOM the functions run in the page use (the tests compile without lib DOM). */
export interface InPage {
  readonly document: {
    querySelector(selector: string): { getAttribute(name: string): string | null; textContent: string | null } | null;
    querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null; textContent: string | null }>;
  };
}

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: { readonly target: unknown[] }[];
}

/**
 * Runs axe-core in the page and fails on serious or critical violations, naming each rule and the
 * elements it found. Minor and moderate ones are returned (not failed) for the caller to print.
 */
export async function assertAccessible(page: Page, what: string): Promise<AxeViolation[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the page's CSP rightly refuses an inline script tag
  // (addScriptTag), and the test must not loosen the CSP it checks elsewhere.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const { axe, document } = globalThis as unknown as InPage & { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> } };
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`),
    [],
    `axe-core found serious or critical violations in ${what}`,
  );
  return violations;
}

export interface DashboardProcess {
  /** http://127.0.0.1:PORT/ as the start line printed it. */
  readonly url: string;
  readonly process: ChildProcess & { output: () => string };
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts `hostwright dashboard --listen 127.0.0.1:0` with the given NATS options (and e.g.
 * `--allow-actions`, `--signing-key`), and waits for its `dashboard listening on URL` line.
 */
export async function startDashboard(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<DashboardProcess> {
  const child = startCli(['dashboard', '--listen', '127.0.0.1:0', ...args], env);
  killOnExit(child);
  const url = await waitFor(
    'the dashboard\'s start line',
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`hostwright dashboard exited (${child.exitCode ?? child.signalCode}):\n${child.output()}`);
      return /dashboard listening on (http:\/\/\S+\/)/.exec(child.output())?.[1];
    },
    timeoutMs,
    50,
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${error instanceof Error ? error.message : String(error)}; its output:\n${child.output()}`, { cause: error });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { url, process: child, pid: child.pid ?? 0, stop };
}

/** A process's resident set size in bytes (VmRSS in /proc/<pid>/status). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** A process's CPU time so far (user and system), in seconds: fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 1/100 s. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc/${pid}/stat`);
  return (utime + stime) / 100;
}

/** Waits (polling in the page, every animation frame) until the selector's element has the attribute value; resolves with the time it took. */
export async function waitForAttribute(page: Page, selector: string, attribute: string, value: string, timeoutMs = 10_000): Promise<number> {
  const start = performance.now();
  await page.waitForFunction(({ selector, attribute, value }) => (globalThis as unknown as InPage).document.querySelector(selector)?.getAttribute(attribute) === value, { selector, attribute, value }, { timeout: timeoutMs, polling: 'raf' });
  return performance.now() - start;
}
