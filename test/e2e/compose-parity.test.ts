import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { loadWorkload } from '../../coordinator/workload-file.js';
import { LABELS } from '../../shared/labels.js';
import { uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { inside } from '../lib/container-exec.js';
import { docker, projectContainers, removeProject } from '../lib/docker-harness.js';
import { freePort } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';
import { NO_PUBLISHED_CORPUS, publishedFiles } from '../lib/published-corpus.js';

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

// The resolved model (`docker-compose config`: interpolated, .env and env_file read, anchors merged)
// of every published file in the corpus that Debian's docker-compose 1.29 reads, beside Hostwright's:
// the same services, images, environment, restart policies and published ports.
describe('published compose files: docker-compose config and Hostwright agree on the resolved model', { skip: NO_PUBLISHED_CORPUS }, () => {
  const entries = publishedFiles();
  /** "[ip:][host:]target[/proto]" as "host:target/proto" (the host IP aside: 1.29 writes it in either form). */
  const shortPortKey = (port: string): string => {
    const parts = port.split('/')[0]?.split(':') ?? [];
    const target = parts.at(-1) ?? '';
    const host = parts.length >= 2 ? parts.at(-2) : '';
    return `${host}:${target}/${port.includes('/udp') ? 'udp' : 'tcp'}`;
  };
  const longPortKey = (port: { published?: number | string; target: number; protocol?: string }): string => `${port.published ?? ''}:${port.target}/${port.protocol ?? 'tcp'}`;
  const textOf = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
  const environmentOf = (value: unknown): Record<string, string> =>
    Object.fromEntries(Object.entries((value ?? {}) as Record<string, unknown>).filter(([, entry]) => entry !== null && entry !== undefined).map(([key, entry]) => [key, textOf(entry)]));

  it('agree on every file docker-compose 1.29 reads (at least 15 of them)', async (t) => {
    const compared: string[] = [];
    // docker-compose takes a second or two to start: three at a time.
    const configs = new Map<string, string | undefined>();
    for (let index = 0; index < entries.length; index += 3) {
      await Promise.all(
        entries.slice(index, index + 3).map(async ({ name, file }) => {
          const result = await run('docker-compose', ['-f', file, 'config'], { env: { PATH: process.env.PATH ?? '', HOME: '/home/user' }, timeout: 60_000 }).catch(() => undefined);
          configs.set(name, result?.stdout);
        }),
      );
    }
    for (const { name, file } of entries) {
      const output = configs.get(name);
      if (output === undefined) continue;
      let workload: Awaited<ReturnType<typeof loadWorkload>>;
      try {
        workload = await loadWorkload({ files: [file], profiles: [], ignoreUnsupported: [] }, { HOME: '/home/user' });
      } catch {
        // Refused by Hostwright (build-only services, secrets, include, IPv6): the corpus test names each.
        continue;
      }
      const composeServices = (parseYaml(output) as { services: Record<string, Record<string, unknown>> }).services;
      // docker-compose 1.29's config lists every service, whatever its profiles: compare those Hostwright runs.
      const names = Object.keys(workload.fleet.services).sort();
      assert.ok(names.every((service) => Object.hasOwn(composeServices, service)), `${name}: ${names.join(', ')}`);
      for (const service of names) {
        const ours = workload.fleet.services[service];
        const theirs = composeServices[service] ?? {};
        const at = `${name}: ${service}`;
        assert.equal(ours?.image, theirs.image, `${at} image`);
        // config writes a "$" of a value as "$$", so that its output reads back as the same value.
        const theirEnvironment = Object.fromEntries(Object.entries(environmentOf(theirs.environment)).map(([key, value]) => [key, value.replaceAll('$$', '$')]));
        assert.deepEqual(environmentOf(ours?.env), theirEnvironment, `${at} environment`);
        assert.equal(ours?.restart, theirs.restart ?? 'no', `${at} restart`);
        const published = ((theirs.ports ?? []) as unknown[]).map((port) => (typeof port === 'string' || typeof port === 'number' ? shortPortKey(String(port)) : longPortKey(port as { published?: number | string; target: number; protocol?: string }))).sort();
        assert.deepEqual((ours?.ports ?? []).map(shortPortKey).sort(), published, `${at} ports`);
      }
      compared.push(name);
    }
    t.diagnostic(`compared ${compared.length} of ${entries.length}: ${compared.join(', ')}`);
    assert.ok(compared.length >= 15, `compared ${compared.length}: ${compared.join(', ')}`);
  });
});
