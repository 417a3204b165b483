import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LABELS } from '../../shared/labels.js';
import { uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { inside } from '../lib/container-exec.js';
import { docker, projectContainers, removeProject } from '../lib/docker-harness.js';
import { freePort } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const run = promisify(execFile);

// Debian's docker-compose (1.29.2): it reads the Compose Specification without `name:`, so both
// sides take the project name from the command line.
const COMPOSE_FILE = [
  'services:',
  '  api:',
  '    image: hw/busybox:test',
  '    command: ["sh", "-c", "echo \\"$$GREETING\\" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]',
  '    environment:',
  '      GREETING: hello from api',
  '      TIER: ${TIER:-backend}',
  '    volumes:',
  '      - data:/data',
  '    stop_grace_period: 1s',
  '  web:',
  '    image: hw/busybox:test',
  '    command: sh -c \'echo "web says hi" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp\'',
  '    ports:',
  '      - "127.0.0.1:${WEB_PORT}:8080"',
  '    environment:',
  '      - API_URL=http://api:8080/',
  '    stop_grace_period: 1s',
  'volumes:',
  '  data: {}',
  '',
].join('\n');

interface Side {
  /** The running container of each service, by service name. */
  readonly containers: () => Promise<Map<string, string>>;
  readonly port: number;
  /** Re-creates the api container, keeping the project's volume. */
  readonly recreateApi: () => Promise<void>;
}

/** Retries a command inside a container until it exits 0 (httpd may take a moment to listen). */
async function insideUntilOk(containerId: string, script: string): Promise<string> {
  const answer = await waitFor(`\`${script}\` succeeds`, async () => {
    const result = await inside(containerId, script);
    return result.code === 0 ? result : undefined;
  });
  return answer.output;
}

/** The environment inside a container, without HOSTNAME (it is the container's id on both sides). */
async function environmentOf(containerId: string): Promise<Record<string, string>> {
  const { output, code } = await inside(containerId, 'env');
  assert.equal(code, 0, output);
  const entries = output.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries.filter(([key]) => key !== 'HOSTNAME').sort(([a], [b]) => a.localeCompare(b)));
}

async function running(labelKey: string, project: string, serviceKey: string): Promise<Map<string, string>> {
  const listed = await docker.listContainers({ filters: { label: [`${labelKey}=${project}`], status: ['running'] } });
  return new Map(listed.map((container) => [container.Labels[serviceKey] ?? '', container.Id]));
}

// The same compose file brought up by docker-compose and by `hostwright apply --local -f` behaves the
// same on the real engine. Container and volume names differ by design (Hostwright names containers
// `<prefix><project>-<service>-<n>`), so the test compares what a user of the app sees, not names.
describe('a compose file under docker-compose and under Hostwright (real Docker)', () => {
  const composeProject = uniqueName('hwcp').replace('-', '');
  const hostwrightProject = uniqueName('hwparity');
  let dir: string;
  let file: string;
  let hostwrightEnv: Record<string, string>;
  let composeEnv: Record<string, string>;
  const sides: Record<'compose' | 'hostwright', Side> = {} as Record<'compose' | 'hostwright', Side>;

  const dockerCompose = (args: string[]) =>
    run('docker-compose', ['-p', composeProject, '-f', file, ...args], { env: { ...process.env, ...composeEnv }, timeout: 120_000 });
  const hostwrightApply = async () => {
    const applied = await runCli(['apply', '--local', '-f', file, '--project-name', hostwrightProject], hostwrightEnv);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-parity-'));
    file = join(dir, 'compose.yaml');
    await writeFile(file, COMPOSE_FILE);
    const [composePort, hostwrightPort] = [await freePort(), await freePort()];
    composeEnv = { WEB_PORT: String(composePort) };
    hostwrightEnv = { WEB_PORT: String(hostwrightPort), HOSTWRIGHT_DATA_DIR: join(dir, 'data') };
    sides.compose = {
      containers: () => running('com.docker.compose.project', composeProject, 'com.docker.compose.service'),
      port: composePort,
      recreateApi: async () => {
        await dockerCompose(['up', '-d', '--force-recreate']);
      },
    };
    sides.hostwright = {
      containers: () => running(LABELS.project, hostwrightProject, LABELS.service),
      port: hostwrightPort,
      recreateApi: async () => {
        const api = (await sides.hostwright.containers()).get('api');
        assert.ok(api, 'api runs');
        await docker.getContainer(api).remove({ force: true });
        await hostwrightApply();
      },
    };
  });

  after(async () => {
    await dockerCompose(['down', '-v', '-t', '1']).catch(() => undefined);
    if (hostwrightEnv) {
      const empty = join(dir, 'empty.yaml');
      await writeFile(empty, `project: ${hostwrightProject}\nservices: {}\n`);
      await runCli(['apply', '--local', '-f', empty, '--allow-empty'], hostwrightEnv);
    }
    await removeProject(hostwrightProject);
    await rm(dir, { recursive: true, force: true });
  });

  it('both bring the app up: docker-compose up -d and hostwright apply --local -f', async () => {
    await dockerCompose(['up', '-d']);
    await hostwrightApply();
    for (const side of Object.values(sides)) assert.deepEqual([...(await side.containers()).keys()].sort(), ['api', 'web']);
  });

  it('services reach each other by service name on both', async () => {
    for (const [name, side] of Object.entries(sides)) {
      const containers = await side.containers();
      const web = containers.get('web') ?? '';
      const api = containers.get('api') ?? '';
      assert.equal(await insideUntilOk(web, 'wget -q -O- http://api:8080/'), 'hello from api', `${name}: web → api`);
      assert.equal(await insideUntilOk(api, 'wget -q -O- http://web:8080/'), 'web says hi', `${name}: api → web`);
    }
  });

  it('the published port answers on 127.0.0.1 on both', async () => {
    for (const [name, side] of Object.entries(sides)) {
      const body = await waitFor(`${name}: 127.0.0.1:${side.port} answers`, async () => {
        const response = await fetch(`http://127.0.0.1:${side.port}/`).catch(() => undefined);
        return response?.ok ? await response.text() : undefined;
      });
      assert.equal(body.trim(), 'web says hi', name);
    }
  });

  it('the environment inside each service is the same on both', async () => {
    const compose = await sides.compose.containers();
    const hostwright = await sides.hostwright.containers();
    for (const service of ['api', 'web']) {
      const expected = await environmentOf(compose.get(service) ?? '');
      const actual = await environmentOf(hostwright.get(service) ?? '');
      assert.deepEqual(actual, expected, service);
    }
    assert.equal((await environmentOf(hostwright.get('api') ?? '')).TIER, 'backend', 'the ${TIER:-backend} default');
  });

  it('data in the named volume survives a re-create of the container on both', async () => {
    for (const [name, side] of Object.entries(sides)) {
      const before = (await side.containers()).get('api') ?? '';
      const written = await inside(before, `echo "kept by ${name}" > /data/note`);
      assert.equal(written.code, 0, written.output);
      await side.recreateApi();
      const after = (await side.containers()).get('api') ?? '';
      assert.ok(after && after !== before, `${name}: the api container was re-created`);
      const read = await inside(after, 'cat /data/note');
      assert.equal(read.output, `kept by ${name}`, name);
    }
  });

  it('each side labels its own objects: Hostwright has its project, docker-compose its own', async () => {
    const ours = await projectContainers(hostwrightProject);
    assert.equal(ours.length, 2);
    assert.ok(ours.every((container) => !container.Labels['com.docker.compose.project']), 'Hostwright does not pose as docker-compose');
  });
});
