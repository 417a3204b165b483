import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { uniqueName } from '../lib/builders.js';
import { killOnExit } from '../lib/child-reaper.js';
import { runCli } from '../lib/cli.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

interface HostsJson {
  readonly hosts: { hostId: string; labels: Record<string, string>; agentVersion: string; stale: boolean }[];
}

/** The unit's Environment= variables (NAME=value, unquoted as the installer writes them). */
function environmentOf(unit: string): Record<string, string> {
  const lines = unit.split('\n').filter((candidate) => candidate.startsWith('Environment='));
  return Object.fromEntries(lines.map((line) => {
    const assignment = line.slice('Environment='.length);
    const at = assignment.indexOf('=');
    return [assignment.slice(0, at), assignment.slice(at + 1)];
  }));
}

/** The unit's ExecStart= as arguments (the installer quotes none of these temp paths). */
function execStartOf(unit: string): string[] {
  const line = unit.split('\n').find((candidate) => candidate.startsWith('ExecStart='));
  assert.ok(line, 'the unit has an ExecStart= line');
  return line.slice('ExecStart='.length).split(' ');
}

/**
 * A host operator's path without a git checkout: the npm tarball, installed into an empty prefix,
 * `hostwright agent install`, and the agent started with exactly the unit's command line.
 */
describe('installing the agent from the packed tarball (npm pack, agent install)', () => {
  const hostId = uniqueName('installed');
  let dir: string;
  let nats: NatsServerHandle;
  let agent: ChildProcess | undefined;
  let agentOutput = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-install-'));
    const init = await runCli(['fleet', 'init', '--dir', join(dir, 'fleet'), '--host', hostId]);
    assert.equal(init.code, 0, init.stderr);
    nats = await startNatsServer({ include: join(dir, 'fleet', 'accounts.conf') });
    // The first coordinator command creates the buckets agents bind to.
    const hosts = await runCli(['hosts', '--json', '--nats', nats.url, '--creds', join(dir, 'fleet', 'coordinator.nk')]);
    assert.equal(hosts.code, 0, hosts.stderr);
  });

  after(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await nats?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  let cli: string;
  it('npm pack makes a tarball with the bundled CLI, the units and no tests; it installs into an empty prefix', async () => {
    // dist/ is built already (npm test builds first); a release's `npm pack` builds it through `prepare`.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    assert.ok(packed);
    const files = packed.files.map((file) => file.path);
    for (const expected of ['dist/cli/hostwright.js', 'deploy/systemd/hostwright-agent.service', 'deploy/systemd/nats-server.service', 'package.json']) assert.ok(files.includes(expected), `${expected} is in the tarball`);
    assert.deepEqual(files.filter((file) => file.startsWith('dist/test/') || file.startsWith('dist/bench/')), []);
    // The shared npm cache serves what it has; anything else comes from the npm registry.
    const prefix = join(dir, 'prefix');
    await run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund', join(dir, packed.filename)], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
    cli = join(prefix, 'bin', 'hostwright');
    const version = await run(cli, ['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const help = await run(cli, ['agent', 'install', '--help']);
    assert.match(help.stdout, /--config-only/);
  });

  const root = () => join(dir, 'root');
  const installArgs = () => ['agent', 'install', '--prefix', root(), '--host-id', hostId, '--label', 'role=installed', '--nats', nats.url, '--creds', join(dir, 'fleet', 'hosts', `${hostId}.nk`), '--coordinator-key', join(dir, 'fleet', 'coordinator-signing.pub')];

  it('agent install writes the config (0600), the unit and the data dir (0700), and changes nothing when run again', async () => {
    const first = await run(cli, installArgs());
    assert.match(first.stdout, /^written +.*\/etc\/hostwright\/agent\.yaml$/m);
    assert.match(first.stdout, /^written +.*\/etc\/systemd\/system\/hostwright-agent\.service$/m);
    const config = join(root(), 'etc/hostwright/agent.yaml');
    const unitPath = join(root(), 'etc/systemd/system/hostwright-agent.service');
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    assert.equal((await stat(join(root(), 'etc/hostwright'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(root(), 'var/lib/hostwright'))).mode & 0o777, 0o700);
    assert.equal((await stat(unitPath)).mode & 0o777, 0o644);
    const before = [await readFile(config, 'utf8'), await readFile(unitPath, 'utf8')];
    const second = await run(cli, installArgs());
    assert.match(second.stdout, /^unchanged +.*agent\.yaml$/m);
    assert.match(second.stdout, /^unchanged +.*hostwright-agent\.service$/m);
    assert.deepEqual([await readFile(config, 'utf8'), await readFile(unitPath, 'utf8')], before);
    assert.deepEqual((await readdir(join(root(), 'etc/hostwright'))).sort(), ['agent.yaml']);
    // Other settings on top of an existing file: refused, and nothing changes.
    const other = await runCli([...installArgs().slice(0, 4), '--host-id', 'someone-else', '--nats', nats.url, '--allow-unsigned']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /exists with other settings; nothing was changed/);
    assert.equal(await readFile(config, 'utf8'), before[0]);
  });

  it('the unit names the installed CLI and this Node, and passes systemd-analyze verify', { skip: !has('systemd-analyze') && 'systemd-analyze is not installed (Debian package systemd)' }, async () => {
    const unitPath = join(root(), 'etc/systemd/system/hostwright-agent.service');
    const command = execStartOf(await readFile(unitPath, 'utf8'));
    assert.equal(command[0], process.execPath);
    assert.equal(command[1], join(dir, 'prefix', 'lib', 'node_modules', 'hostwright', 'dist', 'cli', 'hostwright.js'));
    assert.deepEqual(command.slice(2), ['agent', '--config', join(root(), 'etc/hostwright/agent.yaml')]);
    const verify = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '');
  });

  // systemd is not PID 1 here: the unit's command line runs as systemd would start it (in /, with
  // a bare environment) and, as root, without any capability and with no_new_privs (setpriv), as
  // CapabilityBoundingSet= and NoNewPrivileges= leave it.
  it('started with the unit\'s command line and environment, the agent registers in hw_hosts with the configured labels', async () => {
    const unit = await readFile(join(root(), 'etc/systemd/system/hostwright-agent.service'), 'utf8');
    const command = execStartOf(unit);
    const environment = environmentOf(unit);
    // glibc's malloc arenas capped (docs/RELIABILITY.md, "Memory over time").
    assert.deepEqual(environment, { MALLOC_ARENA_MAX: '2' });
    const confined = process.getuid?.() === 0 && has('setpriv');
    const argv = confined ? ['setpriv', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--', ...command] : command;
    agent = spawn(argv[0] as string, argv.slice(1), { cwd: '/', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...environment }, stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(agent);
    agent.stdout?.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    agent.stderr?.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    const running = agent;
    const host = await waitFor(`${hostId} registered`, async () => {
      if (running.exitCode !== null) throw new Error(`the agent exited ${running.exitCode}:\n${agentOutput.slice(-3000)}`);
      const result = await runCli(['hosts', '--json', '--nats', nats.url, '--creds', join(dir, 'fleet', 'coordinator.nk')]);
      if (result.code !== 0) throw new Error(result.stderr);
      return (JSON.parse(result.stdout) as HostsJson).hosts.find((candidate) => candidate.hostId === hostId && !candidate.stale);
    }, 60_000, 500).catch((error: unknown) => {
      throw new Error(`${String(error)}\nagent output:\n${agentOutput.slice(-3000)}`);
    });
    assert.deepEqual(host.labels, { role: 'installed' });
    // setpriv execs the agent in place: the process that registered runs with the unit's environment.
    const agentEnvironment = (await readFile(`/proc/${running.pid}/environ`, 'utf8')).split('\0');
    assert.ok(agentEnvironment.includes('MALLOC_ARENA_MAX=2'), `the agent's environment: ${agentEnvironment.join(' ')}`);
    assert.match(agentOutput, /"msg":"configuration file read/);
    running.kill('SIGTERM');
    const [code] = (await once(running, 'exit')) as [number | null];
    assert.equal(code, 0, agentOutput.slice(-3000));
  });
});
