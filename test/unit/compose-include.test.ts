import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { composeError, readCompose } from '../lib/compose-read.js';

// include: (Compose Specification) resolved when the file is read: each included file in its own
// directory, interpolated with its own .env, its names joined to the including file's.

/** Files by absolute path, read as the CLI's bounded reader would. */
function filesOf(entries: Record<string, string>) {
  const files = new Map(Object.entries(entries));
  return {
    readEnvFile: (path: string) => {
      const text = files.get(path);
      if (text === undefined) throw new Error('ENOENT: no such file or directory');
      return text;
    },
  };
}

describe('compose include:', () => {
  it('joins the short form\'s files, each interpolated with its own directory\'s .env, relative paths made absolute there', () => {
    const io = filesOf({
      '/srv/shop/services/db.yaml': 'services:\n  db:\n    image: "postgres:${PG_VERSION}"\n    volumes: ["./pgdata:/var/lib/postgresql/data", "data:/backup"]\n    env_file: db.env\nvolumes:\n  data: {}\n',
      '/srv/shop/services/.env': 'PG_VERSION=16\nTAG=from-include\n',
      '/srv/shop/services/db.env': 'POSTGRES_DB=shop\n',
    });
    const { fleet } = readCompose('include:\n  - services/db.yaml\nservices:\n  web:\n    image: "web:${TAG:-main}"\n    depends_on: [db]\n', io);
    assert.deepEqual(Object.keys(fleet.services).sort(), ['db', 'web']);
    assert.equal(fleet.services.db?.image, 'postgres:16');
    assert.deepEqual(fleet.services.db?.volumes, ['/srv/shop/services/pgdata:/var/lib/postgresql/data', 'data:/backup']);
    assert.deepEqual(fleet.services.db?.env, { POSTGRES_DB: 'shop' });
    assert.deepEqual(Object.keys(fleet.volumes ?? {}), ['data']);
    assert.equal(fleet.services.web?.image, 'web:main', 'the included file\'s .env is its own, not the including file\'s');
  });

  it('takes the long form: path as a list (merged in order), project_directory and env_file; the including project\'s variables win', () => {
    const io = filesOf({
      '/srv/shop/cache/base.yaml': 'services:\n  cache:\n    image: "redis:${REDIS}"\n    command: ["redis-server"]\n',
      '/srv/shop/cache/override.yaml': 'services:\n  cache:\n    command: ["redis-server", "--appendonly", "yes"]\n    volumes: ["./conf:/conf:ro"]\n',
      '/srv/shop/cache.env': 'REDIS=7\nSHARED=included\n',
    });
    const text = 'include:\n  - path: [cache/base.yaml, cache/override.yaml]\n    project_directory: /srv/shop/cache-data\n    env_file: cache.env\nservices:\n  web: {image: "web:${SHARED}"}\n';
    const { fleet } = readCompose(text, { ...io, environment: { SHARED: 'shell' } });
    assert.equal(fleet.services.cache?.image, 'redis:7');
    assert.deepEqual(fleet.services.cache?.command, ['redis-server', '--appendonly', 'yes']);
    assert.deepEqual(fleet.services.cache?.volumes, ['/srv/shop/cache-data/conf:/conf:ro'], 'relative to project_directory');
    assert.equal(fleet.services.web?.image, 'web:shell');
  });

  it('nests includes, merges the including file\'s own definition onto an included one, and refuses a service two included files define naming both, a cycle naming it, and a missing file with its line', () => {
    const nested = filesOf({ '/srv/shop/a.yaml': 'include: [b/b.yaml]\nservices:\n  a: {image: a}\n', '/srv/shop/b/b.yaml': 'services:\n  b: {image: b}\n' });
    assert.deepEqual(Object.keys(readCompose('include: [a.yaml]\nservices:\n  web: {image: w}\n', nested).fleet.services).sort(), ['a', 'b', 'web']);

    const twice = filesOf({ '/srv/shop/db.yaml': 'services:\n  db: {image: postgres}\n', '/srv/shop/other.yaml': 'services:\n  db: {image: mysql}\n' });
    assert.match(composeError('include: [db.yaml, other.yaml]\nservices:\n  web: {image: w}\n', twice), /^compose\.yaml:1:\d+ include\[1\]: service db is defined in both \/srv\/shop\/db\.yaml and \/srv\/shop\/other\.yaml: rename one/);
    // The including file's own db merges onto the included one, as wger's adds to its included postgres.
    const merged = readCompose('include: [db.yaml]\nservices:\n  db: {environment: {TZ: Europe/Berlin}}\n', twice).fleet.services.db;
    assert.deepEqual([merged?.image, merged?.env], ['postgres', { TZ: 'Europe/Berlin' }]);

    const loop = filesOf({ '/srv/shop/x.yaml': 'include: [y.yaml]\nservices:\n  x: {image: x}\n', '/srv/shop/y.yaml': 'include: [x.yaml]\nservices:\n  y: {image: y}\n' });
    assert.match(composeError('include: [x.yaml]\nservices:\n  web: {image: w}\n', loop), /^\/srv\/shop\/y\.yaml:1:\d+ include\[0\]: include forms a cycle: \/srv\/shop\/compose\.yaml → \/srv\/shop\/x\.yaml → \/srv\/shop\/y\.yaml → \/srv\/shop\/x\.yaml/);
    assert.match(composeError('include: [compose.yaml]\nservices:\n  web: {image: w}\n', loop), /include forms a cycle: \/srv\/shop\/compose\.yaml → \/srv\/shop\/compose\.yaml/);

    assert.match(composeError('services:\n  web: {image: w}\ninclude:\n  - services/gone.yaml\n', filesOf({})), /^compose\.yaml:4:\d+ include\[0\]: cannot read \/srv\/shop\/services\/gone\.yaml: ENOENT/);
  });

  it('places a problem of an included service at its own file\'s line', () => {
    const io = filesOf({ '/srv/shop/db.yaml': 'services:\n  db:\n    image: postgres\n    restart: sometimes\n' });
    assert.match(composeError('include: [db.yaml]\nservices:\n  web: {image: w}\n', io), /^\/srv\/shop\/db\.yaml:4:\d+ services\.db\.restart: expected "no"/);
  });
});
