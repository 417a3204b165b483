import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadFleetFile, parseFleetFile } from '../../coordinator/fleet-file.js';
import { InvalidInputError } from '../../shared/errors.js';

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

const FULL_FLEET = yamlText(
  'project: shop',
  'drift: report',
  'services:',
  '  web:',
  '    image: nginx:1.27',
  '    command: ["nginx", "-g", "daemon off;"]',
  '    replicas: 1',
  '    env:',
  '      WORKERS: 4',
  '      DEBUG: false',
  '      NAME: web',
  '    ports:',
  '      - "127.0.0.1:8080:80"',
  '      - 443/tcp',
  '    volumes:',
  '      - static:/usr/share/nginx/html:ro',
  '    labels:',
  '      team: storefront',
  '    restart: always',
  '    healthcheck:',
  '      test: ["CMD", "curl", "-f", "http://localhost/"]',
  '      interval: 10s',
  '      timeout: 2s',
  '      retries: 3',
  '      start_period: 500ms',
  '    pull_policy: never',
  '    stop_timeout: 1m',
  '    drift:',
  '      missing: repair',
  '      modified: report',
  '    placement:',
  '      hosts: [edge-1, edge-2]',
  '  worker:',
  '    image: shop/worker',
  '    replicas: 3',
  '    placement:',
  '      selector:',
  '        zone: eu',
  'volumes:',
  '  static:',
);

describe('parseFleetFile', () => {
  it('parses a file using every field, filling defaults and turning env values into strings', () => {
    const fleet = parseFleetFile(FULL_FLEET, 'fleet.yaml');
    assert.deepEqual(fleet, {
      project: 'shop',
      drift: 'report',
      services: {
        web: {
          image: 'nginx:1.27',
          command: ['nginx', '-g', 'daemon off;'],
          replicas: 1,
          env: { WORKERS: '4', DEBUG: 'false', NAME: 'web' },
          ports: ['127.0.0.1:8080:80', '443/tcp'],
          volumes: ['static:/usr/share/nginx/html:ro'],
          labels: { team: 'storefront' },
          restart: 'always',
          healthcheck: { test: ['CMD', 'curl', '-f', 'http://localhost/'], interval: '10s', timeout: '2s', retries: 3, start_period: '500ms' },
          pull_policy: 'never',
          stop_timeout: '1m',
          update_order: 'stop-first',
          drift: { missing: 'repair', modified: 'report' },
          placement: { hosts: ['edge-1', 'edge-2'] },
        },
        worker: {
          image: 'shop/worker',
          replicas: 3,
          env: {},
          ports: [],
          volumes: [],
          labels: {},
          restart: 'unless-stopped',
          pull_policy: 'missing',
          stop_timeout: '10s',
          update_order: 'stop-first',
          placement: { selector: { zone: 'eu' } },
        },
      },
      volumes: { static: {} },
    });
  });

  it('accepts drift as a string on a service and an empty services mapping', () => {
    const fleet = parseFleetFile(yamlText('project: p', 'services:', '  a:', '    image: x', '    drift: repair'), 'fleet.yaml');
    assert.equal(fleet.services.a?.drift, 'repair');
    assert.deepEqual(parseFleetFile('project: p\nservices: {}\n', 'fleet.yaml').services, {});
  });

  it('reports a YAML syntax error with file, line and column', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: a: b'));
    assert.match(message, /^fleet\.yaml:4:12: YAML syntax error: Nested mappings are not allowed in compact mappings\n/);
    assert.match(message, /\n {4} {4}image: a: b\n/, 'the excerpt shows the offending line');
  });

  it('reports a wrong type with its exact path and line', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    replicas: two'));
    assert.equal(message, 'fleet.yaml:5:15 services.web.replicas: expected a number, got the string "two"');
  });

  it('points at the list item of a malformed port', () => {
    const message = parseErrorMessage(
      yamlText('project: shop', 'services:', '  db:', '    image: postgres', '  web:', '    image: nginx', '    env: {A: "1"}', '    ports:', '      - "80"', '      - "8080-80"'),
    );
    assert.equal(message, 'fleet.yaml:10:9 services.web.ports[1]: expected "[ip:][hostPort:]containerPort[/proto]", e.g. "127.0.0.1:8080:80"');
  });

  it('says "required" for a missing field and points at the closest existing parent', () => {
    assert.equal(parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    replicas: 2')), 'fleet.yaml:3:3 services.web.image: required');
    assert.equal(parseErrorMessage(yamlText('# the fleet', 'project: shop')), 'fleet.yaml:2:1 services: required');
  });

  it('names an unknown key, points at it and suggests the close key the schema allows there', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    imagee: nginx', '    image: nginx'));
    assert.equal(message, 'fleet.yaml:4:5 services.web: unknown key "imagee"; did you mean "image"?');
    // The candidates are the keys of the mapping at that path: a healthcheck's, the root's.
    assert.equal(parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    healthcheck:', '      test: ["CMD", "true"]', '      intreval: 5s')), 'fleet.yaml:7:7 services.web.healthcheck: unknown key "intreval"; did you mean "interval"?');
    assert.equal(parseErrorMessage(yamlText('projet: shop', 'services:', '  web:', '    image: nginx')), ['fleet.yaml:1:1 project: required', 'fleet.yaml:1:1 (root): unknown key "projet"; did you mean "project"?'].join('\n'));
    // Nothing close: no suggestion.
    assert.equal(parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    colour: blue')), 'fleet.yaml:5:5 services.web: unknown key "colour"');
  });

  it('lists every problem, one per line, in file order', () => {
    const message = parseErrorMessage(
      yamlText('project: Shop', 'services:', '  web:', '    image: nginx', '    restart: sometimes', '    healthcheck:', '      test: ["CMD", "true"]', '      interval: 5', '  Bad_Name:', '    image: x'),
    );
    assert.deepEqual(message.split('\n'), [
      'fleet.yaml:1:10 project: expected lowercase letters, digits, "-" or "_" (max 63, starting with a letter or digit)',
      'fleet.yaml:5:14 services.web.restart: expected "no", "always", "on-failure", "on-failure:<max retries>" (such as on-failure:5) or "unless-stopped", got the string "sometimes"',
      'fleet.yaml:8:17 services.web.healthcheck.interval: expected a string, got the number 5',
      'fleet.yaml:9:3 services: invalid key "Bad_Name": expected lowercase letters, digits, "-" or "_" (max 63, starting with a letter or digit)',
    ]);
  });

  it('explains a value that matches no form of a union', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'drift: sometimes', 'services:', '  web:', '    image: nginx', '    env:', '      EMPTY:'));
    assert.deepEqual(message.split('\n'), [
      'fleet.yaml:2:8 drift: expected "repair", "report" or a mapping, got the string "sometimes"',
      'fleet.yaml:7:7 services.web.env.EMPTY: expected a string, a number, a boolean or a mapping, got an empty value',
    ]);
  });

  it('rejects a fixed host port with replicas > 1', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    replicas: 2', '    ports: ["8080:80"]'));
    assert.equal(message, 'fleet.yaml:6:12 services.web.ports: a fixed host port needs replicas: 1 (two instances cannot bind one port)');
    const unpublished = parseFleetFile(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    replicas: 2', '    ports: ["80"]'), 'fleet.yaml');
    assert.equal(unpublished.services.web?.replicas, 2);
  });

  it('reports a malformed port with replicas > 1 as a user error', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    replicas: 2', '    ports: ["web"]'));
    assert.equal(message, 'fleet.yaml:6:13 services.web.ports[0]: expected "[ip:][hostPort:]containerPort[/proto]", e.g. "127.0.0.1:8080:80"');
  });

  it('rejects labels under the reserved io.hostwright. prefix', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    labels:', '      io.hostwright.owner: me'));
    assert.equal(message, 'fleet.yaml:5:5 services.web.labels: label keys starting with "io.hostwright." are reserved for Hostwright');
  });

  it('rejects a placement host id that is not valid', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    placement:', '      hosts: ["edge 1"]'));
    assert.equal(message, 'fleet.yaml:6:15 services.web.placement.hosts[0]: expected letters, digits, "-" or "_" (max 63)');
  });

  it('rejects duplicate keys, naming the key and its line', () => {
    const message = parseErrorMessage(yamlText('project: shop', 'services:', '  web:', '    image: nginx', '    image: httpd'));
    assert.match(message, /^fleet\.yaml:5:5: YAML syntax error: duplicate key "image"\n/);
  });

  it('rejects several YAML documents and unknown aliases', () => {
    assert.match(parseErrorMessage(yamlText('project: a', '---', 'project: b')), /^fleet\.yaml:2:1: YAML syntax error: a fleet file holds one YAML document/);
    assert.equal(parseErrorMessage(yamlText('project: a', 'services:', '  web: *base')), 'fleet.yaml:3:8: YAML syntax error: unknown anchor "*base" (define "&base" before using it)');
  });

  it('says so when the file is empty', () => {
    const expected = 'fleet.yaml is empty: expected `project:` and `services:`';
    assert.equal(parseErrorMessage(''), expected);
    assert.equal(parseErrorMessage('# nothing yet\n'), expected);
  });

  it('rejects a document that is not a mapping', () => {
    assert.equal(parseErrorMessage('- web\n'), 'fleet.yaml:1:1 (root): expected a mapping, got a list');
  });

  it('rejects a "__proto__" key instead of dropping it', () => {
    assert.equal(parseErrorMessage(yamlText('project: p', 'services:', '  web:', '    image: x', '    env: {__proto__: "1", A: "2"}')), 'fleet.yaml:5:11: YAML syntax error: the key "__proto__" is not allowed');
  });

  it('shows the first YAML errors of a cascade and counts the rest', () => {
    const message = parseErrorMessage(yamlText('a: b', '  - c: d', ...Array.from({ length: 30 }, (_, i) => `  k${i}: v`)));
    const lines = message.split('\n').filter((line) => line.startsWith('fleet.yaml:'));
    assert.equal(lines.length, 3, message);
    assert.match(message, /… and \d+ more YAML errors \(fix the first ones and run again\)$/);
  });

  it('throws only InvalidInputError for arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseFleetFile(text, 'fleet.yaml');
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('throws only InvalidInputError, naming the file, for arbitrary YAML values', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        // stringify(undefined) returns undefined, whatever its declared type says.
        const text: string | undefined = stringify(value);
        try {
          parseFleetFile(text ?? '', 'fleet.yaml');
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
          assert.match(error.message, /^fleet\.yaml[: ]/);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('loadFleetFile', () => {
  it('reads and parses a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwright-fleet-'));
    try {
      const path = join(dir, 'fleet.yaml');
      await writeFile(path, FULL_FLEET);
      const fleet = await loadFleetFile(path);
      assert.deepEqual(Object.keys(fleet.services), ['web', 'worker']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the file in schema errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwright-fleet-'));
    try {
      const path = join(dir, 'fleet.yaml');
      await writeFile(path, 'project: shop\n');
      await assert.rejects(loadFleetFile(path), { name: 'InvalidInputError', message: `${path}:1:1 services: required` });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing file', async () => {
    const path = join(tmpdir(), 'hostwright-no-such-dir', 'fleet.yaml');
    await assert.rejects(loadFleetFile(path), (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.equal(error.message, `fleet file not found: ${path}`);
      return true;
    });
  });

  it('reports a directory given as the fleet file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwright-fleet-'));
    try {
      await assert.rejects(loadFleetFile(dir), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.match(error.message, /is a directory/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
