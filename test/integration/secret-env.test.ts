import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

// A real agent process, real nats-server and real Docker: the container gets the secret values;
// nothing a person or a log sees holds them.
describe('secret env values over the fleet (real NATS, real Docker, real agent)', () => {
  const runId = uniqueName('hwx');
  const hostId = uniqueName('hx');
  const project = uniqueName('secret');
  const inline = `inline-${uniqueName('pw')}`;
  const fromFile = `file-${uniqueName('key')}`;
  const rotated = `rotated-${uniqueName('pw')}`;
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let fleetFile: string;
  let secretFile: string;

  const fleetYaml = (password: string) => `project: ${project}
services:
  app:
    image: hw/busybox:test
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    stop_timeout: 1s
    placement: { hosts: [${hostId}] }
    env:
      PLAIN: visible
      DB_PASSWORD: { secret: "${password}" }
      API_KEY: { secret_file: ${secretFile} }
`;
  const cli = async (args: readonly string[], expectCode = 0) => {
    const result = await runCli([...args, '--nats', server.url], fleet.cliEnv);
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result;
  };
  const containerEnv = async () => {
    const [container] = await fleet.containersOf(hostId);
    assert.ok(container, 'the app container exists');
    return { id: container.Id, env: (await docker.getContainer(container.Id).inspect()).Config.Env ?? [] };
  };
  const assertHidden = (where: string, text: string, values: readonly string[]) => {
    for (const value of values) assert.ok(!text.includes(value), `${where} shows a secret value`);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-secret-'));
    fleetFile = join(dir, 'fleet.yaml');
    secretFile = join(dir, 'api-key');
    await writeFile(secretFile, `${fromFile}\n`, { mode: 0o600 });
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    // secret_file reads a host file as root: only where the agent allows that path.
    await fleet.startAgents([{ hostId, labels: {}, args: ['--allow-secret-file', dir] }]);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the container gets the real values; plan --json, a saved plan, status --json, events and the agent log do not; a changed secret replaces the container', async () => {
    await writeFile(fleetFile, fleetYaml(inline));
    const planned = await cli(['plan', '-f', fleetFile, '--json', '--out', join(dir, 'plan.json')]);
    assertHidden('plan --json', planned.stdout, [inline, fromFile]);
    assertHidden('the saved plan', await readFile(join(dir, 'plan.json'), 'utf8'), [inline, fromFile]);
    await cli(['apply', '-f', fleetFile, '--wait']);

    const first = await containerEnv();
    assert.ok(first.env.includes(`DB_PASSWORD=${inline}`), 'docker inspect shows the inline secret (Docker\'s own storage)');
    assert.ok(first.env.includes(`API_KEY=${fromFile}`), 'the agent read the secret file at create time');
    assert.ok(first.env.includes('PLAIN=visible'));

    const all = [inline, fromFile];
    assertHidden('status --json', (await cli(['status', '--json'])).stdout, all);
    assertHidden('status', (await cli(['status'])).stdout, all);
    const replan = await cli(['plan', '-f', fleetFile, '--json']);
    assertHidden('plan --json after apply', replan.stdout, all);

    // Rotate the inline secret: the plan says env changed (a digest differs), the container is replaced.
    await writeFile(fleetFile, fleetYaml(rotated));
    const rotation = await cli(['plan', '-f', fleetFile]);
    assert.match(rotation.stdout, /spec changed: env/);
    assertHidden('plan of the rotation', rotation.stdout, [...all, rotated]);
    const rotationJson = await cli(['plan', '-f', fleetFile, '--json', '--out', join(dir, 'rotation.json')]);
    assertHidden('plan --json of the rotation', rotationJson.stdout, [...all, rotated]);
    // A saved plan holds only the new secret's digest: applying it is refused with a clear message, nothing written.
    const refused = await cli(['apply', join(dir, 'rotation.json')], 1);
    assert.match(refused.stderr, /only as a digest/);
    await cli(['apply', '-f', fleetFile, '--wait']);
    const second = await containerEnv();
    assert.notEqual(second.id, first.id, 'the rotated secret replaced the container');
    assert.ok(second.env.includes(`DB_PASSWORD=${rotated}`));

    const events = await cli(['events', '--host', hostId, '--json']);
    assert.ok(events.stdout.trim().length > 0, 'events were recorded');
    assertHidden('events --json', events.stdout, [...all, rotated]);
    const log = fleet.agent(hostId).output();
    assert.match(log, /desired state accepted/, 'the agent log was captured');
    assertHidden('the agent log', log, [...all, rotated]);
    assertHidden('rollout list --json', (await cli(['rollout', 'list', '--json'])).stdout, [...all, rotated]);
  });
});
