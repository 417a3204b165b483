import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCurve } from '@nats-io/nkeys';
import { parseComposeFiles, type ComposeReadOptions } from '../../coordinator/compose/compose-file.js';
import { composeSchemaCheck } from '../../coordinator/compose/compose-schema.js';
import { initFleetAuth, addFleetHost, fleetAuthPaths } from '../../coordinator/fleet-auth-files.js';
import { findHostKeys } from '../../coordinator/fleet-host-keys.js';
import { loadWorkload } from '../../coordinator/workload-file.js';
import { keyFleetSecrets, sealDocumentSecrets } from '../../coordinator/fleet-secrets.js';
import { refuseLocalSecrets } from '../../coordinator/secret-names.js';
import { desiredContentHash, desiredForHost } from '../../coordinator/placement.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { changedConfigFields } from '../../agent/core/diff.js';
import { runtimeConfigOf } from '../../shared/fleet-spec.js';
import { InvalidInputError } from '../../shared/errors.js';
import { fileSecretDigest, openFileSecret, type FileSecret } from '../../shared/file-secrets.js';
import { curveKeyOf, sealFileSecret } from '../../shared/file-secret-keys.js';
import type { FleetFile } from '../../shared/fleet-spec.js';
import { hostDesiredSchema } from '../../shared/host-desired.js';
import { maskServices, unmaskServices } from '../../shared/secret-env.js';
import { requiredSchema } from '../../shared/desired-schema.js';

const schemaCheck = composeSchemaCheck();
const DIGEST_KEY = new Uint8Array(32).fill(7);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function readCompose(compose: string, options: Partial<ComposeReadOptions> = {}): FleetFile {
  return parseComposeFiles([{ name: 'compose.yaml', text: compose }], { directory: '/srv/shop', environment: {}, readEnvFile: () => { throw new Error('no such file'); }, schemaCheck, ...options }).fleet;
}

function secretOf(content: string, digestKey = DIGEST_KEY): FileSecret {
  return { name: 'db_password', kind: 'secret', target: '/run/secrets/db_password', uid: '0', gid: '0', mode: 0o400, value: { content, digest: fileSecretDigest(content, digestKey) } };
}

describe('sealing a secret to a host', () => {
  it('opens with the host\'s curve key to the value it was sealed from', () => {
    const host = createCurve();
    const sealed = sealFileSecret(secretOf('hunter2 ünïcode'), host.getPublicKey());
    assert.ok('sealed' in sealed.value);
    assert.doesNotMatch(JSON.stringify(sealed), /hunter2/);
    assert.equal(text(openFileSecret(sealed.value, curveKeyOf(text(host.getSeed())))), 'hunter2 ünïcode');
  });

  it('cannot be opened by a host it was not sealed to', () => {
    const placed = createCurve();
    const other = createCurve();
    const sealed = sealFileSecret(secretOf('hunter2'), placed.getPublicKey());
    assert.throws(() => openFileSecret(sealed.value, other), /cannot be opened with this host's curve key/);
  });

  it('refuses a plain or masked value on the agent', () => {
    const host = createCurve();
    assert.throws(() => openFileSecret({ content: 'x' }, host), /plain value/);
    assert.throws(() => openFileSecret({ digest: fileSecretDigest('x', DIGEST_KEY) }, host), /only a digest/);
  });

  it('a changed value changes the spec hash (the instances are replaced); a new sealing of the same value does not', () => {
    const host = createCurve().getPublicKey();
    const service = (secret: FileSecret) => hostDesiredSchema.parse({ hostId: 'h1', project: 'shop', revision: 1, services: { db: { image: 'postgres:16', secrets: [secret] } } }).services.db!;
    const first = specHashOf(service(sealFileSecret(secretOf('one'), host)));
    assert.equal(specHashOf(service(sealFileSecret(secretOf('one'), host))), first);
    assert.notEqual(specHashOf(service(sealFileSecret(secretOf('two'), host))), first);
    assert.notEqual(specHashOf(service(sealFileSecret({ ...secretOf('one'), mode: 0o440 }, host))), first);
  });

  it('a plan names the changed secret and its digests, never the value', () => {
    const host = createCurve().getPublicKey();
    const config = (content: string) => runtimeConfigOf(hostDesiredSchema.parse({ hostId: 'h1', project: 'shop', revision: 1, services: { db: { image: 'postgres:16', secrets: [sealFileSecret(secretOf(content), host)] } } }).services.db!);
    const [changed, ...rest] = changedConfigFields(config('one'), config('two'));
    assert.deepEqual(rest, []);
    assert.equal(changed, `secrets (secret db_password digest ${fileSecretDigest('one', DIGEST_KEY).slice(0, 12)} → ${fileSecretDigest('two', DIGEST_KEY).slice(0, 12)})`);
    assert.deepEqual(changedConfigFields(config('one'), config('one')), [], 'sealed anew, unchanged');
  });

  it('a service mounts one file per target', () => {
    const parsed = hostDesiredSchema.safeParse({ hostId: 'h1', project: 'shop', revision: 1, services: { db: { image: 'postgres:16', secrets: [secretOf('a'), { ...secretOf('b'), name: 'other' }] } } });
    assert.equal(parsed.success, false);
    assert.match(JSON.stringify(parsed.error?.issues), /two secrets or configs are mounted at \/run\/secrets\/db_password/);
  });

  it('the digest is keyed: the same value under another fleet\'s key has another digest', () => {
    assert.notEqual(fileSecretDigest('password', DIGEST_KEY), fileSecretDigest('password', new Uint8Array(32).fill(8)));
    assert.match(fileSecretDigest('password', DIGEST_KEY), /^[0-9a-f]{64}$/);
  });
});

describe('compose secrets: and configs:', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-secrets-'));
  writeFileSync(join(dir, 'db_password.txt'), 'from-a-file\n');
  const files = (path: string): string => readFileSync(path, 'utf8');

  it('reads file:, environment: and content: into the services that use them, with compose\'s targets and modes', () => {
    const fleet = readCompose(
      [
        'services:',
        '  db:',
        '    image: postgres:16',
        '    secrets: [db_password]',
        '    configs: [{source: app_conf, target: /etc/app.conf, uid: "999", gid: "999", mode: 0440}]',
        '  web:',
        '    image: nginx',
        '    secrets: [{source: api_key, target: key, mode: "0400"}]',
        'secrets:',
        '  db_password: {file: ./db_password.txt}',
        '  api_key: {environment: API_KEY}',
        'configs:',
        '  app_conf: {content: "listen ${PORT}"}',
      ].join('\n'),
      { directory: dir, environment: { API_KEY: 'k-123', PORT: '8080' }, readSecretFile: files },
    );
    assert.deepEqual(fleet.services.db?.secrets, [
      { name: 'db_password', kind: 'secret', target: '/run/secrets/db_password', uid: '0', gid: '0', mode: 0o444, value: { content: 'from-a-file\n' } },
      { name: 'app_conf', kind: 'config', target: '/etc/app.conf', uid: '999', gid: '999', mode: 0o440, value: { content: 'listen 8080' } },
    ]);
    assert.deepEqual(fleet.services.web?.secrets, [{ name: 'api_key', kind: 'secret', target: '/run/secrets/key', uid: '0', gid: '0', mode: 0o400, value: { content: 'k-123' } }]);
  });

  it('refuses an undefined secret, an unset variable and an external one, naming file and line, never a value', () => {
    const refusal = (compose: string): string => {
      try {
        readCompose(compose, { directory: dir, readSecretFile: files });
      } catch (error) {
        assert.ok(error instanceof InvalidInputError);
        return error.message;
      }
      return assert.fail('expected a refusal');
    };
    assert.match(refusal('services:\n  db:\n    image: postgres\n    secrets: [nope]\n'), /compose\.yaml:\d+:\d+.*secret nope is used by a service but not defined under the top-level secrets:/);
    assert.match(refusal('services:\n  db:\n    image: postgres\n    secrets: [pw]\nsecrets:\n  pw: {environment: NOT_SET}\n'), /the variable NOT_SET is not set/);
    assert.match(refusal('services:\n  db:\n    image: postgres\n    secrets: [pw]\nsecrets:\n  pw: {external: true}\n'), /an external secret lives in Swarm/);
    assert.match(refusal('services:\n  db:\n    image: postgres\n    secrets: [{source: pw, mode: 999}]\nsecrets:\n  pw: {file: ./db_password.txt}\n'), /expected a file mode/);
  });

  it('bounds file: to the project directory as env_file is', async () => {
    const root = mkdtempSync(join(tmpdir(), 'hw-secrets-bound-'));
    mkdirSync(join(root, 'project'));
    writeFileSync(join(root, 'outside-pw'), 'x');
    writeFileSync(join(root, 'project', 'compose.yaml'), 'services:\n  db:\n    image: postgres\n    secrets: [pw]\nsecrets:\n  pw: {file: ../outside-pw}\n');
    try {
      await assert.rejects(loadWorkload({ files: [join(root, 'project', 'compose.yaml')] }, {}), /secret or config file .*outside-pw.* is outside the project directory/);
      const allowed = await loadWorkload({ files: [join(root, 'project', 'compose.yaml')], allowOutsideProject: true }, {});
      assert.equal(allowed.fleet.services.db?.secrets?.[0]?.value.digest, undefined);
      assert.deepEqual(allowed.fleet.services.db?.secrets?.[0]?.value, { content: 'x' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the coordinator\'s keys for secrets', () => {
  const fleet = (): FleetFile => readCompose('services:\n  db:\n    image: postgres:16\n    secrets: [pw]\n  web:\n    image: nginx\nsecrets:\n  pw: {environment: PW}\n', { environment: { PW: 'p4ss' } });

  it('refuses to carry secrets without the fleet\'s digest key, and local mode refuses them', () => {
    assert.throws(() => keyFleetSecrets(fleet(), undefined), /needs the fleet's keys from `hostwright fleet init`/);
    assert.throws(() => refuseLocalSecrets(fleet()), /local mode does not carry them/);
  });

  it('seals each host\'s copy to that host; a host without a curve key is refused by name', () => {
    const keyed = keyFleetSecrets(fleet(), DIGEST_KEY);
    const host = createCurve();
    const document = desiredForHost(keyed, { hostId: 'h1', labels: {} }, { revision: 1 });
    assert.equal(requiredSchema(document).schema, 4);
    const sealed = sealDocumentSecrets(document, host.getPublicKey());
    assert.doesNotMatch(JSON.stringify(sealed), /p4ss/);
    assert.equal(text(openFileSecret(sealed.services.db!.secrets![0]!.value, host)), 'p4ss');
    // The stored sealed document and the fresh plain one are the same content: no rewrite, no replacement.
    assert.equal(desiredContentHash(sealed), desiredContentHash(document));
    assert.throws(() => sealDocumentSecrets(document, undefined), /host h1 is placed secrets .* fleet add-host h1 --rotate/);
  });

  it('masks to the digest everywhere a person sees it, and a saved plan takes the sealed value back', () => {
    const keyed = keyFleetSecrets(fleet(), DIGEST_KEY);
    const sealed = sealDocumentSecrets(desiredForHost(keyed, { hostId: 'h1', labels: {} }, { revision: 1 }), createCurve().getPublicKey());
    const masked = maskServices(sealed);
    assert.deepEqual(masked.services.db?.secrets?.[0]?.value, { digest: fileSecretDigest('p4ss', DIGEST_KEY) });
    assert.doesNotMatch(JSON.stringify(maskServices(keyed)), /p4ss/);
    assert.deepEqual(unmaskServices(masked, sealed), { document: sealed, missing: [] });
    assert.deepEqual(unmaskServices(masked, undefined).missing, ['db.secrets.pw']);
  });

  it('fleet init and add-host write a curve seed per host (0600) and its public key in fleet-auth.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-fleet-auth-'));
    try {
      await initFleetAuth({ dir, hosts: ['h1'], listen: '127.0.0.1:4222', storeDir: undefined, tls: undefined });
      await addFleetHost(dir, 'h2', false);
      const paths = fleetAuthPaths(dir);
      const keys = await findHostKeys(dir, undefined);
      for (const hostId of ['h1', 'h2']) {
        assert.equal(statSync(paths.hostCurveSeed(hostId)).mode & 0o777, 0o600);
        const curve = curveKeyOf(readFileSync(paths.hostCurveSeed(hostId), 'utf8'));
        assert.equal(keys?.curveKeyOf?.(hostId), curve.getPublicKey());
      }
      assert.equal(statSync(paths.secretDigestKey).mode & 0o777, 0o600);
      assert.equal(keys?.secretDigestKey?.byteLength, 32);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
