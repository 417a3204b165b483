import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_IMAGE, uniqueName } from '../lib/builders.js';
import { runCli, startCli, type CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { consume, filesUnder, startLocalRegistry, type LocalRegistry } from '../lib/local-registry.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { startThrottledProxy, type ThrottledProxy } from '../lib/throttled-proxy.js';
import { waitFor } from '../lib/wait.js';

// Images from a private registry (a real one on 127.0.0.1 with htpasswd auth) behind a slow link
// (a proxy passing 6 MB/s), pulled by real agents over NATS: `hostwright pull` and
// `rollout --pre-pull` pull before anything switches, with progress per host; `apply --wait` and
// `status --watch` show a long pull's progress; cleanup keeps the current and previous images and
// never one pulled by hand.

const PASSWORD = `pw-${uniqueName('s')}-secret`;
/** Each image's own layer: about 4 s through the proxy. */
const LAYER_MB = 24;
const PROXY_BYTES_PER_SECOND = 6 * 1024 * 1024;



interface PullJson {
  schema: string;
  hosts: { hostId: string; answered: boolean; ok?: boolean; pulled?: { image: string; outcome: string; message: string }[]; present?: string[] }[];
}

describe('pre-pull and pull progress over NATS (real Docker, real registry, real agents)', { timeout: 900_000 }, () => {
  const runId = uniqueName('hwpp');
  const h1 = uniqueName('pp1');
  const h2 = uniqueName('pp2');
  const project = uniqueName('ppapp');
  const repository = `${uniqueName('hw')}/app`;
  let registry: LocalRegistry;
  let proxy: ThrottledProxy;
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  /** Through the proxy, as the agents pull it. */
  const image = (tag: string) => `${proxy.host}/${repository}:${tag}`;
  const imageId = async (reference: string) => (await docker.getImage(reference).inspect().catch(() => undefined))?.Id;

  const cli = async (args: readonly string[], expectCode = 0): Promise<CliResult> => {
    const result = await runCli([...args, '--nats', server.url], fleet.cliEnv);
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${fleet.agent(h1).output().split('\n').slice(-15).join('\n')}`);
    return result;
  };
  const fleetFile = async (tag: string, hosts: readonly string[]) => {
    const file = join(dir, `fleet-${tag}.yaml`);
    await writeFile(file, `project: ${project}\nservices:\n  web:\n    image: ${image(tag)}\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n    stop_timeout: 1s\n    placement: { hosts: [${hosts.join(', ')}] }\n`);
    return file;
  };
  /** Pushes an image with a layer of its own, then removes it here: whoever needs it must pull it. */
  const pushImage = async (tag: string) => {
    const container = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sh', '-c', `head -c ${LAYER_MB * 1024 * 1024} /dev/urandom > /blob`] });
    try {
      await container.start();
      await container.wait();
      await container.commit({ repo: `${registry.host}/${repository}`, tag });
    } finally {
      await container.remove({ force: true });
    }
    await consume(await docker.getImage(`${registry.host}/${repository}:${tag}`).push({ authconfig: { username: registry.username, password: PASSWORD, serveraddress: registry.host } }));
    await docker.getImage(`${registry.host}/${repository}:${tag}`).remove();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-pre-pull-'));
    registry = await startLocalRegistry('deployer', PASSWORD);
    proxy = await startThrottledProxy(Number(registry.host.split(':')[1]), PROXY_BYTES_PER_SECOND);
    for (const tag of ['by-hand', 'v1', 'v2', 'v3']) await pushImage(tag);
    const credentials = join(dir, 'registry-auth.json');
    await writeFile(credentials, JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from(`deployer:${PASSWORD}`).toString('base64') } } }), { mode: 0o600 });
    await chmod(credentials, 0o600);
    // Pulled by hand, before any agent: Hostwright must never remove it.
    await consume(await docker.pull(image('by-hand'), { authconfig: { username: 'deployer', password: PASSWORD, serveraddress: proxy.host } }));
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    // Long enough that the first test's pre-pulled image is still there when it asks again; short enough for the cleanup test.
    const args = ['--registry-auth', credentials, '--image-grace', '20s'];
    await fleet.startAgents([
      { hostId: h1, labels: {}, args },
      { hostId: h2, labels: {}, args },
    ]);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    for (const tag of ['by-hand', 'v1', 'v2', 'v3', 'missing']) await docker.getImage(image(tag)).remove({ force: true }).catch(() => undefined);
    await proxy?.close();
    await registry?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pull --host asks only that host: it pulls with its credentials and per-host progress; asked again, every host finds the image present', async () => {
    const file = await fleetFile('v1', [h1, h2]);
    const pulled = await cli(['pull', '-f', file, '--host', h1]);
    assert.match(pulled.stdout, new RegExp(`${h1}: pulling ${image('v1').replace(/[.:/]/g, '\\$&')}: [\\d.]+ MB of [\\d.]+ MB, \\d+/\\d+ layer\\(s\\)`), pulled.stdout);
    assert.match(pulled.stdout, new RegExp(`${h1}\\s+${image('v1').replace(/[.:/]/g, '\\$&')}\\s+pulled`));
    assert.doesNotMatch(pulled.stdout, new RegExp(h2), 'the other host was asked');
    assert.ok(await imageId(image('v1')), 'the image is on the engine');
    const h1Events = await fleet.recordedEvents(h1);
    assert.ok(h1Events.some((event) => event.type === 'applied' && event.message.includes(image('v1'))), 'no event of the pull on h1');
    assert.ok(!(await fleet.recordedEvents(h2)).some((event) => event.message.includes(image('v1'))), 'h2 did something about the image');
    // The pull wrote no desired state: nothing runs.
    assert.equal((await fleet.containersOf(h1)).length, 0);

    // JSON lines: progress records, then the result.
    const again = JSON.parse((await cli(['pull', '-f', file, '--json'])).stdout.trim().split('\n').at(-1) ?? '{}') as PullJson;
    assert.equal(again.schema, 'hostwright.pull/v1');
    assert.deepEqual(again.hosts.map((host) => [host.hostId, host.ok, host.pulled?.length, host.present]).sort(), [[h1, true, 0, [image('v1')]], [h2, true, 0, [image('v1')]]].sort());
  });

  it('apply --wait and status --watch show a long pull\'s progress', async () => {
    await cli(['apply', '-f', await fleetFile('v1', [h1]), '--wait', '--timeout', '90s']);
    const watch = startCli(['status', '--watch', '--nats', server.url], fleet.cliEnv);
    try {
      await waitFor('status --watch to print the table', async () => watch.output().includes(project), 30_000, 200);
      const applied = await cli(['apply', '-f', await fleetFile('v2', [h1]), '--wait', '--timeout', '120s']);
      const progress = new RegExp(`${h1}: pulling ${image('v2').replace(/[.:/]/g, '\\$&')}: [\\d.]+ MB`);
      assert.match(applied.stdout, progress, applied.stdout);
      assert.match(applied.stdout, new RegExp(`${h1}\\s+converged`));
      await waitFor('status --watch to show the pull', async () => progress.test(watch.output()), 10_000, 200);
    } finally {
      watch.kill('SIGTERM');
    }
  });

  it('rollout --pre-pull: the host has the image before anything switches, and the rollout itself pulls nothing', async () => {
    const before = (await fleet.containersOf(h1)).map((container) => container.Id);
    const rollout = await cli(['rollout', '-f', await fleetFile('v3', [h1]), '--pre-pull', '--min-healthy', '1s']);
    const prePulled = rollout.stdout.indexOf(`${h1}: pulling ${image('v3')}`);
    const table = rollout.stdout.search(new RegExp(`${h1}\\s+${image('v3').replace(/[.:/]/g, '\\$&')}\\s+pulled`));
    assert.ok(prePulled >= 0 && table > prePulled, rollout.stdout);
    const events = await fleet.recordedEvents(h1);
    const pulls = events.filter((event) => event.type === 'applied' && event.message.includes(image('v3')) && /pull/i.test(event.message));
    assert.equal(pulls.length, 1, `pulled ${pulls.length} times: ${pulls.map((event) => event.message).join('; ')}`);
    // The rollout's events (the pre-pull carries its correlation id): the pull comes before any change of a container.
    const pull = pulls[0] as (typeof events)[number];
    const ofRollout = events.filter((event) => event.correlationID === pull.correlationID && event.type !== 'planned');
    assert.equal(ofRollout[0], pull, ofRollout.map((event) => `${event.type} ${event.message}`).join('\n'));
    assert.ok(ofRollout.some((event) => before.includes(event.runtimeRef ?? '')), 'the rollout did not replace the container');
    const running = await fleet.containersOf(h1);
    assert.equal(running.length, 1);
    assert.equal(running[0]?.Image, image('v3'));
  });

  it('cleanup: after three revisions only the current and previous images stay; the one pulled by hand stays too', async () => {
    // v1 may also have gone once before: pre-pulled by the first test and named by no revision for the grace period.
    const removal = await waitFor('v1 removed by cleanup after v3 was pulled', async () => {
      const events = await fleet.recordedEvents(h1);
      const v3Pulled = events.findIndex((event) => event.type === 'applied' && event.message.includes(image('v3')));
      return events.slice(v3Pulled + 1).find((event) => event.type === 'cleaned' && /^removed image /.test(event.message) && event.message.includes(image('v1')));
    }, 90_000, 500);
    assert.match(removal.message, /freed [\d.]+ MiB/);
    assert.equal(await imageId(image('v1')), undefined);
    assert.ok(await imageId(image('v2')), 'the previous revision\'s image was removed');
    assert.ok(await imageId(image('v3')), 'the current image was removed');
    assert.ok(await imageId(image('by-hand')), 'an image pulled by hand was removed');
  });

  it('the credentials appear nowhere: not in the NATS store, the journals, the agents\' logs, events, status or the CLI\'s output', async () => {
    const secrets = [PASSWORD, Buffer.from(`deployer:${PASSWORD}`).toString('base64')];
    const places: [string, Buffer[]][] = [
      ['the NATS store', await filesUnder(server.storeDir)],
      ...fleet.agents.map((agent): [string, Buffer[]] => [`${agent.hostId}'s output`, [Buffer.from(agent.output())]]),
    ];
    for (const agent of fleet.agents) places.push([`${agent.hostId}'s data dir`, await filesUnder(agent.dataDir)]);
    const said = await cli(['status', '--json']);
    const events = await cli(['events', '--json']);
    places.push(['status and events', [Buffer.from(said.stdout + events.stdout)]]);
    for (const [where, files] of places) {
      for (const secret of secrets) assert.ok(!files.some((bytes) => bytes.includes(secret)), `the secret is in ${where}`);
    }
    assert.ok(places[0]?.[1].some((bytes) => bytes.includes(image('v3'))), 'the NATS store was read (the image reference is in it)');
  });

  it('a pull that fails (a tag the registry lacks) exits 1 and names it; no container is touched', async () => {
    const before = (await fleet.containersOf(h1)).map((container) => container.Id);
    const failed = await cli(['pull', '-f', await fleetFile('missing', [h1])], 1);
    assert.match(failed.stdout, new RegExp(`${h1}\\s+${image('missing').replace(/[.:/]/g, '\\$&')}\\s+FAILED`), failed.stdout);
    assert.deepEqual((await fleet.containersOf(h1)).map((container) => container.Id), before);
    // Without a fleet to ask, the command says what to pass (and what pulls on this machine).
    const noFleet = await runCli(['pull', '-f', await fleetFile('v3', [h1])], { HOSTWRIGHT_NATS: '' });
    assert.equal(noFleet.code, 1);
    assert.match(noFleet.stderr, /^error: pull: pass --nats URL .*hostwright apply --local/);
  });
});
