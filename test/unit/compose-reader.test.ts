import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPOSE_DEPLOY_KEYS, COMPOSE_SERVICE_KEYS, COMPOSE_TOP_KEYS, composeKeysMarkdown } from '../../coordinator/compose/compose-keys.js';
import { mergeComposeFiles, mappingForms } from '../../coordinator/compose/compose-merge.js';
import { translateCompose } from '../../coordinator/compose/compose-translate.js';
import { interpolateString, interpolateTree } from '../../coordinator/compose/interpolate.js';
import { normalizeProjectName, projectNameOf } from '../../coordinator/compose/project-name.js';
import { parseFleetFile } from '../../coordinator/fleet-file.js';
import { placeServices } from '../../coordinator/placement.js';
import { FormContext } from '../../coordinator/service-forms.js';
import { fleetTargets } from '../../coordinator/fleet-targets.js';
import { withFileDefaults } from '../../coordinator/cli/commands/rollout/rollout-run.js';
import { looksLikeCompose } from '../../coordinator/workload-file.js';
import { composeError, readCompose } from '../lib/compose-read.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const read = readCompose;
const readError = composeError;

describe('interpolation', () => {
  const env: Record<string, string> = { SET: 'value', EMPTY: '' };
  const lookup = (name: string): string | undefined => env[name];
  it('substitutes ${VAR}, $VAR and each default and error form as compose does', () => {
    const cases: [string, string][] = [
      ['${SET}', 'value'],
      ['$SET/x', 'value/x'],
      ['a${SET}b', 'avalueb'],
      ['${UNSET:-d}', 'd'],
      ['${EMPTY:-d}', 'd'],
      ['${EMPTY-d}', ''],
      ['${UNSET-d}', 'd'],
      ['${SET:+alt}', 'alt'],
      ['${EMPTY:+alt}', ''],
      ['${EMPTY+alt}', 'alt'],
      ['${UNSET:-${SET}-x}', 'value-x'],
      ['$$SET costs $$5', '$SET costs $5'],
      ['${SET:?required}', 'value'],
    ];
    for (const [template, expected] of cases) assert.equal(interpolateString(template, lookup), expected, template);
  });

  it('refuses a required variable that is missing or empty, and a malformed template', () => {
    assert.throws(() => interpolateString('${UNSET:?set it}', lookup), /required variable UNSET is not set: set it/);
    assert.throws(() => interpolateString('${EMPTY:?}', lookup), /required variable EMPTY is empty/);
    assert.equal(interpolateString('${EMPTY?}', lookup), '');
    assert.throws(() => interpolateString('${UNSET?no}', lookup), /UNSET is not set: no/);
    assert.throws(() => interpolateString('${SET', lookup), /missing "}"/);
    assert.equal(interpolateString('cost: $5 and $', lookup), 'cost: $5 and $');
    assert.throws(() => interpolateString('${SET!x}', lookup), /unexpected "!"/);
  });

  it('interpolates values, not keys, reports unset variables once and each problem at its path', () => {
    const result = interpolateTree({ services: { web: { image: '${UNSET}x', environment: { $KEY: '${UNSET}', B: '${BAD' } } } }, lookup);
    assert.deepEqual(result.value, { services: { web: { image: 'x', environment: { $KEY: '', B: '${BAD' } } } });
    assert.deepEqual(result.unset, ['UNSET']);
    assert.deepEqual(result.problems.map((problem) => problem.path), [['services', 'web', 'environment', 'B']]);
  });

  it('warns about an unset variable and an obsolete version:, as compose does', () => {
    assert.deepEqual(read('version: "3.8"\nservices:\n  a: {image: "x:${TAG}"}\n').warnings, ['compose.yaml: the variable TAG is not set; it stands for an empty string', 'compose.yaml: version is obsolete and has no effect; remove it']);
  });
});

describe('project name', () => {
  it('normalises a directory name as compose does', () => {
    assert.equal(normalizeProjectName('My App.v2'), 'myappv2');
    assert.equal(normalizeProjectName('__web-Site_1'), 'web-site_1');
    assert.equal(normalizeProjectName('ünïcode'), 'ncode');
  });
  it('takes name: first, then --project-name, then the directory', () => {
    assert.deepEqual(projectNameOf({ fromFile: 'shop', fromFlag: 'flag', directory: '/x/Dir' }), { name: 'shop', from: 'name' });
    assert.deepEqual(projectNameOf({ fromFile: undefined, fromFlag: 'flag', directory: '/x/Dir' }), { name: 'flag', from: 'flag' });
    assert.deepEqual(projectNameOf({ fromFile: undefined, fromFlag: undefined, directory: '/x/My.Dir' }), { name: 'mydir', from: 'directory' });
    assert.equal(read('services: {a: {image: x}}\n').fleet.project, 'shop');
    assert.equal(read('services: {a: {image: x}}\n', { projectName: 'other' }).fleet.project, 'other');
    assert.equal(read('name: named\nservices: {a: {image: x}}\n', { projectName: 'other' }).fleet.project, 'named');
  });
});

describe('merging compose files', () => {
  it('merges mappings by key, appends lists once, replaces command, unites ports and volumes by what they bind', () => {
    const base = { services: { web: mappingForms({ image: 'a', command: ['x', 'y'], environment: ['A=1', 'B=2'], dns: ['1.1.1.1'], ports: ['80:80', '443:443'], volumes: ['data:/data', '/etc/a:/etc/a'] }) } };
    const override = { services: { web: mappingForms({ image: 'b', command: ['z'], environment: { B: '3', C: '4' }, dns: ['1.1.1.1', '8.8.8.8'], ports: ['80:80'], volumes: ['other:/data'] }), db: { image: 'p' } } };
    assert.deepEqual(mergeComposeFiles(base, override), {
      services: {
        web: { image: 'b', command: ['z'], environment: { A: '1', B: '3', C: '4' }, dns: ['1.1.1.1', '8.8.8.8'], ports: ['80:80', '443:443'], volumes: ['other:/data', '/etc/a:/etc/a'] },
        db: { image: 'p' },
      },
    });
  });

  it('points an error in the override file at its line there', () => {
    const message = readError([
      { name: 'compose.yaml', text: 'services:\n  web:\n    image: nginx\n' },
      { name: 'compose.override.yaml', text: 'services:\n  web:\n    ports:\n      - "99999:80"\n' },
    ]);
    assert.match(message, /^compose\.override\.yaml:4:9 services\.web\.ports\[0\]: port numbers must be 1-65535/);
  });
});

describe('short and long syntax', () => {
  it('splits a command string as compose does, keeping $ and quotes, and refuses shell operators', () => {
    const fleet = read('services:\n  a:\n    image: x\n    command: sh -c \'echo "$$HOME" *.txt\' a\\ b\n    entrypoint: "/bin/tini --"\n').fleet;
    assert.deepEqual(fleet.services.a?.command, ['sh', '-c', 'echo "$HOME" *.txt', 'a b']);
    assert.deepEqual(fleet.services.a?.entrypoint, ['/bin/tini', '--']);
    assert.match(readError('services:\n  a:\n    image: x\n    command: run | tee log\n'), /^compose\.yaml:4:14 services\.a\.command: the shell operator "\|" needs a shell/);
    assert.match(readError('services:\n  a:\n    image: x\n    command: "run # note"\n'), /"#" starts a shell comment/);
  });

  it('reads ports as numbers, ranges and the long syntax, expose ranges, labels and environment lists', () => {
    const fleet = read(
      [
        'services:',
        '  a:',
        '    image: x',
        '    ports: [80, "8000-8001:9000-9001", "127.0.0.1:53:53/udp", {target: 443, published: 8443}, {target: 9, host_ip: 127.0.0.1}]',
        '    expose: ["7000-7001", 6000]',
        '    labels: [a=1, b=two words]',
        '    environment: [A=1, FROM_SHELL, NOT_SET]',
      ].join('\n'),
      { environment: { FROM_SHELL: 'shell' } },
    ).fleet;
    const a = fleet.services.a;
    assert.deepEqual(a?.ports, ['80', '8000:9000', '8001:9001', '127.0.0.1:53:53/udp', '8443:443', '127.0.0.1:9']);
    assert.deepEqual(a?.expose, ['7000', '7001', 6000]);
    assert.deepEqual(a?.labels, { a: '1', b: 'two words' });
    assert.deepEqual(a?.env, { A: '1', FROM_SHELL: 'shell' });
  });

  it('reads durations with several units, byte sizes and a healthcheck test string', () => {
    const fleet = read('services:\n  a:\n    image: x\n    stop_grace_period: 1m30s\n    mem_limit: 1gb\n    shm_size: 512m\n    healthcheck:\n      test: curl -f http://localhost || exit 1\n      interval: 1h2m\n      timeout: 1500ms\n').fleet;
    const a = fleet.services.a;
    assert.equal(a?.stop_timeout, '90s');
    assert.equal(a?.mem_limit, '1gb');
    assert.equal(a?.shm_size, '512m');
    assert.deepEqual(a?.healthcheck, { test: ['CMD-SHELL', 'curl -f http://localhost || exit 1'], interval: '3720s', timeout: '1500ms' });
  });

  it('translates depends_on and long-syntax volumes into the shapes the model agreed on', () => {
    const context = new FormContext();
    const compose = {
      services: {
        web: mappingForms({ image: 'x', depends_on: ['db'], volumes: [{ type: 'bind', source: './conf', target: '/etc/x', read_only: true }, { type: 'volume', source: 'data', target: '/data', volume: { nocopy: true } }, { type: 'tmpfs', target: '/t', tmpfs: { size: '64m' } }] }),
        api: mappingForms({ image: 'x', depends_on: { db: { condition: 'service_healthy', restart: true } } }),
        db: { image: 'p' },
      },
    };
    const { fleet } = translateCompose(compose, { projectName: 'p', directory: '/srv/app', profiles: [], ignoreUnsupported: new Set(), lookup: () => undefined }, context);
    assert.deepEqual(context.problems, []);
    const services = fleet.services as Record<string, Record<string, unknown>>;
    assert.deepEqual(services.web?.depends_on, { db: { condition: 'service_started' } });
    assert.deepEqual(services.api?.depends_on, { db: { condition: 'service_healthy', restart: true } });
    assert.deepEqual(services.web?.volumes, [
      { type: 'bind', source: '/srv/app/conf', target: '/etc/x', read_only: true },
      { type: 'volume', source: 'data', target: '/data', volume: { nocopy: true } },
      { type: 'tmpfs', target: '/t', tmpfs: { size: '64m' } },
    ]);
  });

  it('gives the native fleet file the everyday forms, with errors at the line written', () => {
    const fleet = parseFleetFile('project: p\nservices:\n  web:\n    image: x\n    command: "httpd -f -p 8080"\n    ports: [8080]\n    environment: [A=1]\n    replicas: "2"\n', 'fleet.yaml');
    assert.deepEqual(fleet.services.web?.command, ['httpd', '-f', '-p', '8080']);
    assert.deepEqual(fleet.services.web?.ports, ['8080']);
    assert.deepEqual(fleet.services.web?.env, { A: '1' });
    assert.equal(fleet.services.web?.replicas, 2);
    assert.throws(() => parseFleetFile('project: p\nservices:\n  web:\n    image: x\n    environment:\n      - A=1\n      - "B C=2"\n', 'fleet.yaml'), { message: 'fleet.yaml:7:9 services.web.env: invalid key "B C": env names have no "=" or spaces' });
    assert.throws(() => parseFleetFile('project: p\nservices:\n  web:\n    image: x\n    env: {A: "1"}\n    environment: [B=2]\n', 'fleet.yaml'), /fleet\.yaml:6:5 services\.web: env and environment name the same setting/);
  });
});

describe('deploy, x-hostwright and placement', () => {
  const text = [
    'x-hostwright:',
    '  rollout: {canary: 2}',
    'services:',
    '  web:',
    '    image: x',
    '    deploy:',
    '      replicas: 2',
    '      resources: {limits: {cpus: "0.5", memory: 256m, pids: 100}, reservations: {memory: 64m}}',
    '      restart_policy: {condition: any}',
    '      update_config: {parallelism: 2, delay: 5s, monitor: 10s, order: start-first, failure_action: rollback}',
    '      placement: {constraints: ["node.labels.role == web", "node.hostname != h3", "node.labels.zone != b"]}',
  ].join('\n');

  it('folds deploy: into the service and its update_config into the rollout defaults', () => {
    const { fleet, rollout } = read(text);
    const web = fleet.services.web;
    assert.equal(web?.replicas, 2);
    assert.equal(web?.cpus, 0.5);
    assert.equal(web?.mem_limit, '256m');
    assert.equal(web?.mem_reservation, '64m');
    assert.equal(web?.pids_limit, 100);
    assert.equal(web?.restart, 'always');
    assert.equal(web?.update_order, 'start-first');
    assert.deepEqual(rollout, { canary: 2, max_parallel: 2, min_healthy: '15s', on_failure: 'rollback' });
    assert.deepEqual(web?.placement, { selector: { role: 'web' }, exclude: { hosts: ['h3'], labels: { zone: 'b' } } });
  });

  it('places with == and != as Swarm does', () => {
    const { fleet } = read(text);
    const on = (hostId: string, labels: Record<string, string>) => Object.keys(placeServices(fleet, { hostId, labels }));
    assert.deepEqual(on('h1', { role: 'web' }), ['web']);
    assert.deepEqual(on('h3', { role: 'web' }), []);
    assert.deepEqual(on('h2', { role: 'web', zone: 'b' }), []);
    assert.deepEqual(on('h2', { role: 'db' }), []);
  });

  it('refuses a constraint it cannot place by, and placement given twice', () => {
    assert.match(readError('services:\n  a:\n    image: x\n    deploy:\n      placement:\n        constraints: [node.role == manager]\n'), /compose\.yaml:6:23 services\.a\.deploy\.placement\.constraints\[0\]: expected "node\.hostname == <host id>"/);
    assert.match(readError('services:\n  a:\n    image: x\n    x-hostwright: {placement: {hosts: [h1]}}\n    deploy: {placement: {constraints: [node.hostname == h2]}}\n'), /placement is given twice/);
  });
});

describe('a compose file across a fleet', () => {
  const text = [
    'x-hostwright:',
    '  rollout: {canary: 0}',
    'services:',
    '  web:',
    '    image: nginx',
    '    deploy:',
    '      placement: {constraints: [node.labels.role == web, node.hostname != h3]}',
    '      update_config: {parallelism: 2, monitor: 20s, failure_action: rollback}',
    '  db:',
    '    image: postgres',
    '    x-hostwright: {placement: {hosts: [h2]}}',
    '  agent:',
    '    image: node-exporter',
  ].join('\n');

  it('places each service on the hosts its constraints and x-hostwright name', () => {
    const { fleet } = read(text);
    const hosts = [
      { hostId: 'h1', labels: { role: 'web' } },
      { hostId: 'h2', labels: { role: 'db' } },
      { hostId: 'h3', labels: { role: 'web' } },
    ];
    const placed = Object.fromEntries(fleetTargets(fleet, hosts, new Map(), 'c1').map((target) => [target.hostId, Object.keys(target.document.services)]));
    assert.deepEqual(placed, { h1: ['agent', 'web'], h2: ['agent', 'db'], h3: ['agent'] });
  });

  it('gives rollout its defaults from update_config and x-hostwright, a flag given winning', () => {
    const { rollout } = read(text);
    assert.deepEqual(withFileDefaults({}, rollout), { canary: '0', maxParallel: '2', minHealthy: '20s', healthyDeadline: '2m', maxFailures: '0', onFailure: 'rollback', order: 'stop-first', skipOffline: undefined });
    assert.equal(withFileDefaults({ maxParallel: '5' }, rollout).maxParallel, '5');
    assert.deepEqual(withFileDefaults({}, {}), { canary: '1', maxParallel: '1', minHealthy: '10s', healthyDeadline: '2m', maxFailures: '0', onFailure: 'pause', order: 'stop-first', skipOffline: undefined });
  });

  it('refuses services whose update_config differ, unless x-hostwright.rollout settles it', () => {
    const differing = 'services:\n  a: {image: x, deploy: {update_config: {parallelism: 1}}}\n  b: {image: x, deploy: {update_config: {parallelism: 3}}}\n';
    assert.match(readError(differing), /compose\.yaml:3:\d+ services\.b\.deploy\.update_config: the services' update_config differ \(1 and 3 for max_parallel\)/);
    assert.equal(read(`x-hostwright: {rollout: {max_parallel: 2}}\n${differing}`).rollout.max_parallel, 2);
  });
});

describe('what cannot run on a fleet', () => {
  it('names every refused key at its line, and --ignore-unsupported leaves it out', () => {
    const text = 'services:\n  a:\n    image: x\n    cpu_count: 2\n    volumes_from: [b]\n    deploy:\n      endpoint_mode: vip\n  b: {image: x}\n';
    assert.equal(readError(text), [
      'compose.yaml:4:16 services.a.cpu_count: cannot run on a fleet: use cpus (or pass --ignore-unsupported cpu_count to leave it out)',
      'compose.yaml:5:19 services.a.volumes_from: cannot run on a fleet: mount the same named volume in both services (or pass --ignore-unsupported volumes_from to leave it out)',
      'compose.yaml:7:22 services.a.deploy.endpoint_mode: cannot run on a fleet: remove it (no Swarm routing mesh) (or pass --ignore-unsupported deploy.endpoint_mode to leave it out)',
    ].join('\n'));
    const ignored = read(text, { ignoreUnsupported: ['cpu_count', 'volumes_from', 'deploy.endpoint_mode'] });
    assert.deepEqual(Object.keys(ignored.fleet.services), ['a', 'b']);
    assert.deepEqual(ignored.warnings, [
      'compose.yaml:4:5 services.a.cpu_count: left out (--ignore-unsupported cpu_count)',
      'compose.yaml:5:5 services.a.volumes_from: left out (--ignore-unsupported volumes_from)',
      'compose.yaml:7:7 services.a.deploy.endpoint_mode: left out (--ignore-unsupported deploy.endpoint_mode)',
    ]);
  });

  it('runs a service with profiles only when --profile selects one', () => {
    const text = 'services:\n  a: {image: x}\n  b: {image: x, profiles: [debug]}\n  c: {image: x, profiles: [docs, all]}\n';
    assert.deepEqual(Object.keys(read(text).fleet.services), ['a']);
    assert.deepEqual(Object.keys(read(text, { profiles: ['all'] }).fleet.services), ['a', 'c']);
  });

  it('takes container_name as an alias of the one instance each host runs, and refuses it with replicas > 1', () => {
    assert.deepEqual(read('services:\n  db:\n    image: x\n    container_name: main-db\n    x-hostwright: {placement: {hosts: [h1]}}\n').fleet.services.db?.networks, { default: { aliases: ['main-db'] } });
    assert.deepEqual(read('services:\n  db:\n    image: x\n    container_name: main-db\n    networks: [front, back]\nnetworks: {front: {}, back: {}}\n').fleet.services.db?.networks, { front: { aliases: ['main-db'] }, back: { aliases: ['main-db'] } });
    assert.match(readError('services:\n  db:\n    image: x\n    container_name: main-db\n    deploy: {replicas: 2}\n'), /compose\.yaml:4:21 services\.db\.container_name: service db has 2 replicas on each host it runs on/);
    assert.match(readError('services:\n  a: {image: x, container_name: one}\n  b: {image: x, container_name: one}\n'), /services\.b\.container_name: one is already the container_name of service a/);
  });

  it('refuses compose\'s !reset and !override tags at their line rather than merging wrongly', () => {
    assert.equal(readError([{ name: 'compose.yaml', text: 'services:\n  a: {image: x, ports: ["80:80"]}\n' }, { name: 'compose.override.yaml', text: 'services:\n  a:\n    ports: !reset []\n' }]), 'compose.override.yaml:3:12: the YAML tag !reset is not supported (compose\'s merge tags): write the merged value out in the last file instead');
  });

  it('suggests the close key for an unknown one, from the keys the specification allows at that place', () => {
    assert.equal(readError('services:\n  web:\n    image: x\n    healthcheck:\n      test: ["CMD", "true"]\n      retires: 3\n'), 'compose.yaml:6:7 services.web.healthcheck: unknown key "retires" (not in the Compose Specification; did you mean "retries"?)');
    assert.equal(readError('servces:\n  web:\n    image: x\n'), 'compose.yaml:1:1 (root): unknown key "servces" (not in the Compose Specification; did you mean "services"?)');
    assert.equal(readError('services:\n  web:\n    image: x\n    colour: blue\n'), 'compose.yaml:4:5 services.web: unknown key "colour" (not in the Compose Specification)');
  });

  it('checks the Compose Specification schema, each problem at its line', () => {
    assert.equal(readError('services:\n  web:\n    image: x\n    enviroment: {A: "1"}\n    ports: "80:80"\n'), ['compose.yaml:4:5 services.web: unknown key "enviroment" (not in the Compose Specification; did you mean "environment"?)', 'compose.yaml:5:12 services.web.ports: must be array'].join('\n'));
  });
});

describe('telling compose files from fleet files', () => {
  it('goes by the shape', () => {
    assert.equal(looksLikeCompose('project: p\nservices: {}\n'), false);
    assert.equal(looksLikeCompose('services: {a: {image: x}}\n'), true);
    assert.equal(looksLikeCompose('name: shop\n'), true);
    assert.equal(looksLikeCompose('x-hostwright: {}\n'), true);
    assert.equal(looksLikeCompose('a: [\n'), false);
  });
});

describe('the table of compose keys', () => {
  it('covers every key of the Compose Specification schema, and nothing else', () => {
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(readFileSync(join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json'), 'utf8')) as { properties: Record<string, unknown>; definitions: { service: { properties: Record<string, unknown> }; deployment: { properties: Record<string, unknown> } } };
    assert.deepEqual(Object.keys(COMPOSE_TOP_KEYS).sort(), Object.keys(schema.properties).sort());
    assert.deepEqual(Object.keys(COMPOSE_SERVICE_KEYS).sort(), Object.keys(schema.definitions.service.properties).sort());
    assert.deepEqual(Object.keys(COMPOSE_DEPLOY_KEYS).sort(), Object.keys(schema.definitions.deployment.properties).sort());
  });

  it('is the table of docs/fleet-file.md, generated from the code', () => {
    const readme = readFileSync(join(ROOT, 'docs', 'fleet-file.md'), 'utf8');
    const start = readme.indexOf('<!-- compose-keys:start -->');
    const end = readme.indexOf('<!-- compose-keys:end -->');
    assert.ok(start >= 0 && end > start, 'docs/fleet-file.md marks the table with <!-- compose-keys:start --> and <!-- compose-keys:end -->');
    assert.equal(readme.slice(start + '<!-- compose-keys:start -->'.length, end).trim(), composeKeysMarkdown(), 'regenerate with: node dist/test/lib/print-compose-keys.js');
  });
});
