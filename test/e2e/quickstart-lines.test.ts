import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LABELS } from '../../shared/labels.js';

// dist/test/e2e/ -> the repository.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** A PATH without the Node this test runs on: the machine's own (Node 20 on Debian's), or none. */
const SYSTEM_PATH = '/usr/bin:/bin';

function run(command: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The hostwright commands of printed lines: `hostwright …` at a line's start or after `&&` or `: `, comments left out. */
function hostwrightCommands(text: string): string[][] {
  return text
    .split('\n')
    .flatMap((line) => line.replace(/\s+#.*$/, '').split(/&&|: (?=hostwright )/))
    .map((part) => part.trim())
    .filter((part) => part.startsWith('hostwright '))
    .map((part) => part.split(/\s+/).slice(1));
}

// The quick start's last lines used to run `npx hostwright` on the machine's Node 20 (npm's
// EBADENGINE warning, Hostwright's Node warning, 10 s for `hosts`), and --stop printed an apply
// that cannot work once NATS is stopped. Checked without running the quick start itself.
describe('the quick start prints commands that work as printed', () => {
  let dir: string;
  let env: Record<string, string>;
  let next: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-quickstart-'));
    env = { HOSTWRIGHT_QUICKSTART_DIR: dir };
    const printed = await run('bash', ['deploy/quickstart.sh', '--next'], env);
    assert.equal(printed.code, 0, printed.stderr);
    next = printed.stdout;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts a hostwright on the PATH with its first line, and no line runs npx', async () => {
    assert.doesNotMatch(next, /npx/);
    assert.match(next, new RegExp(`^ {2}export PATH=${dir}/bin:\\$PATH$`, 'm'));
    await access(join(dir, 'bin', 'hostwright'), constants.X_OK);
    assert.ok(hostwrightCommands(next).length >= 6, next);
  });

  it('each printed hostwright command exists with the flags it is given, on a PATH whose node is the machine\'s own, without a Node warning', async () => {
    const wrapper = join(dir, 'bin', 'hostwright');
    const started = Date.now();
    const version = await run(wrapper, ['--version'], { PATH: SYSTEM_PATH });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal(version.stderr, '', 'no warning about the Node.js version');
    assert.ok(Date.now() - started < 5_000, `hostwright --version took ${Date.now() - started} ms`);
    for (const [command, ...args] of hostwrightCommands(next)) {
      assert.ok(command, next);
      const help = await run(wrapper, [command, '--help'], { PATH: SYSTEM_PATH });
      assert.equal(help.code, 0, `hostwright ${command} --help: ${help.stderr}`);
      assert.equal(help.stderr, '', `hostwright ${command} --help warned`);
      for (const flag of args.filter((arg) => arg.startsWith('-'))) assert.match(help.stdout, new RegExp(`(^|[ ,])${flag}[ ,\\n]`, 'm'), `hostwright ${command} has no ${flag}`);
    }
  });

  it('--stop prints a cleanup that works with NATS stopped (Docker by the project label), not a Hostwright apply', async () => {
    const stopped = await run('bash', ['deploy/quickstart.sh', '--stop'], env);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.doesNotMatch(stopped.stdout, /hostwright apply/);
    for (const kind of ['ps -aq', 'network ls -q', 'volume ls -q']) assert.match(stopped.stdout, new RegExp(`docker ${kind} --filter label=${LABELS.project.replaceAll('.', '\\.')}=shop \\| xargs -r docker`), stopped.stdout);
    const syntax = await run('bash', ['-n', '-c', stopped.stdout.split('\n').filter((line) => line.startsWith('  docker')).join('\n')], {});
    assert.equal(syntax.code, 0, syntax.stderr);
  });
});
