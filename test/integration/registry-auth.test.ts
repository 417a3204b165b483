import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RegistryCredentialsFile } from '../../agent/runtime/registry-credentials.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import { TEST_IMAGE, desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';
import { consume, filesUnder, startLocalRegistry, type LocalRegistry } from '../lib/local-registry.js';

// Pulls from a private registry (a real one on 127.0.0.1 with htpasswd auth) with the host's
// credentials file: the right entry is sent, wrong credentials stop the plan before any container
// is touched, and the secret appears in nothing Hostwright writes or says.

const PASSWORD = `pw-${uniqueName('s')}-secret`;



describe('registry credentials (real Docker, real registry)', () => {
  let registry: LocalRegistry;
  let dir: string;
  let image: string;
  let repository: string;
  const projects: string[] = [];
  const logLines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logLines.push(chunk.toString()), done()) }));

  const writeCredentials = async (file: string, password: string, mode = 0o600) => {
    const auth = Buffer.from(`${registry.username}:${password}`).toString('base64');
    await writeFile(file, JSON.stringify({ auths: { [`https://${registry.host}`]: { auth }, 'other.example:5000': { username: 'x', password: 'y' } } }), { mode });
    await chmod(file, mode);
  };

  before(async () => {
    registry = await startLocalRegistry('deployer', PASSWORD);
    dir = await mkdtemp(join(tmpdir(), 'hw-creds-'));
    repository = `${uniqueName('hw')}/app`;
    image = `${registry.host}/${repository}:1`;
    await docker.getImage(TEST_IMAGE).tag({ repo: `${registry.host}/${repository}`, tag: '1' });
    await consume(await docker.getImage(image).push({ authconfig: { username: registry.username, password: PASSWORD, serveraddress: registry.host } }));
    // Only the tag goes: the pull must fetch the manifest from the registry again.
    await docker.getImage(image).remove();
  });
  after(async () => {
    await Promise.all(projects.map(removeProject));
    await docker.getImage(image).remove().catch(() => undefined);
    await registry?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('without credentials the pull fails and says how to give the agent some', async () => {
    const h = await openHarness('regnone', { runtime: new DockerRuntime({ docker }) });
    try {
      const project = uniqueName('regnone');
      projects.push(project);
      await h.journal.putDesired(desired(project, { web: service({ image }) }));
      const report = await h.reconciler.runCycle({ explicit: true });
      assert.equal(report.failed, true);
      const pull = report.results.find((r) => r.action.kind === 'pull-image');
      assert.equal(pull?.outcome, 'failed');
      assert.match(pull?.message ?? '', /no basic auth credentials|unauthorized/);
      assert.match(pull?.message ?? '', /--registry-auth FILE/);
      assert.equal((await projectContainers(project)).length, 0);
    } finally {
      await h.close();
    }
  });

  it('wrong credentials stop the plan before the running container is touched; corrected in the file, the next cycle pulls with them', async () => {
    const file = join(dir, 'config.json');
    await writeCredentials(file, 'not-the-password');
    const { credentials, warning } = await RegistryCredentialsFile.open(file);
    assert.equal(warning, undefined, 'mode 0600 raises no warning');
    const h = await openHarness('regauth', { runtime: new DockerRuntime({ docker, registryAuth: credentials }), logger });
    try {
      const project = uniqueName('regauth');
      projects.push(project);
      await h.journal.putDesired(desired(project, { web: service() }));
      assert.equal((await h.reconciler.runCycle({ explicit: true })).failed, false);
      const [before] = await projectContainers(project);
      assert.ok(before, 'the first revision runs');

      await h.journal.putDesired(desired(project, { web: service({ image }) }, { revision: 2 }));
      const refused = await h.reconciler.runCycle({ explicit: true });
      assert.equal(refused.failed, true);
      assert.deepEqual(refused.results.map((r) => [r.action.kind, r.outcome]), [['pull-image', 'failed']], 'only the pull ran');
      const message = refused.results[0]?.message ?? '';
      assert.match(message, new RegExp(`the registry ${registry.host.replace(/\./g, '\\.')} refused the credentials from ${file.replace(/[.]/g, '\\.')} \\(auths\\."https://${registry.host.replace(/\./g, '\\.')}"\\)`));
      const [still] = await projectContainers(project);
      assert.equal(still?.Id, before.Id, 'the running container was not touched');
      assert.equal(still?.State, 'running');

      // Rotation: the file is read again for each pull, no restart needed.
      await writeCredentials(file, PASSWORD);
      const pulled = await h.reconciler.runCycle({ explicit: true });
      assert.equal(pulled.failed, false, pulled.results.map((r) => r.message).join('; '));
      const pull = pulled.results.find((r) => r.action.kind === 'pull-image');
      assert.equal(pull?.outcome, 'done');
      assert.match(pull?.message ?? '', /digest sha256:[0-9a-f]{64}/, 'the digest the tag resolved to');
      assert.match(pull?.message ?? '', /credentials: .*auths\."https:\/\/127\.0\.0\.1:\d+"/, 'a reference to the credentials used');
      const [after] = await projectContainers(project);
      assert.equal(after?.Image, image);
      assert.equal(after?.State, 'running');

      // The secret, plain or as config.json's base64, appears nowhere Hostwright writes or says.
      const secrets = [PASSWORD, Buffer.from(`${registry.username}:${PASSWORD}`).toString('base64')];
      const said = JSON.stringify({ refused: { plan: refused.plan, results: refused.results, status: refused.status }, pulled: { plan: pulled.plan, results: pulled.results, status: pulled.status }, events: (await h.journal.readEvents()).events });
      const logs = logLines.join('');
      assert.ok(logs.length > 0, 'the reconciler logged');
      for (const secret of secrets) {
        assert.ok(!said.includes(secret), 'not in plans, results, status or events');
        assert.ok(!logs.includes(secret), 'not in the logs');
        for (const bytes of await filesUnder(h.dataDir)) assert.equal(bytes.indexOf(secret), -1, 'not in the journal directory');
      }
    } finally {
      await h.close();
    }
  });

  it('a credentials file others can read is used with a warning; a malformed one is refused with its path and without its content', async () => {
    const loose = join(dir, 'loose.json');
    await writeCredentials(loose, PASSWORD, 0o644);
    const { warning } = await RegistryCredentialsFile.open(loose);
    assert.match(warning ?? '', /readable by others.*0644.*chmod 600/);

    const broken = join(dir, 'broken.json');
    await writeFile(broken, `{"auths": {"${registry.host}": {"auth": "${PASSWORD}"`, { mode: 0o600 });
    await assert.rejects(RegistryCredentialsFile.open(broken), (error: Error) => error.message.includes(broken) && !error.message.includes(PASSWORD) && /not valid JSON/.test(error.message));

    const wrongShape = join(dir, 'shape.json');
    await writeFile(wrongShape, JSON.stringify({ auths: { [registry.host]: { auth: 42 } } }), { mode: 0o600 });
    await assert.rejects(RegistryCredentialsFile.open(wrongShape), new RegExp(`${wrongShape.replace(/\./g, '\\.')}: auths\\.127\\.0\\.0\\.1:\\d+\\.auth`));
  });

  it('a credential helper named by credHelpers answers for its registry (identity token by the "<token>" user)', async () => {
    const bin = join(dir, 'bin');
    await import('node:fs/promises').then((fs) => fs.mkdir(bin, { recursive: true }));
    const helper = join(bin, 'docker-credential-hwtest');
    // Answers for the test registry only, as the helper protocol says: the server URL on stdin.
    await writeFile(helper, `#!/bin/sh\nread server\nif [ "$server" = "${registry.host}" ]; then printf '{"ServerURL":"%s","Username":"${registry.username}","Secret":"${PASSWORD}"}' "$server"; elif [ "$server" = "tok.example:5000" ]; then printf '{"ServerURL":"%s","Username":"<token>","Secret":"tok-123"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi\n`, { mode: 0o700 });
    const file = join(dir, 'helpers.json');
    await writeFile(file, JSON.stringify({ credHelpers: { [registry.host]: 'hwtest', 'tok.example:5000': 'hwtest' } }), { mode: 0o600 });
    const previousPath = process.env.PATH;
    process.env.PATH = `${bin}:${previousPath ?? ''}`;
    try {
      const { credentials } = await RegistryCredentialsFile.open(file);
      const lookup = await credentials.lookup(image);
      assert.deepEqual(lookup.auth, { serveraddress: registry.host, username: registry.username, password: PASSWORD });
      assert.match(lookup.source, /credHelpers\."127\.0\.0\.1:\d+": docker-credential-hwtest/);
      assert.deepEqual((await credentials.lookup('tok.example:5000/app@sha256:' + 'a'.repeat(64))).auth, { serveraddress: 'tok.example:5000', identitytoken: 'tok-123' });
      const none = await credentials.lookup('ghcr.io/acme/app:1');
      assert.equal(none.auth, undefined);
      assert.match(none.source, /no entry for ghcr\.io/);
    } finally {
      process.env.PATH = previousPath;
    }
  });

  it('a digest-pinned service is pulled once: applied again and scaled up while the registry is down, it is not pulled again; status shows the image id and digest each instance runs', async () => {
    const pinnedRepository = `${uniqueName('hw')}/pinned`;
    const tagged = `${registry.host}/${pinnedRepository}:1`;
    await docker.getImage(TEST_IMAGE).tag({ repo: `${registry.host}/${pinnedRepository}`, tag: '1' });
    await consume(await docker.getImage(tagged).push({ authconfig: { username: registry.username, password: PASSWORD, serveraddress: registry.host } }));
    const digestRef = (await docker.getImage(tagged).inspect()).RepoDigests.find((ref) => ref.startsWith(`${registry.host}/${pinnedRepository}@`));
    assert.ok(digestRef, 'the push recorded the repo digest');
    // Neither the tag nor the digest reference stays: the first apply must pull.
    await docker.getImage(tagged).remove();
    await docker.getImage(digestRef).remove().catch(() => undefined);
    const file = join(dir, 'pinned.json');
    await writeCredentials(file, PASSWORD);
    const { credentials } = await RegistryCredentialsFile.open(file);
    const h = await openHarness('regpin', { runtime: new DockerRuntime({ docker, registryAuth: credentials }) });
    const project = uniqueName('regpin');
    projects.push(project);
    try {
      const gets = () => registry.manifestRequests(pinnedRepository);
      const before = await gets();
      await h.journal.putDesired(desired(project, { web: service({ image: digestRef }) }));
      const first = await h.reconciler.runCycle({ explicit: true });
      assert.equal(first.failed, false, first.results.map((r) => r.message).join('; '));
      assert.equal(first.results.filter((r) => r.action.kind === 'pull-image').length, 1, 'pulled once');
      const afterFirst = await gets();
      assert.ok(afterFirst > before, `the registry served the manifest:\n${await registry.accessLog(pinnedRepository)}`);

      const again = await h.reconciler.runCycle({ explicit: true });
      assert.deepEqual(again.results, [], 'applied again: nothing to do');
      await h.journal.putDesired(desired(project, { web: service({ image: digestRef, stop_timeout: '2s' }) }, { revision: 2 }));
      const changed = await h.reconciler.runCycle({ explicit: true });
      assert.equal(changed.failed, false);
      assert.equal(changed.results.filter((r) => r.action.kind === 'pull-image').length, 0, 'a new revision of the same pinned image pulls nothing');
      assert.equal(await gets(), afterFirst, 'no manifest request after the first pull');

      await registry.stop();
      await h.journal.putDesired(desired(project, { web: service({ image: digestRef, stop_timeout: '2s', replicas: 3 }) }, { revision: 3 }));
      const scaled = await h.reconciler.runCycle({ explicit: true });
      assert.equal(scaled.failed, false, scaled.results.map((r) => r.message).join('; '));
      assert.equal(scaled.results.filter((r) => r.action.kind === 'pull-image').length, 0);
      assert.equal((await projectContainers(project)).filter((c) => c.State === 'running').length, 3, 'scaled up with the registry down');

      const imageId = (await docker.getImage(digestRef).inspect()).Id;
      const instances = scaled.status?.projects.find((p) => p.project === project)?.instances ?? [];
      assert.equal(instances.length, 3);
      for (const instance of instances) {
        assert.equal(instance.imageId, imageId);
        assert.match(instance.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
      }
      assert.ok(instances.some((instance) => digestRef.endsWith(`@${instance.imageDigest ?? ''}`)) || instances.every((instance) => instance.imageDigest !== undefined), 'a repo digest of the image');
    } finally {
      await registry.start();
      await h.close();
    }
  });

  it('pull_policy always: a tag pushed again with new content replaces exactly that service\'s instances; the same content touches nothing', async () => {
    const movingRepository = `${uniqueName('hw')}/moving`;
    const moving = `${registry.host}/${movingRepository}:stable`;
    const auth = { authconfig: { username: registry.username, password: PASSWORD, serveraddress: registry.host } };
    await docker.getImage(TEST_IMAGE).tag({ repo: `${registry.host}/${movingRepository}`, tag: 'stable' });
    await consume(await docker.getImage(moving).push(auth));
    const file = join(dir, 'moving.json');
    await writeCredentials(file, PASSWORD);
    const { credentials } = await RegistryCredentialsFile.open(file);
    const h = await openHarness('regalways', { runtime: new DockerRuntime({ docker, registryAuth: credentials }) });
    const project = uniqueName('regalways');
    projects.push(project);
    const byService = async () => Object.fromEntries((await projectContainers(project)).map((c) => [c.Names[0]?.replace(/^\//, '') ?? '', c.Id]));
    try {
      await h.journal.putDesired(desired(project, { web: service({ image: moving, pull_policy: 'always', replicas: 2 }), other: service({ image: moving }) }));
      const first = await h.reconciler.runCycle({ explicit: true });
      assert.equal(first.failed, false, first.results.map((r) => r.message).join('; '));
      const before = await byService();
      assert.equal(Object.keys(before).length, 3);

      // Same content: the pull runs (always), the image does not move, nothing else happens.
      const same = await h.reconciler.runCycle({ explicit: true });
      assert.equal(same.failed, false);
      assert.deepEqual(same.results.map((r) => r.action.kind), ['pull-image'], same.results.map((r) => r.message).join('; '));
      assert.match(same.results[0]?.action.reason ?? '', /pull_policy: always/);
      assert.deepEqual(await byService(), before, 'no container touched');

      // New content under the same tag, pushed from elsewhere: the local tag still names the old image.
      const build = await mkdtemp(join(tmpdir(), 'hw-moving-'));
      try {
        await writeFile(join(build, 'Dockerfile'), `FROM ${TEST_IMAGE}\nRUN echo ${uniqueName('v')} > /version\n`);
        await import('node:child_process').then(({ execFileSync }) => execFileSync('docker', ['build', '-q', '-t', `${registry.host}/${movingRepository}:next`, build], { stdio: 'ignore' }));
      } finally {
        await rm(build, { recursive: true, force: true });
      }
      await docker.getImage(`${registry.host}/${movingRepository}:next`).tag({ repo: `${registry.host}/${movingRepository}`, tag: 'stable' });
      await consume(await docker.getImage(moving).push(auth));
      const newId = (await docker.getImage(moving).inspect()).Id;
      // Back to the old content locally, as on a host that has not pulled yet.
      await docker.getImage(TEST_IMAGE).tag({ repo: `${registry.host}/${movingRepository}`, tag: 'stable' });
      await docker.getImage(`${registry.host}/${movingRepository}:next`).remove();

      const moved = await h.reconciler.runCycle({ explicit: true });
      assert.equal(moved.failed, false, moved.results.map((r) => r.message).join('; '));
      const after = await byService();
      assert.equal(after[`${project}-other-1`], before[`${project}-other-1`], 'the service with pull_policy missing keeps its container');
      for (const name of [`${project}-web-1`, `${project}-web-2`]) assert.notEqual(after[name], before[name], `${name} was replaced`);
      const replaced = moved.results.filter((r) => r.action.kind === 'create').map((r) => r.action.reason);
      assert.equal(replaced.length, 2);
      for (const reason of replaced) assert.match(reason, /image moved/);
      for (const name of [`${project}-web-1`, `${project}-web-2`]) assert.equal((await docker.getContainer(name).inspect()).Image, newId);

      const settled = await h.reconciler.runCycle({ explicit: true });
      assert.deepEqual(settled.results.map((r) => r.action.kind), ['pull-image'], 'converged: only the pull always does');
    } finally {
      await docker.getImage(moving).remove({ force: true }).catch(() => undefined);
      await h.close();
    }
  });
});
