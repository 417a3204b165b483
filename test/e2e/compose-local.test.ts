import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../shared/labels.js';
import { uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { inside } from '../lib/container-exec.js';
import { docker, projectContainers, removeProject } from '../lib/docker-harness.js';
import { NO_PUBLISHED_CORPUS, PUBLISHED_CORPUS } from '../lib/published-corpus.js';

// A compose app as a compose user has it (compose.yaml and .env in a directory), run by
// `hostwright apply --local -f DIR` on the real engine: one service reaches the other by name.
describe('a compose file applied locally (real Docker)', () => {
  const project = uniqueName('compose');
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-compose-'));
    const app = join(dir, 'My App');
    await mkdir(app);
    env = { HOSTWRIGHT_DATA_DIR: join(dir, 'data') };
    await writeFile(join(app, '.env'), `PROJECT=${project}\nGREETING=hello from api\n`);
    await writeFile(
      join(app, 'compose.yaml'),
      [
        'name: ${PROJECT}',
        'services:',
        '  api:',
        '    image: hw/busybox:test',
        '    command: ["sh", "-c", "echo \\"$$GREETING\\" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]',
        '    environment:',
        '      - GREETING=${GREETING}',
        '    expose: [8080]',
        '    stop_grace_period: 1s',
        '  web:',
        '    image: hw/busybox:test',
        "    command: sh -c 'trap \"exit 0\" TERM; sleep 3600 & wait'",
        '    environment:',
        '      API_URL: http://api:8080/',
        '    stop_grace_period: 1s',
        '    deploy:',
        '      resources: {limits: {memory: 64m}}',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await removeProject(project);
    await rm(dir, { recursive: true, force: true });
  });

  it('apply --local -f DIR runs both services, and web reaches api by its service name', async () => {
    const applied = await runCli(['apply', '--local', '-f', join(dir, 'My App')], env);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const containers = await projectContainers(project);
    const byService = new Map(containers.map((container) => [container.Labels[LABELS.service], container]));
    assert.deepEqual([...byService.keys()].sort(), ['api', 'web']);
    const web = byService.get('web');
    assert.ok(web && web.State === 'running', 'web runs');
    const shown = await inside(web.Id, 'echo "$API_URL"');
    assert.equal(shown.output, 'http://api:8080/');
    // httpd may take a moment to listen after the container starts.
    let answer = { output: '', code: -1 };
    for (let attempt = 0; attempt < 30 && answer.code !== 0; attempt += 1) {
      answer = await inside(web.Id, 'wget -q -O- "$API_URL"');
      if (answer.code !== 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(answer.code, 0, answer.output);
    assert.equal(answer.output, 'hello from api');
  });

  it('a second apply of the unchanged compose file changes nothing', async () => {
    const again = await runCli(['apply', '--local', '-f', join(dir, 'My App', 'compose.yaml')], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Already converged: nothing to do\./);
  });
});

// Airflow's published compose file (airflow/ in the published corpus, test/lib/published-corpus.ts, with its .env) run as it is,
// its images and programs replaced by the test image in an override file, as a user would try it
// out: the one-shot airflow-init (no restart:, so compose's `no`) runs once, and the services that
// wait for it to complete start. The fixed host port 8080 is made ephemeral so parallel runs cannot clash.
describe('Airflow\'s published compose file applied locally (real Docker)', { skip: NO_PUBLISHED_CORPUS }, () => {
  const project = uniqueName('airflow');
  const published = join(PUBLISHED_CORPUS ?? '', 'airflow');
  let dir: string;
  let app: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-airflow-'));
    app = join(dir, 'airflow');
    await mkdir(app);
    env = { HOSTWRIGHT_DATA_DIR: join(dir, 'data'), COMPOSE_PROJECT_NAME: project };
    const text = await readFile(join(published, 'docker-compose.yaml'), 'utf8');
    assert.ok(text.includes('- "8080:8080"'));
    await writeFile(join(app, 'docker-compose.yaml'), text.replace('- "8080:8080"', '- "8080"'));
    await copyFile(join(published, '.env'), join(app, '.env'));
    await writeFile(
      join(app, 'docker-compose.override.yaml'),
      [
        'x-test: &test',
        '  image: hw/busybox:test',
        '  command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 3600 & wait"]',
        '  healthcheck: {test: ["CMD", "true"], interval: 1s, timeout: 1s, retries: 3, start_period: 0s}',
        '  stop_grace_period: 1s',
        'services:',
        ...['postgres', 'redis', 'airflow-apiserver', 'airflow-scheduler', 'airflow-dag-processor', 'airflow-worker', 'airflow-triggerer'].map((service) => `  ${service}: *test`),
        '  airflow-init:',
        '    image: hw/busybox:test',
        '    entrypoint: ["sh", "-c"]',
        '    command: ["echo ran >> /opt/airflow/logs/init-runs"]',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await removeProject(project);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs airflow-init once and starts the services that wait for it; a second apply changes nothing', async () => {
    const applied = await runCli(['apply', '--local', '-f', app], env);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const containers = await projectContainers(project);
    const byService = new Map(containers.map((container) => [container.Labels[LABELS.service], container]));
    assert.deepEqual([...byService.keys()].sort(), ['airflow-apiserver', 'airflow-dag-processor', 'airflow-init', 'airflow-scheduler', 'airflow-triggerer', 'airflow-worker', 'postgres', 'redis']);
    const init = byService.get('airflow-init');
    assert.match(init?.Status ?? '', /^Exited \(0\)/);
    for (const [service, container] of byService) if (service !== 'airflow-init') assert.equal(container.State, 'running', service);
    // The dependants reach the services by name on the project network.
    const worker = byService.get('airflow-worker');
    assert.ok(worker);
    assert.equal((await inside(worker.Id, 'nslookup postgres >/dev/null && nslookup redis >/dev/null')).code, 0);
    const again = await runCli(['apply', '--local', '-f', app], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Already converged: nothing to do\./);
    assert.equal(await readFile(join(app, 'logs', 'init-runs'), 'utf8'), 'ran\n');
  });
});

// container_name as compose users rely on it (Immich's .env names its database `immich_postgres`):
// the other containers reach the service by that name. platform: goes to the engine at create.
describe('container_name, tty and platform on one host (real Docker)', () => {
  const project = uniqueName('cname');
  const otherProject = uniqueName('platform');
  let dir: string;
  let env: Record<string, string>;
  let arch: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-cname-'));
    env = { HOSTWRIGHT_DATA_DIR: join(dir, 'data') };
    arch = (await docker.version()).Arch;
    await writeFile(
      join(dir, 'compose.yaml'),
      [
        `name: ${project}`,
        'services:',
        '  database:',
        `    container_name: ${project}_postgres`,
        '    image: hw/busybox:test',
        '    command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 3600 & wait"]',
        '    stop_grace_period: 1s',
        '  server:',
        '    image: hw/busybox:test',
        '    command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 3600 & wait"]',
        '    stop_grace_period: 1s',
        '    tty: true',
        `    platform: linux/${arch}`,
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await removeProject(project);
    await removeProject(otherProject);
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves the container_name on the project network, and runs tty: true detached', async () => {
    const applied = await runCli(['apply', '--local', '-f', dir], env);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const server = (await projectContainers(project)).find((container) => container.Labels[LABELS.service] === 'server');
    assert.ok(server && server.State === 'running');
    assert.equal((await inside(server.Id, `ping -c 1 -W 2 ${project}_postgres >/dev/null`)).code, 0);
    assert.equal((await docker.getContainer(server.Id).inspect()).Config.Tty, true);
  });

  it('refuses to create a container whose image is for another platform, saying so', async () => {
    const other = arch === 'arm64' ? 'amd64' : 'arm64';
    const file = join(dir, 'other.yaml');
    await writeFile(file, `name: ${otherProject}\nservices:\n  a: {image: hw/busybox:test, platform: linux/${other}, command: ["true"]}\n`);
    const applied = await runCli(['apply', '--local', '-f', file], env);
    assert.notEqual(applied.code, 0);
    assert.match(applied.stdout + applied.stderr, new RegExp(`the image hw/busybox:test on this host is not for platform linux/${other}`));
  });
});
