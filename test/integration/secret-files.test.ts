import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCurve } from '@nats-io/nkeys';
import { SecretFileStore } from '../../agent/runtime/secret-files.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import { Reconciler } from '../../agent/reconciler.js';
import { LOCAL_HOST_POLICY } from '../../agent/core/host-policy.js';
import { pino } from 'pino';
import { QUICK_STOP_COMMAND, desired, service, uniqueName } from '../lib/builders.js';
import { inside } from '../lib/container-exec.js';
import { docker, openHarness, removeProject } from '../lib/docker-harness.js';
import { fileSecretDigest, type FileSecret } from '../../shared/file-secrets.js';
import { sealFileSecret } from '../../shared/file-secret-keys.js';

// The agent's side of compose secrets on the real file system: a tmpfs (/dev/shm) and a disk (/tmp),
// and a container on the real engine whose files a reboot took away.

describe('secret files on the agent\'s tmpfs', () => {
  const root = `/dev/shm/hw-test-secret-files-${randomUUID().slice(0, 8)}`;
  const host = createCurve();
  const secret = (content: string, extra: Partial<FileSecret> = {}): FileSecret => sealFileSecret({ name: 'pw', kind: 'secret', target: '/run/secrets/pw', uid: '1234', gid: '5678', mode: 0o440, value: { content, digest: fileSecretDigest(content, new Uint8Array(32)) }, ...extra }, host.getPublicKey());
  const project = uniqueName('secret-reboot');
  after(async () => {
    await removeProject(project);
    await rm(root, { recursive: true, force: true });
  });

  it('writes each file with its owner and mode in a 0700 dir of the container\'s own, and mounts it at its target', async () => {
    const store = new SecretFileStore(root, host);
    const { dir, mounts } = await store.materialize('shop-db-1', [secret('v1'), secret('c1', { name: 'conf', kind: 'config', target: '/conf', uid: '0', gid: '0', mode: 0o444 })]);
    assert.equal((await stat(root)).mode & 0o777, 0o700);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const [first, second] = mounts.map((mount) => [mount.source, mount.target]);
    assert.deepEqual([first?.[1], second?.[1]], ['/run/secrets/pw', '/conf']);
    const info = await stat(first?.[0] as string);
    assert.deepEqual([info.mode & 0o7777, info.uid, info.gid], [0o440, 1234, 5678]);
    assert.equal(await readFile(first?.[0] as string, 'utf8'), 'v1');
    assert.equal(await readFile(second?.[0] as string, 'utf8'), 'c1');
    assert.deepEqual(store.dirsOf([...mounts.map((mount) => mount.source), '/srv/data']), [dir]);
    await store.remove(dir);
    assert.deepEqual(await readdir(root), []);
  });

  it('refuses a value sealed to another host, an agent without a curve key and a dir on a disk, leaving nothing behind', async () => {
    const other = createCurve();
    await assert.rejects(new SecretFileStore(root, other).materialize('shop-db-2', [secret('v1')]), /create shop-db-2: secret pw cannot be opened with this host's curve key/);
    assert.deepEqual(await readdir(root), [], 'no half-written dir');
    await assert.rejects(new SecretFileStore(root, undefined).materialize('shop-db-3', [secret('v1')]), /no curve key .* --curve-key/);
    const disk = await mkdtemp(join(tmpdir(), 'hw-secret-disk-'));
    try {
      await assert.rejects(new SecretFileStore(join(disk, 'secrets'), host).materialize('shop-db-4', [secret('v1')]), /is not on a tmpfs .* --secrets-dir/);
    } finally {
      await rm(disk, { recursive: true, force: true });
    }
  });

  it('after a reboot empties the tmpfs, the restarted agent writes the files again from the sealed desired state before it starts the container', async () => {
    const runtimeWith = () => new DockerRuntime({ docker, secretFiles: new SecretFileStore(root, host) });
    const h = await openHarness('secret-reboot', { runtime: runtimeWith() });
    try {
      await h.journal.putDesired(desired(project, { db: service({ restart: 'unless-stopped', command: QUICK_STOP_COMMAND, stop_timeout: '1s', secrets: [secret('v1')] }) }));
      const first = await h.reconciler.runCycle();
      assert.equal(first.failed, false, first.results.map((r) => r.message).join('; '));
      const container = docker.getContainer(`${project}-db-1`);
      const source = (await container.inspect()).HostConfig.Mounts?.find((mount) => mount.Target === '/run/secrets/pw')?.Source ?? '';
      assert.ok(source.startsWith(`${root}/`), source);
      // The reboot: the container stops, the tmpfs comes back empty, and the engine will not start the container.
      await container.stop({ t: 1 });
      await rm(root, { recursive: true, force: true });
      await assert.rejects(container.start(), /bind source path does not exist|no such file or directory/);
      // The agent starts again (a new runtime and secret store over the same journal) and repairs the stopped instance.
      const reconciler = new Reconciler({ runtime: runtimeWith(), journal: h.journal, logger: pino({ level: 'silent' }), policy: LOCAL_HOST_POLICY, hostId: h.hostId });
      const repair = await reconciler.runCycle();
      assert.ok(repair.results.some((r) => r.action.kind === 'start' && r.outcome === 'done'), repair.results.map((r) => `${r.action.kind} ${r.outcome} ${r.message}`).join('; '));
      assert.equal((await container.inspect()).State.Running, true);
      const info = await stat(source);
      assert.deepEqual([info.mode & 0o7777, info.uid, info.gid], [0o440, 1234, 5678]);
      const seen = await inside((await container.inspect()).Id, 'cat /run/secrets/pw');
      assert.deepEqual(seen, { output: 'v1', code: 0 });
    } finally {
      await h.close();
    }
  });
});
