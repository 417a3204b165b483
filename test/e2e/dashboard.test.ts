import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DashboardHost } from '../../shared/dashboard-api.js';
import { CONTENT_SECURITY_POLICY } from '../../coordinator/dashboard/dashboard-security.js';
import { DASHBOARD_NODE_FLAGS } from '../../coordinator/cli/dashboard-memory.js';
import { uniqueName } from '../lib/builders.js';
import { killOnExit } from '../lib/child-reaper.js';
import { runCli, startCli } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import type { NatsServerHandle } from '../lib/nats-server.js';
import { SseReader } from '../lib/sse-reader.js';
import { waitFor } from '../lib/wait.js';

// `hostwright dashboard` over HTTP against a real nats-server with `fleet init` credentials and two
// real agents on the local Docker engine: one dashboard as the deployer (loopback, actions on), one
// as a reader beyond loopback (0.0.0.0, token). Requests go to 127.0.0.1 only.

const BUILT_ASSETS = fileURLToPath(new URL('../../dashboard/', import.meta.url));

interface Dashboard {
  readonly child: ReturnType<typeof startCli>;
  readonly url: string;
  readonly firstLine: string;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request with node:http, so that a test can send any Host header. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('hostwright dashboard: the server over real NATS and real agents', () => {
  const runId = uniqueName('hwd');
  const hostIds = [uniqueName('da'), uniqueName('db')];
  const [h1, h2] = hostIds as [string, string];
  const project = uniqueName('dash');
  const marker = uniqueName('line');
  let dir: string;
  let nats: NatsServerHandle;
  let fleet: FleetHarness;
  let assetsEnv: Record<string, string> = {};
  let deployer: Dashboard;
  let reader: Dashboard;
  const token = `t-${uniqueName('token')}-0123456789`;
  const dashboards: Dashboard[] = [];

  const creds = (file: string) => ['--creds', join(dir, file)];
  const fleetFile = (value: string) => `project: ${project}\nservices:\n  app:\n    image: hw/busybox:test\n    command: ["sh", "-c", "echo ${marker}-${value}; echo other-line; trap 'exit 0' TERM; sleep 3600 & wait"]\n    stop_grace_period: 1s\n    placement: { hosts: [${h1}, ${h2}] }\n`;

  async function startDashboard(args: readonly string[]): Promise<Dashboard> {
    const child = startCli(['dashboard', '--nats', nats.url, ...args], { ...assetsEnv, HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk'), HOSTWRIGHT_CONFIG: join(dir, 'config.yaml') });
    killOnExit(child);
    const firstLine = await waitFor('the dashboard\'s start line', async () => {
      if (child.exitCode !== null) throw new Error(`dashboard exited ${child.exitCode}:\n${child.output()}`);
      return child.output().split('\n').find((line) => line.startsWith('dashboard listening on ') || line.startsWith('{'));
    }, 30_000, 100);
    const url = firstLine.startsWith('{') ? (JSON.parse(firstLine) as { url: string }).url : firstLine.slice('dashboard listening on '.length);
    const dashboard = { child, url, firstLine };
    dashboards.push(dashboard);
    return dashboard;
  }

  const fleetOf = async (dashboard: Dashboard, headers: Record<string, string> = {}): Promise<{ hosts: DashboardHost[] }> => {
    const answer = await send(`${dashboard.url}api/fleet`, { headers });
    assert.equal(answer.status, 200, answer.body);
    return JSON.parse(answer.body) as { hosts: DashboardHost[] };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-dashboard-'));
    if (!existsSync(join(BUILT_ASSETS, 'index.html'))) {
      // The page is built by another part of the build: without it, a stand-in page of the same files.
      const assets = join(dir, 'assets');
      await mkdir(assets);
      await writeFile(join(assets, 'index.html'), '<!doctype html><html lang="en"><head><title>Hostwright</title><script type="module" src="/assets/app.js"></script></head><body><main></main></body></html>\n');
      await writeFile(join(assets, 'app.js'), 'export {};\n');
      await writeFile(join(assets, 'app.css'), 'main {}\n');
      assetsEnv = { HOSTWRIGHT_DASHBOARD_ASSETS: assets };
    }
    const started = await FleetHarness.withFleetAuth(dir, runId, hostIds, [{ name: 'ro', role: 'reader' }]);
    ({ nats, fleet } = started);
    const { hostArgs } = started;
    await fleet.startAgents(hostIds.map((hostId) => ({ hostId, labels: { zone: 'z1' }, args: hostArgs(hostId) })));
    await writeFile(join(dir, 'app.yaml'), fleetFile('v1'));
    await fleet.cli(['apply', '-f', join(dir, 'app.yaml'), '--wait', '--timeout', '60s', ...creds('coordinator.nk'), '--signing-key', join(dir, 'coordinator-signing.nk')], 0);
    deployer = await startDashboard(['--listen', '127.0.0.1:0', '--allow-actions', '--stale-after', '3s', ...creds('coordinator.nk')]);
    await writeFile(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    reader = await startDashboard(['--listen', '0.0.0.0:0', '--token-file', join(dir, 'token'), '--allow-actions', '--json', ...creds(join('users', 'ro.nk'))]);
  });

  after(async () => {
    for (const dashboard of dashboards) dashboard.child.kill('SIGTERM');
    await fleet?.cleanup();
    await nats?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists every host with its project cells; every response carries the CSP; a foreign Host header is refused', async () => {
    assert.match(deployer.firstLine, /^dashboard listening on http:\/\/127\.0\.0\.1:\d+\/$/);
    const { hosts } = await waitFor('both hosts converged in /api/fleet', async () => {
      const snapshot = await fleetOf(deployer);
      return hostIds.every((hostId) => snapshot.hosts.find((host) => host.hostId === hostId)?.cells.some((cell) => cell.project === project && cell.state === 'converged')) ? snapshot : undefined;
    }, 20_000, 250);
    assert.deepEqual(hosts.map((host) => host.hostId).sort(), [...hostIds].sort());
    for (const host of hosts) {
      assert.equal(host.stale, false);
      assert.equal(host.cordoned, false);
      assert.equal(host.labels.zone, 'z1');
      assert.equal(host.trust, 'verified');
    }

    const api = await send(`${deployer.url}api/session`);
    assert.equal(api.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(api.headers['x-content-type-options'], 'nosniff');
    assert.equal(api.headers['referrer-policy'], 'no-referrer');
    assert.equal(api.headers['cache-control'], 'no-store');
    assert.deepEqual({ ...(JSON.parse(api.body) as object), version: 'v' }, { schema: 'hostwright.dashboard.session/v1', user: 'coordinator', role: 'deployer', actionsAllowed: true, version: 'v' });
    const page = await send(deployer.url);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(page.body, /<html lang="en">/);

    const port = new URL(deployer.url).port;
    const rebound = await send(`${deployer.url}api/fleet`, { headers: { Host: `evil.example:${port}` } });
    assert.equal(rebound.status, 421, rebound.body);
    assert.match((JSON.parse(rebound.body) as { error: string }).error, /not this dashboard/);
    assert.equal((await send(`${deployer.url}api/fleet`, { headers: { Host: `localhost:${port}` } })).status, 200);
    assert.equal((await send(`${deployer.url}api/nothing`)).status, 404);
    const login = await send(`${deployer.url}login`);
    assert.deepEqual([login.status, login.headers.location, login.headers['set-cookie']], [303, '/', undefined], 'no token on loopback: /login only goes to the page');
  });

  it('a host label with <script> comes back as a plain JSON string', async () => {
    const label = '<script>alert(1)</script>';
    await fleet.cli(['hosts', 'label', h1, `note=${label}`, ...creds('coordinator.nk'), '--signing-key', join(dir, 'coordinator-signing.nk')], 0);
    const host = await waitFor('the label in /api/fleet', async () => (await fleetOf(deployer)).hosts.find((entry) => entry.hostId === h1 && entry.effectiveLabels.note !== undefined), 10_000, 200);
    assert.equal(host.effectiveLabels.note, label);
    const raw = await send(`${deployer.url}api/hosts/${h1}`);
    assert.match(String(raw.headers['content-type']), /^application\/json/);
    assert.ok(raw.body.includes(JSON.stringify(label)), 'the label is a JSON string value');
  });

  it('a container removed by hand shows as drift in a live `hosts` message within 2 s, and converged again after the repair', async () => {
    const live = await SseReader.open(`${deployer.url}api/live`);
    try {
      const snapshot = await live.waitFor('snapshot', (message) => (message.event === 'snapshot' ? (message.data as { hosts: DashboardHost[] }) : undefined), 10_000);
      assert.equal(snapshot.index, 0, 'the snapshot comes first');
      const [container] = await fleet.containersOf(h1);
      assert.ok(container, `${h1} runs a container`);
      const from = live.messages.length;
      const removedAt = Date.now();
      await docker.getContainer(container.Id).remove({ force: true });
      const cellOf = (message: { event: string; data: unknown }) => (message.event === 'hosts' ? (message.data as { hosts: DashboardHost[] }).hosts.find((host) => host.hostId === h1)?.cells.find((cell) => cell.project === project) : undefined);
      const drift = await live.waitFor('h1 in drift', (message) => (cellOf(message)?.state === 'drift' ? cellOf(message) : undefined), 10_000, from);
      assert.ok(drift.message.at - removedAt <= 2_000, `drift shown ${drift.message.at - removedAt} ms after the removal`);
      assert.match(drift.value.detail ?? '', /: (missing|stopped)/);
      await live.waitFor('h1 converged again', (message) => (cellOf(message)?.state === 'converged' ? true : undefined), 30_000, drift.index + 1);
      const repaired = await fleet.containersOf(h1);
      assert.ok(repaired.some((entry) => entry.Id !== container.Id && entry.State === 'running'), 'the agent made a new container');
      const events = live.messages.slice(from).filter((message) => message.event === 'event').map((message) => message.data as { type: string; hostId: string });
      assert.ok(events.some((event) => event.type === 'drift_detected' && event.hostId === h1), 'the drift event is on the stream');
      assert.ok(live.messages.some((message) => message.event === 'tick'), 'ticks arrive');
    } finally {
      live.close();
    }
  });

  it('a host, a project, events by host and by correlation id', async () => {
    const host = await send(`${deployer.url}api/hosts/${h1}`);
    assert.equal(host.status, 200, host.body);
    const detail = JSON.parse(host.body) as { schema: string; host: DashboardHost; events: { hostId: string; correlationID: string }[]; lastPlan: unknown };
    assert.equal(detail.schema, 'hostwright.dashboard.host/v1');
    assert.ok(detail.events.length > 0 && detail.events.length <= 100);
    assert.ok(detail.events.every((event) => event.hostId === h1));
    assert.notEqual(detail.lastPlan, null);
    assert.equal((await send(`${deployer.url}api/hosts/nobody`)).status, 404);
    // A broken %-escape is a bad request, not a server error.
    assert.equal((await send(`${deployer.url}api/hosts/%E0%A4%A`)).status, 400);

    const correlation = (detail.events.at(-1) as { correlationID: string }).correlationID;
    const byCorrelation = JSON.parse((await send(`${deployer.url}api/events?correlation=${correlation}`)).body) as { events: { correlationID: string }[] };
    assert.ok(byCorrelation.events.length > 0 && byCorrelation.events.every((event) => event.correlationID === correlation));
    const limited = JSON.parse((await send(`${deployer.url}api/events?host=${h2}&limit=2`)).body) as { events: { hostId: string }[] };
    assert.ok(limited.events.length > 0 && limited.events.length <= 2 && limited.events.every((event) => event.hostId === h2));
    assert.equal((await send(`${deployer.url}api/events?type=bogus`)).status, 400);

    const view = JSON.parse((await send(`${deployer.url}api/projects/${project}`)).body) as { hosts: { hostId: string; desiredRevision: number; author: { natsUser?: string } | null; state: string }[]; history: { diff: { services: unknown[] } | null }[] };
    assert.deepEqual(view.hosts.map((entry) => entry.hostId).sort(), [...hostIds].sort());
    assert.ok(view.hosts.every((entry) => entry.desiredRevision >= 1 && (entry.author?.natsUser ?? '') !== ''), JSON.stringify(view.hosts));
    assert.ok(view.history.every((change) => (change.diff?.services.length ?? 0) > 0));
  });

  it('logs of an instance stream with a filter, and download as a file', async () => {
    const live = await SseReader.open(`${deployer.url}api/logs?host=${h1}&project=${project}&service=app&tail=50&grep=${marker}`);
    try {
      const line = await live.waitFor('the marked line', (message) => (message.event === 'line' ? (message.data as { text: string; stream: string; instance: number }) : undefined), 15_000);
      assert.equal(line.value.text, `${marker}-v1`);
      assert.equal(line.value.stream, 'stdout');
      await live.waitFor('the end', (message) => (message.event === 'end' ? true : undefined), 15_000);
      assert.ok(live.messages.filter((message) => message.event === 'line').every((message) => (message.data as { text: string }).text.includes(marker)), 'the filter holds');
    } finally {
      live.close();
    }
    const file = await send(`${deployer.url}api/logs?host=${h1}&project=${project}&service=app&download=1`);
    assert.equal(file.status, 200);
    assert.match(String(file.headers['content-disposition']), /^attachment; filename=".+\.log"$/);
    assert.match(file.body, new RegExp(`${marker}-v1`));
    assert.match(file.body, /other-line/);
    assert.equal((await send(`${deployer.url}api/logs?project=${project}&service=app`)).status, 400);
  });

  it('beyond loopback the token is required (bearer, or the cookie /login sets); a reader may not act', async () => {
    const start = JSON.parse(reader.firstLine) as { schema: string; url: string; tokenRequired: boolean; actionsAllowed: boolean };
    assert.deepEqual({ ...start, url: '' }, { schema: 'hostwright.dashboard.start/v1', url: '', tokenRequired: true, actionsAllowed: false });
    const base = `http://127.0.0.1:${new URL(start.url).port}/`;
    const refused = await send(`${base}api/fleet`);
    assert.equal(refused.status, 401);
    assert.match((JSON.parse(refused.body) as { error: string }).error, /token/);
    assert.equal((await send(`${base}api/fleet`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
    assert.equal((await send(base)).status, 401, 'the page too');
    const bearer = { Authorization: `Bearer ${token}` };
    assert.deepEqual((await fleetOf({ ...reader, url: base }, bearer)).hosts.map((host) => host.hostId).sort(), [...hostIds].sort());

    assert.equal((await send(`${base}login?token=nope`)).status, 401);
    const login = await send(`${base}login?token=${encodeURIComponent(token)}`);
    assert.equal(login.status, 303);
    assert.equal(login.headers.location, '/');
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /^hw_dashboard=[^;]+; HttpOnly; SameSite=Strict; Path=\/$/);
    const session = await send(`${base}api/session`, { headers: { Cookie: cookie.split(';')[0] as string } });
    assert.equal(session.status, 200);
    assert.deepEqual({ ...(JSON.parse(session.body) as object), version: 'v' }, { schema: 'hostwright.dashboard.session/v1', user: 'ro', role: 'reader', actionsAllowed: false, version: 'v' });

    const action = await send(`${base}api/rollouts/any/pause`, { method: 'POST', headers: { ...bearer, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(action.status, 403);
    assert.match((JSON.parse(action.body) as { error: string }).error, /deployer or admin/);
  });

  it('with a deployer credential and --allow-actions the page pauses and aborts a rollout, saying who', async () => {
    await writeFile(join(dir, 'app.yaml'), fleetFile('v2'));
    const started = await fleet.cli(['rollout', '-f', join(dir, 'app.yaml'), '--detach', '--json', '--min-healthy', '1s', ...creds('coordinator.nk'), '--signing-key', join(dir, 'coordinator-signing.nk')], 0);
    const id = (/"rollout":"([^"]+)"/.exec(started.stdout) as RegExpExecArray)[1] as string;
    const live = await SseReader.open(`${deployer.url}api/live`);
    try {
      await waitFor('the rollout in /api/rollouts', async () => (JSON.parse((await send(`${deployer.url}api/rollouts`)).body) as { rollouts: { id: string }[] }).rollouts.some((rollout) => rollout.id === id), 10_000, 200);
      const post = (change: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) => send(`${deployer.url}api/rollouts/${id}/${change}`, { method: 'POST', headers, body: '{}' });
      assert.equal((await post('pause', { 'Content-Type': 'text/plain' })).status, 403, 'not JSON');
      assert.equal((await post('pause', { 'Content-Type': 'application/json', Origin: 'http://evil.example' })).status, 403, 'another origin');
      const paused = await post('pause', { 'Content-Type': 'application/json', Origin: deployer.url.replace(/\/$/, '') });
      assert.equal(paused.status, 200, paused.body);
      const body = JSON.parse(paused.body) as { rollout: { status: string; reason: string; gate: unknown[] } };
      assert.equal(body.rollout.status, 'paused');
      assert.match(body.rollout.reason, /^paused by .+ \(dashboard\)$/);
      assert.ok(Array.isArray(body.rollout.gate));
      await live.waitFor('the paused rollout on the live stream', (message) => (message.event === 'rollout' && (message.data as { id: string; status: string }).id === id && (message.data as { status: string }).status === 'paused' ? true : undefined), 10_000);
      const status = await fleet.cli(['rollout', 'status', id, '--json', ...creds('coordinator.nk')], 0);
      assert.match((JSON.parse(status.stdout) as { reason: string }).reason, /\(dashboard\)/);
      const aborted = await post('abort');
      assert.equal(aborted.status, 200, aborted.body);
      assert.equal((JSON.parse(aborted.body) as { rollout: { status: string } }).rollout.status, 'aborted');
      assert.equal((await post('pause')).status, 400, 'a finished rollout');
    } finally {
      live.close();
    }
  });

  it('an agent that stops turns stale on the live stream', async () => {
    const live = await SseReader.open(`${deployer.url}api/live`);
    try {
      await live.waitFor('snapshot', (message) => (message.event === 'snapshot' ? true : undefined), 10_000);
      const from = live.messages.length;
      await fleet.stop(h2);
      const stale = await live.waitFor('h2 stale', (message) => (message.event === 'hosts' && (message.data as { hosts: DashboardHost[] }).hosts.some((host) => host.hostId === h2 && host.stale) ? true : undefined), 10_000, from);
      assert.ok(stale.value);
      const snapshot = await fleetOf(deployer);
      assert.equal(snapshot.hosts.find((host) => host.hostId === h2)?.stale, true);
      assert.equal(snapshot.hosts.find((host) => host.hostId === h1)?.stale, false);
    } finally {
      live.close();
    }
  });

  it('runs in the process it was started as, with the heap flags that size it for its messages', async () => {
    const pid = deployer.child.pid ?? 0;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    for (const flag of DASHBOARD_NODE_FLAGS) assert.ok(cmdline.includes(flag), `${flag} in ${cmdline.join(' ')}`);
    assert.equal(cmdline.filter((arg) => arg === 'dashboard').length, 1, 'started again once, with its own arguments');
    assert.equal((await send(`${deployer.url}api/session`)).status, 200, 'the same pid still serves');
  });

  it('without the built page the command says so and exits 2', async () => {
    const empty = join(dir, 'no-assets');
    await mkdir(empty);
    const result = await runCli(['dashboard', '--nats', nats.url, '--listen', '127.0.0.1:0'], { HOSTWRIGHT_DASHBOARD_ASSETS: empty });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /holds no index\.html/);
  });
});
