import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { loadFleetFile, parseFleetFile } from '../../coordinator/fleet-file.js';
import { desiredForHost } from '../../coordinator/placement.js';
import { InvalidInputError } from '../../shared/errors.js';
import type { FleetFile } from '../../shared/fleet-spec.js';
import { hostDesiredSchema } from '../../shared/host-desired.js';
import { LINEAR_BOUND, SIZE_FACTOR, measureGrowth } from '../lib/growth.js';
import {
  MAX_ARG_LENGTH,
  MAX_COMMAND_ARGS,
  MAX_CORRELATION_ID_LENGTH,
  MAX_ENV_ENTRIES,
  MAX_FLEET_FILE_BYTES,
  MAX_IMAGE_LENGTH,
  MAX_INSTANCES_PER_HOST,
  MAX_KEY_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MAX_PATH_LENGTH,
  MAX_PLACEMENT_HOSTS,
  MAX_PORTS,
  MAX_REPLICAS,
  MAX_SERVICES,
  MAX_VOLUME_LENGTH,
  MAX_VOLUMES,
  MAX_YAML_NESTING,
  MAX_YAML_NODES,
} from '../../shared/limits.js';

/** Lines joined by newlines, so that a test can count the line numbers it asserts. */
function yamlText(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The message of the InvalidInputError that parsing `text` must throw. */
function parseErrorMessage(text: string): string {
  try {
    parseFleetFile(text, 'fleet.yaml');
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, `expected InvalidInputError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected parseFleetFile to throw');
}

/** A one-service fleet whose fourth line is `field` (so errors about it are on line 4). */
function webWith(field: string, ...more: string[]): string {
  return yamlText('project: shop', 'services:', '  web:', `    ${field}`, '    image: nginx', ...more);
}

const flowList = (count: number, item: (index: number) => string): string => `[${Array.from({ length: count }, (_, i) => item(i)).join(', ')}]`;
const flowMap = (count: number, entry: (index: number) => string): string => `{${Array.from({ length: count }, (_, i) => entry(i)).join(', ')}}`;

/** `limit` is accepted and `limit + 1` refused with `message` at line 4 (column `column`) of `path`. */
function assertListLimit(options: { field: (count: number) => string; limit: number; path: string; column: number; message: string; more?: string[] }): FleetFile {
  const fleet = parseFleetFile(webWith(options.field(options.limit), ...(options.more ?? [])), 'fleet.yaml');
  assert.equal(parseErrorMessage(webWith(options.field(options.limit + 1), ...(options.more ?? []))), `fleet.yaml:4:${options.column} ${options.path}: ${options.message}`);
  return fleet;
}

describe('fleet file limits: each refused with its path and line, and a file at the limit loads', () => {
  it(`services: at most ${MAX_SERVICES}`, () => {
    const fleetOf = (count: number) => yamlText('project: shop', 'services:', ...Array.from({ length: count }, (_, i) => `  s${i}: {image: x}`));
    assert.equal(Object.keys(parseFleetFile(fleetOf(MAX_SERVICES), 'fleet.yaml').services).length, MAX_SERVICES);
    assert.equal(parseErrorMessage(fleetOf(MAX_SERVICES + 1)), `fleet.yaml:2:1 services: at most ${MAX_SERVICES} services, got ${MAX_SERVICES + 1}`);
  });

  it(`replicas: at most ${MAX_REPLICAS}`, () => {
    assert.equal(parseFleetFile(webWith(`replicas: ${MAX_REPLICAS}`), 'fleet.yaml').services.web?.replicas, MAX_REPLICAS);
    assert.equal(parseErrorMessage(webWith(`replicas: ${MAX_REPLICAS + 1}`)), `fleet.yaml:4:15 services.web.replicas: must be at most ${MAX_REPLICAS}, got the number ${MAX_REPLICAS + 1}`);
  });

  it(`command: at most ${MAX_COMMAND_ARGS} elements of at most ${MAX_ARG_LENGTH} characters`, () => {
    const fleet = assertListLimit({ field: (n) => `command: ${flowList(n, () => 'a')}`, limit: MAX_COMMAND_ARGS, path: 'services.web.command', column: 14, message: `at most ${MAX_COMMAND_ARGS} elements, got ${MAX_COMMAND_ARGS + 1}` });
    assert.equal(fleet.services.web?.command?.length, MAX_COMMAND_ARGS);
    const long = parseFleetFile(webWith(`command: [sh, ${'x'.repeat(MAX_ARG_LENGTH)}]`), 'fleet.yaml');
    assert.equal(long.services.web?.command?.[1]?.length, MAX_ARG_LENGTH);
    assert.equal(parseErrorMessage(webWith(`command: [sh, ${'x'.repeat(MAX_ARG_LENGTH + 1)}]`)), `fleet.yaml:4:19 services.web.command[1]: at most ${MAX_ARG_LENGTH} characters, got ${MAX_ARG_LENGTH + 1}`);
  });

  it('a 400,000-element command is refused with one short error, in about the time reading its YAML takes', () => {
    const text = webWith(`command: ${flowList(400_000, () => 'a')}`);
    // The yardstick is the YAML library reading the same text in the same run: checking the list
    // must add little to that (no issue per element, no second walk), whatever the machine's speed.
    const readStarted = performance.now();
    parseDocument(text);
    const readMs = performance.now() - readStarted;
    const started = performance.now();
    const message = parseErrorMessage(text);
    const refusedMs = performance.now() - started;
    assert.equal(message, `fleet.yaml:4:14 services.web.command: at most ${MAX_COMMAND_ARGS} elements, got 400000`);
    assert.ok(refusedMs < 3 * readMs, `refused in ${Math.round(refusedMs)} ms; reading the YAML alone took ${Math.round(readMs)} ms`);
  });

  it(`healthcheck.test: at most ${MAX_COMMAND_ARGS} elements of at most ${MAX_ARG_LENGTH} characters`, () => {
    assertListLimit({ field: (n) => `healthcheck: {test: ${flowList(n, (i) => (i === 0 ? 'CMD' : 'a'))}}`, limit: MAX_COMMAND_ARGS, path: 'services.web.healthcheck.test', column: 25, message: `at most ${MAX_COMMAND_ARGS} elements, got ${MAX_COMMAND_ARGS + 1}` });
    assert.equal(parseErrorMessage(webWith(`healthcheck: {test: [CMD-SHELL, ${'x'.repeat(MAX_ARG_LENGTH + 1)}]}`)), `fleet.yaml:4:37 services.web.healthcheck.test[1]: at most ${MAX_ARG_LENGTH} characters, got ${MAX_ARG_LENGTH + 1}`);
  });

  it(`env: at most ${MAX_ENV_ENTRIES} entries, names of ${MAX_KEY_LENGTH} and values (plain or secret) of ${MAX_ARG_LENGTH} characters`, () => {
    const fleet = assertListLimit({ field: (n) => `env: ${flowMap(n, (i) => `E${i}: v`)}`, limit: MAX_ENV_ENTRIES, path: 'services.web.env', column: 10, message: `at most ${MAX_ENV_ENTRIES} env entries, got ${MAX_ENV_ENTRIES + 1}` });
    assert.equal(Object.keys(fleet.services.web?.env ?? {}).length, MAX_ENV_ENTRIES);
    const value = 'v'.repeat(MAX_ARG_LENGTH);
    assert.equal(parseFleetFile(webWith(`env: {A: ${value}, B: {secret: ${value}}}`), 'fleet.yaml').services.web?.env.A, value);
    assert.equal(parseErrorMessage(webWith(`env: {A: ${value}v}`)), `fleet.yaml:4:14 services.web.env.A: at most ${MAX_ARG_LENGTH} characters, got ${MAX_ARG_LENGTH + 1}`);
    assert.equal(parseErrorMessage(webWith(`env: {B: {secret: ${value}v}}`)), `fleet.yaml:4:23 services.web.env.B.secret: at most ${MAX_ARG_LENGTH} characters, got ${MAX_ARG_LENGTH + 1}`);
    assert.equal(parseErrorMessage(webWith(`env: {C: {secret_file: /${'p'.repeat(MAX_PATH_LENGTH)}}}`)), `fleet.yaml:4:28 services.web.env.C.secret_file: at most ${MAX_PATH_LENGTH} characters, got ${MAX_PATH_LENGTH + 1}`);
    const name = 'N'.repeat(MAX_KEY_LENGTH + 1);
    assert.equal(parseErrorMessage(webWith(`env: {${name}: v}`)), `fleet.yaml:4:11 services.web.env: invalid key "${'N'.repeat(40)}…": at most ${MAX_KEY_LENGTH} characters, got ${MAX_KEY_LENGTH + 1}`);
  });

  it(`labels: at most ${MAX_LABELS} entries, keys of ${MAX_KEY_LENGTH} and values of ${MAX_LABEL_VALUE_LENGTH} characters`, () => {
    assertListLimit({ field: (n) => `labels: ${flowMap(n, (i) => `l${i}: v`)}`, limit: MAX_LABELS, path: 'services.web.labels', column: 13, message: `at most ${MAX_LABELS} labels, got ${MAX_LABELS + 1}` });
    assert.equal(parseFleetFile(webWith(`labels: {a: ${'v'.repeat(MAX_LABEL_VALUE_LENGTH)}}`), 'fleet.yaml').services.web?.labels.a?.length, MAX_LABEL_VALUE_LENGTH);
    assert.equal(parseErrorMessage(webWith(`labels: {a: ${'v'.repeat(MAX_LABEL_VALUE_LENGTH + 1)}}`)), `fleet.yaml:4:17 services.web.labels.a: at most ${MAX_LABEL_VALUE_LENGTH} characters, got ${MAX_LABEL_VALUE_LENGTH + 1}`);
  });

  it(`ports and volumes: at most ${MAX_PORTS} and ${MAX_VOLUMES}, a volume of at most ${MAX_VOLUME_LENGTH} characters`, () => {
    assertListLimit({ field: (n) => `ports: ${flowList(n, (i) => `"${1 + i}"`)}`, limit: MAX_PORTS, path: 'services.web.ports', column: 12, message: `at most ${MAX_PORTS} elements, got ${MAX_PORTS + 1}`, more: ['    replicas: 2'] });
    assertListLimit({ field: (n) => `volumes: ${flowList(n, (i) => `/v${i}:/d${i}`)}`, limit: MAX_VOLUMES, path: 'services.web.volumes', column: 14, message: `at most ${MAX_VOLUMES} elements, got ${MAX_VOLUMES + 1}` });
    const path = (length: number) => `/${'d'.repeat(length - 6)}`;
    assert.equal(parseFleetFile(webWith(`volumes: ["v:${path(MAX_VOLUME_LENGTH)}:ro"]`, 'volumes: {v: {}}'), 'fleet.yaml').services.web?.volumes[0]?.toString().length, MAX_VOLUME_LENGTH);
    assert.equal(parseErrorMessage(webWith(`volumes: ["v:${path(MAX_VOLUME_LENGTH + 1)}:ro"]`, 'volumes: {v: {}}')), `fleet.yaml:4:15 services.web.volumes[0]: at most ${MAX_VOLUME_LENGTH} characters, got ${MAX_VOLUME_LENGTH + 1}`);
  });

  it(`image: at most ${MAX_IMAGE_LENGTH} characters`, () => {
    const image = (length: number) => `r/${'i'.repeat(length - 2)}`;
    const ok = parseFleetFile(yamlText('project: shop', 'services:', '  web:', `    image: ${image(MAX_IMAGE_LENGTH)}`), 'fleet.yaml');
    assert.equal(ok.services.web?.image.length, MAX_IMAGE_LENGTH);
    assert.equal(parseErrorMessage(yamlText('project: shop', 'services:', '  web:', `    image: ${image(MAX_IMAGE_LENGTH + 1)}`)), `fleet.yaml:4:12 services.web.image: at most ${MAX_IMAGE_LENGTH} characters, got ${MAX_IMAGE_LENGTH + 1}`);
  });

  it(`placement: at most ${MAX_PLACEMENT_HOSTS} hosts, a selector of at most ${MAX_LABELS} entries`, () => {
    assertListLimit({ field: (n) => `placement: {hosts: ${flowList(n, (i) => `h${i}`)}}`, limit: MAX_PLACEMENT_HOSTS, path: 'services.web.placement.hosts', column: 24, message: `at most ${MAX_PLACEMENT_HOSTS} elements, got ${MAX_PLACEMENT_HOSTS + 1}` });
    assertListLimit({ field: (n) => `placement: {selector: ${flowMap(n, (i) => `l${i}: v`)}}`, limit: MAX_LABELS, path: 'services.web.placement.selector', column: 27, message: `at most ${MAX_LABELS} selector entries, got ${MAX_LABELS + 1}` });
  });

  it('durations: at most a day, written in at most 32 characters', () => {
    assert.equal(parseFleetFile(webWith('stop_timeout: 24h'), 'fleet.yaml').services.web?.stop_timeout, '24h');
    assert.equal(parseErrorMessage(webWith('stop_timeout: 1441m')), 'fleet.yaml:4:19 services.web.stop_timeout: at most 24h');
    assert.equal(parseErrorMessage(webWith(`stop_timeout: ${'9'.repeat(400)}h`)), 'fleet.yaml:4:19 services.web.stop_timeout: expected a duration such as "500ms", "2s", "1m"');
  });

  it('names: project and service names of at most 63 characters (already their pattern)', () => {
    assert.equal(parseErrorMessage(yamlText(`project: ${'p'.repeat(64)}`, 'services: {}')), 'fleet.yaml:1:10 project: expected lowercase letters, digits, "-" or "_" (max 63, starting with a letter or digit)');
  });

  it(`the file: at most ${MAX_FLEET_FILE_BYTES} bytes, checked before it is parsed`, () => {
    const header = yamlText('project: shop', 'services: {}');
    const padded = (bytes: number) => `${header}#${'x'.repeat(bytes - header.length - 2)}\n`;
    assert.equal(Buffer.byteLength(padded(MAX_FLEET_FILE_BYTES)), MAX_FLEET_FILE_BYTES);
    assert.equal(parseFleetFile(padded(MAX_FLEET_FILE_BYTES), 'fleet.yaml').project, 'shop');
    assert.equal(parseErrorMessage(padded(MAX_FLEET_FILE_BYTES + 1)), `fleet.yaml is too large (${MAX_FLEET_FILE_BYTES + 1} bytes): a fleet file may hold at most 8 MiB (${MAX_FLEET_FILE_BYTES} bytes)`);
    // Counted in UTF-8 bytes, not characters.
    assert.match(parseErrorMessage(`${header}#${'é'.repeat(MAX_FLEET_FILE_BYTES / 2)}\n`), /^fleet\.yaml is too large \(\d+ bytes\)/);
  });

  it('the file on disk: a larger or endless file is refused without reading it all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwright-limits-'));
    try {
      const path = join(dir, 'fleet.yaml');
      const text = `project: shop\nservices: {}\n#${'x'.repeat(MAX_FLEET_FILE_BYTES)}\n`;
      await writeFile(path, text);
      await assert.rejects(loadFleetFile(path), { name: 'InvalidInputError', message: `${path} is too large (${text.length} bytes): a fleet file may hold at most 8 MiB (${MAX_FLEET_FILE_BYTES} bytes)` });
      await assert.rejects(loadFleetFile('/dev/zero'), { name: 'InvalidInputError', message: `/dev/zero is too large (more than ${MAX_FLEET_FILE_BYTES} bytes): a fleet file may hold at most 8 MiB (${MAX_FLEET_FILE_BYTES} bytes)` });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(`YAML nesting: at most ${MAX_YAML_NESTING} levels, reported where it goes deeper`, () => {
    // The root mapping is the first level, x-deep's lists the rest: at the limit the file reaches the schema.
    const deep = (levels: number) => yamlText('project: shop', 'services: {}', `x-deep: ${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}`);
    assert.equal(parseErrorMessage(deep(MAX_YAML_NESTING)), 'fleet.yaml:3:1 (root): unknown key "x-deep"');
    assert.equal(parseErrorMessage(deep(MAX_YAML_NESTING + 1)), `fleet.yaml:3:${8 + MAX_YAML_NESTING}: YAML syntax error: mappings and lists nested more than ${MAX_YAML_NESTING} levels deep`);
  });

  it(`YAML values: at most ${MAX_YAML_NODES}, reported at the first one too many`, () => {
    const listOf = (items: number) => yamlText('project: shop', 'services: {}', `x-many: [${'1,'.repeat(items)}]`);
    assert.equal(parseErrorMessage(listOf(MAX_YAML_NODES - 20)), 'fleet.yaml:3:1 (root): unknown key "x-many"');
    assert.match(parseErrorMessage(listOf(MAX_YAML_NODES)), new RegExp(`^fleet\\.yaml:3:\\d+: YAML syntax error: more than ${MAX_YAML_NODES} values, list items and mapping entries in one fleet file$`));
  });

  it('YAML aliases: what they expand to counts against the file size, so an alias bomb is refused', () => {
    const bomb = ['project: shop', 'services: {}', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`)];
    assert.equal(parseErrorMessage(yamlText(...bomb)), `fleet.yaml is too large (once its YAML aliases are written out, each a copy of what it refers to): a fleet file may hold at most 8 MiB (${MAX_FLEET_FILE_BYTES} bytes)`);
    // Ordinary reuse loads: one env shared by a hundred services.
    const shared = parseFleetFile(yamlText('project: shop', 'services:', '  s0: {image: x, env: &env {A: "1", B: "2"}}', ...Array.from({ length: 99 }, (_, i) => `  s${i + 1}: {image: x, env: *env}`)), 'fleet.yaml');
    assert.deepEqual(shared.services.s99?.env, { A: '1', B: '2' });
  });

  it('long keys are cut short in error lines', () => {
    // YAML itself allows an implicit key of up to 1024 characters.
    const key = 'k'.repeat(1000);
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: x', `    ${key}: 1`));
    assert.equal(message, `fleet.yaml:5:5 services.web: unknown key "${'k'.repeat(40)}…"`);
  });
});

describe('fleet file loading time is linear in its size', () => {
  // A quadratic step (each key compared with every earlier one, an error located by scanning every
  // service) shows as a growth far above the linear one for 16 times the services.
  const fleetOf = (count: number, badPort: boolean) => yamlText('project: shop', 'services:', ...Array.from({ length: count }, (_, i) => `  s${i}: {image: x${badPort ? ', ports: [nope]' : ''}}`));

  it(`${SIZE_FACTOR} times the services take about ${SIZE_FACTOR} times as long, valid or each with an error`, () => {
    for (const badPort of [false, true]) {
      const growth = measureGrowth({
        label: badPort ? 'services, each with an error' : 'valid services',
        small: 500,
        prepare: (count) => fleetOf(count, badPort),
        run: (text) => {
          try {
            parseFleetFile(text, 'fleet.yaml');
          } catch (error) {
            if (!badPort || !(error instanceof InvalidInputError)) throw error;
          }
        },
      });
      assert.ok(growth.factor < LINEAR_BOUND, growth.summary);
    }
  });
});

describe('desired document limits', () => {
  const document = (services: Record<string, unknown>, fields: Record<string, unknown> = {}) => ({ hostId: 'h1', project: 'shop', revision: 1, services, ...fields });
  const messages = (value: unknown): string[] => {
    const result = hostDesiredSchema.safeParse(value);
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('the schema refuses the same oversized values as the fleet file, and too many instances on one host', () => {
    assert.deepEqual(messages(document({ web: { image: 'x', command: Array(MAX_COMMAND_ARGS + 1).fill('a') } })), [`services.web.command: at most ${MAX_COMMAND_ARGS} elements, got ${MAX_COMMAND_ARGS + 1}`]);
    assert.deepEqual(messages(document(Object.fromEntries(Array.from({ length: MAX_SERVICES + 1 }, (_, i) => [`s${i}`, { image: 'x' }])))), [`services: at most ${MAX_SERVICES} services, got ${MAX_SERVICES + 1}`]);
    assert.deepEqual(messages(document({ web: { image: 'x' } }, { correlationID: 'c'.repeat(MAX_CORRELATION_ID_LENGTH + 1) })), [`correlationID: at most ${MAX_CORRELATION_ID_LENGTH} characters, got ${MAX_CORRELATION_ID_LENGTH + 1}`]);
    const replicas = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, { image: 'x', replicas: MAX_REPLICAS }]));
    assert.deepEqual(messages(document(replicas(MAX_INSTANCES_PER_HOST / MAX_REPLICAS))), []);
    assert.deepEqual(messages(document({ ...replicas(MAX_INSTANCES_PER_HOST / MAX_REPLICAS), extra: { image: 'x' } })), [`services: at most ${MAX_INSTANCES_PER_HOST} instances of a project on one host, got ${MAX_INSTANCES_PER_HOST + 1}`]);
  });

  it('placement refuses to give one host more instances of a project than that, naming the project and host', () => {
    const fleet = (extra: number): FleetFile => parseFleetFile(yamlText('project: shop', 'services:', ...Array.from({ length: MAX_INSTANCES_PER_HOST / MAX_REPLICAS }, (_, i) => `  s${i}: {image: x, replicas: ${MAX_REPLICAS}}`), `  extra: {image: x, replicas: ${extra}}`), 'fleet.yaml');
    assert.equal(Object.keys(desiredForHost(fleet(0), { hostId: 'h1', labels: {} }, { revision: 1 }).services).length, 21);
    assert.throws(() => desiredForHost(fleet(1), { hostId: 'h1', labels: {} }, { revision: 1 }), {
      name: 'InvalidInputError',
      message: `project shop places ${MAX_INSTANCES_PER_HOST + 1} instances on host h1: at most ${MAX_INSTANCES_PER_HOST} instances of a project may run on one host (lower replicas, or spread the services over more hosts with placement)`,
    });
  });
});
