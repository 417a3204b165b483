import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorkload } from '../../coordinator/workload-file.js';
import { OutsideProjectError } from '../../shared/errors.js';
import { runCli } from '../lib/cli.js';

// The review's finding: `env_file: ../../../../proc/self/environ` was read on the coordinator and
// its values given to the container. Files a compose file names stay inside the project directory
// (symlinks followed) unless --allow-outside-project says otherwise. Real files, real symlinks.

describe('files a compose file makes the coordinator read stay inside the project directory', () => {
  let root: string;
  let project: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'hw-bound-')));
    project = join(root, 'app');
    await mkdir(join(project, 'config'), { recursive: true });
    await writeFile(join(root, 'shared.env'), 'SHARED=from-outside\n');
    await writeFile(join(project, 'config', 'app.env'), 'INSIDE=yes\n');
    await symlink(join(root, 'shared.env'), join(project, 'linked.env'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const compose = async (envFile: string, name = 'compose.yaml') => {
    const file = join(project, name);
    await writeFile(file, `services:\n  api:\n    image: hw/busybox:test\n    env_file: ${envFile}\n`);
    return file;
  };
  const envOf = async (file: string, allowOutsideProject = false) => (await loadWorkload({ files: [file], allowOutsideProject }, {})).fleet.services.api?.env;

  it('reads env files inside the project, also by a path that leaves it and comes back', async () => {
    assert.deepEqual(await envOf(await compose('./config/app.env')), { INSIDE: 'yes' });
    assert.deepEqual(await envOf(await compose('../app/config/app.env')), { INSIDE: 'yes' });
    assert.deepEqual(await envOf(await compose(join(project, 'config', 'app.env'))), { INSIDE: 'yes' }, 'an absolute path inside');
  });

  for (const [what, envFile, resolved] of [
    ['../ (a sibling of the project)', '../shared.env', undefined],
    ['an escape to /proc/self/environ', '../../../../../../../../proc/self/environ', undefined],
    ['an absolute path outside (os-release: KEY=VALUE lines)', '/etc/os-release', undefined],
    ['a symlink inside the project pointing outside', './linked.env', 'shared.env'],
    ['a file that may be missing, outside', '[{ path: ../shared.env, required: false }]', undefined],
  ] as const) {
    it(`refuses ${what}, naming the file, the project directory and the flag; --allow-outside-project reads it`, async () => {
      const file = await compose(envFile);
      await assert.rejects(envOf(file), (error: unknown) => {
        assert.ok(error instanceof Error && error.message.includes(`is outside the project directory ${project}`), String(error));
        assert.match(error.message, /compose\.yaml:4:\d+ services\.api\.env_file: env_file /);
        assert.match(error.message, /pass --allow-outside-project to read it anyway$/);
        if (resolved) assert.ok(error.message.includes(`(it resolves to ${join(root, resolved)})`), error.message);
        return true;
      });
      if (envFile.includes('shared.env')) assert.deepEqual(await envOf(file, true), { SHARED: 'from-outside' });
      else assert.ok(Object.keys((await envOf(file, true)) ?? {}).length > 0, 'read when allowed');
    });
  }

  it('refuses a .env beside the compose file that is a symlink out of the project', async () => {
    const dir = join(root, 'dotenv');
    await mkdir(dir);
    await writeFile(join(dir, 'compose.yaml'), 'services:\n  api:\n    image: hw/busybox:${TAG}\n');
    await symlink(join(root, 'shared.env'), join(dir, '.env'));
    await assert.rejects(loadWorkload({ files: [dir] }, {}), (error: unknown) => error instanceof OutsideProjectError && error.message.startsWith(`the .env file ${join(dir, '.env')} (it resolves to ${join(root, 'shared.env')}) is outside the project directory ${dir}`));
    await writeFile(join(root, 'shared.env'), 'TAG=test\n');
    assert.equal((await loadWorkload({ files: [dir], allowOutsideProject: true }, {})).fleet.services.api?.image, 'hw/busybox:test');
    await writeFile(join(root, 'shared.env'), 'SHARED=from-outside\n');
  });

  it('the CLI says so in one error and exits 1; with --allow-outside-project it converts', async () => {
    const file = await compose('../../../../../../../../proc/self/environ', 'cli.yaml');
    const refused = await runCli(['convert', '-f', file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: .*cli\.yaml:4:\d+ services\.api\.env_file: env_file \/proc\/self\/environ \(it resolves to \/proc\/\d+\/environ\) is outside the project directory/);
    assert.equal(refused.stdout, '');
    const allowed = await runCli(['convert', '-f', file, '--allow-outside-project'], { HW_BOUND_PROBE: 'visible' });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /HW_BOUND_PROBE=visible/);
  });
});
