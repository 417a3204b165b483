import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode } from '../../shared/codec.js';
import { openFileSecret } from '../../shared/file-secrets.js';
import { curveKeyOf } from '../../shared/file-secret-keys.js';
import { hostDesiredSchema } from '../../shared/host-desired.js';
import { openSignedDocument } from '../../shared/signed-document.js';
import { desiredKey } from '../../shared/subjects.js';
import { uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { inside } from '../lib/container-exec.js';
import { docker, projectContainers } from '../lib/docker-harness.js';
import { connectAs, seedOf } from '../lib/fleet-attack.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

// Compose secrets and configs over NATS with `fleet init` credentials and real agents: the value is
// sealed to the one host placed it, written on that agent's tmpfs with the requested owner and mode,
// and appears nowhere else (store dir, journals, events, logs, status, docker inspect).

/** Every file below dir whose bytes hold needle. */
async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path).catch(() => Buffer.alloc(0));
    if (bytes.includes(needle)) found.push(path);
  }
  return found;
}

describe('compose secrets and configs over NATS, sealed to the host', { timeout: 240_000 }, () => {
  const runId = uniqueName('sec');
  const hostA = uniqueName('sa');
  const hostB = uniqueName('sb');
  const project = uniqueName('secp');
  const secretValue = `S3CRET-${randomUUID()}`;
  const configValue = `CONF-${randomUUID()}`;
  let dir: string;
  let projectDir: string;
  let nats: NatsServerHandle;
  let harness: FleetHarness;
  let coordinator: NatsConnection;
  const secretsDir = (hostId: string) => `/dev/shm/hw-test-secrets-${runId}-${hostId}`;
  const cli = (args: readonly string[]) => runCli([...args, '--nats', nats.url, '--creds', join(dir, 'coordinator.nk')], { APP_CONF: configValue });
  const apply = async () => {
    const result = await cli(['apply', '-f', projectDir, '--wait', '--timeout', '90s', '--signing-key', join(dir, 'coordinator-signing.nk')]);
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}\n${harness.agent(hostA).output().slice(-3000)}`);
    return result;
  };
  const containerOf = async (service: string) => {
    const containers = (await projectContainers(project)).filter((container) => container.Labels['io.hostwright.service'] === service);
    assert.equal(containers.length, 1, `one ${service} container`);
    return containers[0]!;
  };
  const storedDesired = async (hostId: string) => {
    const entry = await (await new Kvm(coordinator).open('hw_desired')).get(desiredKey(hostId, project));
    assert.ok(entry?.value, `a desired document for ${hostId}`);
    return { raw: Buffer.from(entry.value), document: decode(hostDesiredSchema, openSignedDocument(entry.value).document, 'desired') };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-secrets-e2e-'));
    const init = await runCli(['fleet', 'init', '--dir', dir, '--host', hostA, '--host', hostB]);
    assert.equal(init.code, 0, init.stderr);
    nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
    harness = FleetHarness.create(nats, runId, { cliArgs: ['--creds', join(dir, 'coordinator.nk')] });
    coordinator = await connectAs(nats.url, await seedOf(dir, 'coordinator'));
    const agentArgs = (hostId: string) => ['--creds', join(dir, 'hosts', `${hostId}.nk`), '--coordinator-key', join(dir, 'coordinator-signing.pub'), '--curve-key', join(dir, 'hosts', `${hostId}.xk`), '--secrets-dir', secretsDir(hostId)];
    await harness.startAgents([
      { hostId: hostA, labels: {}, args: agentArgs(hostA) },
      { hostId: hostB, labels: {}, args: agentArgs(hostB) },
    ]);
    projectDir = join(dir, 'project');
    await mkdir(projectDir);
    await writeFile(join(projectDir, 'db_password.txt'), secretValue);
    const sleeper = `image: hw/busybox:test\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n    stop_grace_period: 1s`;
    await writeFile(
      join(projectDir, 'compose.yaml'),
      [
        `name: ${project}`,
        'services:',
        '  app:',
        `    ${sleeper}`,
        '    secrets:',
        '      - source: db_password',
        '        target: db_pw',
        '        uid: "1234"',
        '        gid: "5678"',
        '        mode: 0440',
        '    configs: [app_conf]',
        `    x-hostwright: {placement: {hosts: [${hostA}]}}`,
        '  other:',
        `    ${sleeper}`,
        `    x-hostwright: {placement: {hosts: [${hostB}]}}`,
        'secrets:',
        '  db_password: {file: ./db_password.txt}',
        'configs:',
        '  app_conf: {environment: APP_CONF}',
        '',
      ].join('\n'),
    );
    await apply();
  });

  after(async () => {
    await coordinator?.close().catch(() => undefined);
    await harness?.cleanup();
    await nats?.cleanup();
    for (const hostId of [hostA, hostB]) await rm(secretsDir(hostId), { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('mounts the secret and the config with the requested owner and mode, from a tmpfs', async () => {
    const app = await containerOf('app');
    const secret = await inside(app.Id, 'stat -c "%a %u %g" /run/secrets/db_pw && cat /run/secrets/db_pw');
    assert.equal(secret.code, 0, secret.output);
    assert.equal(secret.output, `440 1234 5678\n${secretValue}`);
    const config = await inside(app.Id, 'stat -c "%a %u %g" /app_conf && cat /app_conf');
    assert.equal(config.output, `444 0 0\n${configValue}`);
    const written = await inside(app.Id, 'echo x > /run/secrets/db_pw');
    assert.notEqual(written.code, 0, 'the secret file is mounted read-only');
    const mounts = (await docker.getContainer(app.Id).inspect()).Mounts;
    assert.ok(mounts.length === 2 && mounts.every((mount) => mount.Source.startsWith(`${secretsDir(hostA)}/`) && mount.RW === false), `read-only mounts from the agent's secrets dir: ${JSON.stringify(mounts)}`);
  });

  it('the value appears nowhere else: NATS store, journals, events, logs, status --json, docker inspect', async () => {
    // The searches can find: the project name is in the store and in A's journal.
    assert.ok((await filesHolding(nats.storeDir, project)).length > 0, 'the project name is in the NATS store (the search reads it)');
    assert.ok((await filesHolding(harness.agent(hostA).dataDir, 'db_password')).length > 0, 'the secret\'s name is in A\'s journal (the search reads it)');
    for (const value of [secretValue, configValue]) {
      assert.deepEqual(await filesHolding(nats.storeDir, value), [], 'NATS store dir');
      for (const hostId of [hostA, hostB]) assert.deepEqual(await filesHolding(harness.agent(hostId).dataDir, value), [], `${hostId}'s data dir`);
      for (const args of [['events', '--json'], ['status', '--json'], ['plan', '-f', projectDir, '--json']]) {
        const result = await cli(args);
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
        assert.ok(!result.stdout.includes(value) && !result.stderr.includes(value), `${args.join(' ')} shows the value`);
      }
      for (const hostId of [hostA, hostB]) assert.ok(!harness.agent(hostId).output().includes(value), `${hostId}'s log`);
      for (const container of await projectContainers(project)) assert.ok(!JSON.stringify(await docker.getContainer(container.Id).inspect()).includes(value), 'docker inspect');
    }
  });

  it('only the host placed the secret gets it, and only that host\'s key opens it', async () => {
    const stored = await storedDesired(hostA);
    const sealed = stored.document.services.app?.secrets?.find((file) => file.name === 'db_password')?.value;
    assert.ok(sealed && 'sealed' in sealed, 'A\'s document holds the secret sealed');
    const keyOf = async (hostId: string) => curveKeyOf(await readFile(join(dir, 'hosts', `${hostId}.xk`), 'utf8'));
    assert.equal(new TextDecoder().decode(openFileSecret(sealed, await keyOf(hostA))), secretValue);
    const keyOfB = await keyOf(hostB);
    assert.throws(() => openFileSecret(sealed, keyOfB), /cannot be opened with this host's curve key/);
    const other = await storedDesired(hostB);
    assert.ok(!other.raw.includes('db_password') && !other.raw.includes('app_conf'), 'B\'s document names neither the secret nor the config');
    assert.deepEqual(await filesHolding(harness.agent(hostB).dataDir, 'db_password'), [], 'B\'s journal');
  });

  it('without the fleet\'s keys beside the credentials, plan and apply refuse to carry secrets and write nothing', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'hw-secrets-bare-'));
    try {
      await writeFile(join(bare, 'coordinator.nk'), await readFile(join(dir, 'coordinator.nk')), { mode: 0o600 });
      const revision = (await storedDesired(hostA)).document.revision;
      for (const command of [['plan'], ['apply', '--signing-key', join(dir, 'coordinator-signing.nk')]]) {
        const result = await runCli([...command, '-f', projectDir, '--nats', nats.url, '--creds', join(bare, 'coordinator.nk')], { APP_CONF: configValue });
        assert.notEqual(result.code, 0, result.stdout);
        assert.match(result.stderr, /mounts secrets or configs \(app: config app_conf, app: secret db_password\).*needs the fleet's keys from `hostwright fleet init`/);
      }
      assert.equal((await storedDesired(hostA)).document.revision, revision, 'nothing written');
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('a changed secret replaces the instance that uses it, and plan shows it by digest only', async () => {
    const before = { app: (await containerOf('app')).Id, other: (await containerOf('other')).Id };
    const newValue = `ROTATED-${randomUUID()}`;
    await writeFile(join(projectDir, 'db_password.txt'), newValue);
    const plan = await cli(['plan', '-f', projectDir, '--json']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.ok(!plan.stdout.includes(newValue), 'plan shows the new value');
    assert.match(plan.stdout, /spec changed: secrets \(secret db_password digest [0-9a-f]{12} → [0-9a-f]{12}\)/);
    await apply();
    const afterIds = { app: (await containerOf('app')).Id, other: (await containerOf('other')).Id };
    assert.notEqual(afterIds.app, before.app, 'app was replaced');
    assert.equal(afterIds.other, before.other, 'other (no secrets) was not');
    const read = await inside(afterIds.app, 'cat /run/secrets/db_pw');
    assert.equal(read.output, newValue);
    // The replaced container's files went with it.
    assert.equal((await readdir(secretsDir(hostA))).length, 1, 'one container\'s dir on A\'s tmpfs');
    const again = await apply();
    assert.equal((await containerOf('app')).Id, afterIds.app, `an unchanged secret is not a change:\n${again.stdout}`);
  });
});
