import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorkload, looksLikeCompose } from '../../coordinator/workload-file.js';
import { toDockerCreateOptions } from '../../agent/runtime/docker-container.js';
import { requiredSchema } from '../../shared/desired-schema.js';
import { runtimeConfigOf, serviceSpecSchema } from '../../shared/fleet-spec.js';
import { composeError, readCompose } from '../lib/compose-read.js';

// The forms real projects' compose files use (issue 26), read with compose's meaning.


const read = readCompose;
const readError = composeError;

describe('compose files as projects publish them', () => {
  it('restarts nothing unless restart: says so (compose\'s default), x-hostwright.restart setting the file\'s default', () => {
    const text = 'services:\n  init: {image: x}\n  web: {image: x, restart: always}\n  api: {image: x, deploy: {restart_policy: {condition: on-failure}}}\n';
    const { fleet } = read(text);
    assert.deepEqual([fleet.services.init?.restart, fleet.services.web?.restart, fleet.services.api?.restart], ['no', 'always', 'on-failure']);
    assert.equal(read(`x-hostwright: {restart: unless-stopped}\n${text}`).fleet.services.init?.restart, 'unless-stopped');
    assert.equal(read(`x-hostwright: {restart: unless-stopped}\n${text}`).fleet.services.web?.restart, 'always');
    assert.match(readError(`x-hostwright: {restart: sometimes}\n${text}`), /compose\.yaml:1:\d+ x-hostwright\.restart: expected one of no, always, on-failure, on-failure:<n>, unless-stopped/);
  });

  it('carries a restart retry limit (on-failure:<n>, or deploy.restart_policy.max_attempts) to the engine\'s MaximumRetryCount', () => {
    const { fleet } = read('services:\n  kong: {image: x, restart: "on-failure:5"}\n  api: {image: x, deploy: {restart_policy: {condition: on-failure, max_attempts: "${TRIES:-3}"}}}\n');
    assert.deepEqual([fleet.services.kong?.restart, fleet.services.api?.restart], ['on-failure:5', 'on-failure:3']);
    const kong = fleet.services.kong as NonNullable<typeof fleet.services.kong>;
    assert.deepEqual(toDockerCreateOptions({ name: 'k', config: runtimeConfigOf(kong), env: {}, identityLabels: {} } as never).HostConfig?.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 5 });
    // An agent before 0.3.0 would refuse the value by its own schema: the document says it needs schema 4.
    assert.deepEqual(requiredSchema({ hostId: 'h', project: 'p', revision: 1, services: { kong } } as never).features.map((feature) => `${feature.schema} ${feature.name}`), ['4 a restart retry limit (restart: on-failure:<n>)']);
    assert.match(readError('services:\n  a: {image: x, restart: "on-failure:x"}\n'), /compose\.yaml:2:\d+ services\.a\.restart: expected "no", "always", "on-failure", "on-failure:<max retries>"/);
    assert.match(readError('services:\n  a: {image: x, deploy: {restart_policy: {condition: any, max_attempts: 3}}}\n'), /compose\.yaml:2:\d+ services\.a\.deploy\.restart_policy\.max_attempts: the engine limits restarts under condition: on-failure only/);
  });

  it('takes every volume flag compose takes, alone or combined, and names an unknown one', () => {
    const flags = ['z', 'Z', 'ro,z', 'rw,Z', 'nocopy', 'cached', 'delegated', 'consistent', 'rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave', 'ro,rslave'];
    const volumes = flags.map((flag, index) => (flag === 'nocopy' ? `data:/n${index}:${flag}` : `/srv/d${index}:/d${index}:${flag}`));
    const { fleet } = read(`services:\n  a:\n    image: x\n    volumes: ${JSON.stringify(volumes)}\nvolumes: {data: {}}\n`);
    assert.deepEqual(fleet.services.a?.volumes, volumes);
    assert.match(readError('services:\n  a:\n    image: x\n    volumes: ["/srv:/srv:ro,zz"]\n'), /compose\.yaml:4:15 services\.a\.volumes\[0\]: unknown volume flag "zz" \(expected ro, rw, z, Z, nocopy/);
    // An agent before 0.2.0 reads ro and rw only: the document says it needs schema 2.
    const service = serviceSpecSchema.parse({ image: 'x', volumes: ['/srv:/srv:z'] });
    assert.ok(requiredSchema({ hostId: 'h', project: 'p', revision: 1, services: { a: service } } as never).features.some((feature) => feature.name.startsWith('short-syntax volume flags')));
  });

  it('keeps a lone "$" as written, "$$" as "$", and a single-quoted .env or env_file value literal', () => {
    const files = new Map([['/srv/shop/app.env', "RAW='$OTHER'\nCOOKED=\"$OTHER\"\nPLAIN=$OTHER\n"]]);
    const { fleet } = read('services:\n  a:\n    image: x\n    command: ["sh", "-c", "echo $ 5 and $$HOME # costs $"]\n    env_file: app.env\n    environment: {LIT: "${LIT}", FROM: "${FROM}"}\n', {
      dotenv: { name: '.env', text: "LIT='a$OTHER'\nFROM=a$OTHER\nOTHER=x\n" },
      environment: { OTHER: 'x' },
      readEnvFile: (path) => files.get(path) ?? assert.fail(path),
    });
    assert.deepEqual(fleet.services.a?.command, ['sh', '-c', 'echo $ 5 and $HOME # costs $']);
    assert.deepEqual(fleet.services.a?.env, { RAW: '$OTHER', COOKED: 'x', PLAIN: 'x', LIT: 'a$OTHER', FROM: 'ax' });
  });

  it('casts interpolated text where the schema wants a boolean or a number', () => {
    const { fleet } = read('services:\n  a:\n    image: x\n    read_only: ${RO}\n    tty: "yes"\n    healthcheck: {test: ["CMD", "true"], retries: "${RETRIES}"}\nnetworks:\n  default: {enable_ipv6: "false", internal: "${INTERNAL:-false}"}\n', { environment: { RO: 'false', RETRIES: '3' } });
    assert.equal(fleet.services.a?.read_only, false);
    assert.equal(fleet.services.a?.tty, true);
    assert.equal(fleet.services.a?.healthcheck?.retries, 3);
    assert.deepEqual(fleet.networks?.default, { enable_ipv6: false, internal: false });
  });

  it('selects profiles from COMPOSE_PROFILES and names the project from COMPOSE_PROJECT_NAME, in .env or the shell', () => {
    const text = 'services:\n  a: {image: x}\n  b: {image: x, profiles: [feed]}\n  c: {image: x, profiles: [other]}\n';
    const fromDotenv = read(text, { dotenv: { name: '.env', text: 'COMPOSE_PROFILES=feed, extra\nCOMPOSE_PROJECT_NAME=selfhosted\n' } });
    assert.deepEqual(Object.keys(fromDotenv.fleet.services), ['a', 'b']);
    assert.equal(fromDotenv.fleet.project, 'selfhosted');
    const fromShell = read(text, { environment: { COMPOSE_PROFILES: 'other', COMPOSE_PROJECT_NAME: 'shell' }, dotenv: { name: '.env', text: 'COMPOSE_PROFILES=feed\n' } });
    assert.deepEqual(Object.keys(fromShell.fleet.services), ['a', 'c']);
    assert.equal(fromShell.fleet.project, 'shell');
    // --profile and --project-name win over the variables.
    const flags = read(text, { profiles: ['feed'], projectName: 'flag', environment: { COMPOSE_PROFILES: 'other', COMPOSE_PROJECT_NAME: 'shell' } });
    assert.deepEqual([Object.keys(flags.fleet.services), flags.fleet.project], [['a', 'b'], 'flag']);
  });

  it('runs tty, stdin_open and platform on the container; attach has no effect; platform "" is none', () => {
    const { fleet } = read('services:\n  a: {image: x, tty: true, stdin_open: true, attach: false, platform: linux/amd64}\n  b: {image: x, platform: ""}\n');
    assert.equal(fleet.services.a?.tty, true);
    assert.equal(fleet.services.a?.stdin_open, true);
    assert.equal(fleet.services.a?.platform, 'linux/amd64');
    assert.equal(fleet.services.b?.platform, undefined);
    const options = toDockerCreateOptions({ name: 'x', config: runtimeConfigOf(fleet.services.a as never), env: {}, identityLabels: {} }) as Record<string, unknown>;
    assert.deepEqual([options.Tty, options.OpenStdin, options.platform], [true, true, 'linux/amd64']);
    assert.match(readError('services:\n  a: {image: x, platform: amd64}\n'), /services\.a\.platform: expected "os\/arch\[\/variant\]"/);
  });

  it('resolves extends from the same file and from another, merged as compose merges', () => {
    const files = new Map([['/srv/shop/common/base.yaml', 'services:\n  base:\n    image: base:1\n    environment: {A: "1", B: "1"}\n    volumes: ["./conf:/conf"]\n']]);
    const { fleet } = read(
      [
        'services:',
        '  web:',
        '    extends: {file: common/base.yaml, service: base}',
        '    environment: {B: "2"}',
        '  worker:',
        '    extends: web',
        '    command: work',
        '  chained:',
        '    extends: {service: worker}',
        '    image: other:2',
      ].join('\n'),
      { readEnvFile: (path) => files.get(path) ?? assert.fail(path) },
    );
    assert.equal(fleet.services.web?.image, 'base:1');
    assert.deepEqual(fleet.services.web?.env, { A: '1', B: '2' });
    assert.deepEqual(fleet.services.web?.volumes, ['/srv/shop/common/conf:/conf']);
    assert.deepEqual(fleet.services.worker?.command, ['work']);
    assert.deepEqual(fleet.services.worker?.env, { A: '1', B: '2' });
    assert.equal(fleet.services.chained?.image, 'other:2');
    assert.match(readError('services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n'), /extends forms a cycle: a → b → a/);
    assert.match(readError('services:\n  a: {image: x, extends: nothere}\n'), /compose\.yaml:2:\d+ services\.a\.extends: there is no service nothere to extend/);
    assert.match(readError('services:\n  a: {extends: {file: gone.yaml, service: b}}\n'), /cannot read \/srv\/shop\/gone\.yaml/);
  });

  it('uses the image beside build and says so; refuses build alone, naming build', () => {
    const withImage = read('services:\n  a:\n    image: app:1\n    build: .\n');
    assert.equal(withImage.fleet.services.a?.image, 'app:1');
    assert.deepEqual(withImage.warnings, ['compose.yaml:4:5 services.a.build: the image app:1 is used (build: is for building it, which hosts do not do)']);
    assert.match(readError('services:\n  a:\n    build: .\n'), /compose\.yaml:3:12 services\.a\.build: cannot run on a fleet: .*--ignore-unsupported build/);
  });

  it('makes a link\'s alias a network alias of the linked service, and refuses a link to no service', () => {
    const { fleet } = read('services:\n  web: {image: x, links: ["db:database", "cache"]}\n  db: {image: p}\n  cache: {image: r}\n');
    assert.deepEqual(fleet.services.db?.networks, { default: { aliases: ['database'] } });
    assert.equal(fleet.services.cache?.networks, undefined);
    assert.match(readError('services:\n  web: {image: x, links: ["nothere"]}\n'), /services\.web\.links\[0\]: there is no service nothere/);
  });

  it('reads labels whose value is a number, a boolean or absent, and a port whose host IP is empty', () => {
    const { fleet } = read('services:\n  a:\n    image: x\n    labels: {n: 5, b: true, e: null, s: text}\n    ports: ["${BIND:-}:443:443", ":8080:80/udp"]\n  b:\n    image: x\n    labels: [flag, k=v]\n');
    assert.deepEqual(fleet.services.a?.labels, { n: '5', b: 'true', e: '', s: 'text' });
    assert.deepEqual(fleet.services.a?.ports, ['443:443', '8080:80/udp']);
    assert.deepEqual(fleet.services.b?.labels, { flag: '', k: 'v' });
  });

  it('makes an anonymous volume a project volume of its own, and refuses one shared by several replicas', () => {
    const { fleet } = read('services:\n  db:\n    image: x\n    volumes: ["/var/lib/data", {type: volume, target: /cache}]\n');
    assert.deepEqual(fleet.services.db?.volumes, ['db_var_lib_data:/var/lib/data', { type: 'volume', target: '/cache', source: 'db_cache' }]);
    assert.deepEqual(Object.keys(fleet.volumes ?? {}), ['db_var_lib_data', 'db_cache']);
    assert.match(readError('services:\n  db:\n    image: x\n    scale: 2\n    volumes: ["/data"]\n'), /services\.db\.volumes\[0\]: an anonymous volume is each container's own/);
  });

  it('leaves out a created network\'s name: and says so; {disable: false} alone keeps the image\'s health check', () => {
    const workload = read('services:\n  a:\n    image: x\n    healthcheck: {disable: false}\n  b:\n    image: x\n    healthcheck: {disable: false, test: ["CMD", "true"]}\nnetworks:\n  default:\n    name: shop_net\n');
    assert.deepEqual(workload.fleet.networks?.default, {});
    assert.equal(workload.fleet.services.a?.healthcheck, undefined);
    assert.deepEqual(workload.fleet.services.b?.healthcheck, { test: ['CMD', 'true'] });
    assert.deepEqual(workload.warnings, ['compose.yaml:10:5 networks.default.name: the network is created as <project>_default ("shop_net" is not used: a name of its own is for external: true networks)']);
  });

  it('takes only keys that exist and that the file uses in --ignore-unsupported', () => {
    const text = 'services:\n  a: {image: x, cpu_count: 2}\n';
    assert.deepEqual(read(text, { ignoreUnsupported: ['cpu_count'] }).warnings, ['compose.yaml:2:17 services.a.cpu_count: left out (--ignore-unsupported cpu_count)']);
    assert.equal(readError(text, { ignoreUnsupported: ['cpu_count', 'secrets', 'cpu_cuont'] }), [
      'compose.yaml: --ignore-unsupported secrets: the files use no secrets to leave out; remove it from the list',
      'compose.yaml: --ignore-unsupported cpu_cuont: not a compose key (give keys as a refusal names them: build, secrets, deploy.labels …)',
    ].join('\n'));
    // A supported key can be left out too, and is then listed.
    assert.deepEqual(read('services:\n  a: {image: x, volumes: ["/srv:/srv"]}\n', { ignoreUnsupported: ['volumes'] }).warnings, ['compose.yaml:2:17 services.a.volumes: left out (--ignore-unsupported volumes)']);
  });

  it('tells a compose file by its top-level keys, whatever number of aliases it holds', () => {
    const services = Array.from({ length: 150 }, (_, index) => `  s${index}: *common`).join('\n');
    const text = `x-common: &common\n  image: x\nservices:\n${services}\n`;
    assert.equal(looksLikeCompose(text), true);
    assert.equal(Object.keys(read(text).fleet.services).length, 150);
  });

  it('reads the files COMPOSE_FILE names when -f names the directory, from .env or the shell', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'hw-compose-file-'));
    try {
      writeFileSync(join(directory, 'compose.yaml'), 'services:\n  a: {image: x}\n');
      writeFileSync(join(directory, 'base.yml'), 'services:\n  b: {image: x}\n');
      writeFileSync(join(directory, 'extra.yml'), 'services:\n  c: {image: x}\n');
      writeFileSync(join(directory, '.env'), 'COMPOSE_FILE=base.yml:extra.yml\n');
      const fromDotenv = await loadWorkload({ files: [directory], projectName: 'p' }, {});
      assert.deepEqual(Object.keys(fromDotenv.fleet.services), ['b', 'c']);
      const fromShell = await loadWorkload({ files: [directory], projectName: 'p' }, { COMPOSE_FILE: 'compose.yaml,extra.yml', COMPOSE_PATH_SEPARATOR: ',' });
      assert.deepEqual(Object.keys(fromShell.fleet.services), ['a', 'c']);
      // A file named with -f is read as it is.
      assert.deepEqual(Object.keys((await loadWorkload({ files: [join(directory, 'compose.yaml')], projectName: 'p' }, {})).fleet.services), ['a']);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
