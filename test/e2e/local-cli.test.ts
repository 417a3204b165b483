import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../agent/store/journal.js';
import { uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { docker, projectContainers, removeProject } from '../lib/docker-harness.js';

function fleetYaml(project: string, extra = ''): string {
  return `project: ${project}
services:
  web:
    image: hw/busybox:test
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    replicas: 2
    stop_timeout: 1s
${extra}`;
}

// The single-host CLI driven as a user would: files, flags, exit codes, output.
describe('hostwright CLI, local mode (real Docker)', () => {
  const project = uniqueName('cli');
  let dir: string;
  let file: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-cli-'));
    file = join(dir, 'fleet.yaml');
    env = { HOSTWRIGHT_DATA_DIR: join(dir, 'data') };
    await writeFile(file, fleetYaml(project));
  });
  after(async () => {
    await removeProject(project);
    await rm(dir, { recursive: true, force: true });
  });

  it('--help works on every command', async () => {
    for (const command of [[], ['plan'], ['apply'], ['status'], ['events'], ['agent'], ['convert']]) {
      const result = await runCli([...command, '--help'], env);
      assert.equal(result.code, 0, `${command.join(' ')} --help`);
      assert.match(result.stdout, /Usage: hostwright/);
    }
  });

  it('plan --detailed-exitcode: 2 with changes, and changes nothing', async () => {
    const result = await runCli(['plan', '-f', file, '--local', '--detailed-exitcode'], env);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout, /a1 +create-network +.*_default/);
    assert.match(result.stdout, /a2 +create +.*-web-1/);
    assert.match(result.stdout, /Plan: 1 create-network, 2 create, 2 start\./);
    assert.equal((await projectContainers(project)).length, 0);
  });

  it('plan --json has the documented schema', async () => {
    const result = await runCli(['plan', '-f', file, '--local', '--json'], env);
    assert.equal(result.code, 0);
    const plan = JSON.parse(result.stdout) as { schema: string; changes: boolean; actions: { id: string; kind: string }[]; diff: { kind: string }[]; blocked: unknown[] };
    assert.equal(plan.schema, 'hostwright.plan/v1');
    assert.equal(plan.changes, true);
    assert.deepEqual(plan.actions.map((a) => a.kind), ['create-network', 'create', 'start', 'create', 'start']);
    assert.deepEqual(plan.diff.map((d) => d.kind), ['create', 'create']);
  });

  it('apply converges and prints each action; a second apply is already converged and changes nothing', async () => {
    const first = await runCli(['apply', '-f', file, '--local'], env);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /done: created .*-web-1/);
    assert.match(first.stdout, /Converged: yes/);
    const ids = (await projectContainers(project)).map((c) => c.Id).sort();
    assert.equal(ids.length, 2);
    const second = await runCli(['apply', '-f', file, '--local'], env);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /Already converged: nothing to do\./);
    assert.deepEqual((await projectContainers(project)).map((c) => c.Id).sort(), ids);
    const plan = await runCli(['plan', '-f', file, '--local', '--detailed-exitcode'], env);
    assert.equal(plan.code, 0);
    assert.match(plan.stdout, /No changes/);
  });

  it('status shows state and drift, in a table and as JSON', async () => {
    await docker.getContainer(`${project}-web-2`).stop({ t: 1 });
    const table = await runCli(['status', '--local'], env);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`${project}-web-2 +exited +none +stopped`));
    const json = await runCli(['status', '--local', '--json'], env);
    const status = JSON.parse(json.stdout) as { schema: string; projects: { converged: boolean; instances: { name: string; state: string; drift: string[] }[] }[] };
    assert.equal(status.schema, 'hostwright.status/v1');
    assert.equal(status.projects[0]?.converged, false);
    assert.deepEqual(status.projects[0]?.instances.map((i) => [i.state, i.drift]), [['running', []], ['exited', ['stopped']]]);
    const repaired = await runCli(['apply', '-f', file, '--local'], env);
    assert.equal(repaired.code, 0);
    assert.match(repaired.stdout, /started .*-web-2/);
  });

  it('events lists what happened, filtered, as text and JSON lines', async () => {
    const text = await runCli(['events', '--local'], env);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /planned/);
    const json = await runCli(['events', '--local', '--json', '--type', 'restarted'], env);
    const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { schema: string; type: string; correlationID: string });
    assert.ok(lines.length >= 1);
    assert.ok(lines.every((event) => event.type === 'restarted' && event.schema === 'hostwright.event/v1' && event.correlationID.length > 0));
    const none = await runCli(['events', '--local', '--since', '0s', '--json'], env);
    assert.equal(none.stdout.trim(), '');
  });

  it('an event message with escape sequences is printed escaped: it cannot rewrite the screen', async () => {
    const journal = await Journal.open(env.HOSTWRIGHT_DATA_DIR as string);
    try {
      await journal.appendEvents([{ id: uniqueName('evt'), type: 'failed', severity: 'error', hostId: 'h1', project: `${project}-hostile`, message: 'disk full\u001b[2K\u001b[1A\rall converged\u001b]0;pwned\u0007\u202e', timestamp: new Date().toISOString(), correlationID: 'c0ffee00-hostile' }]);
    } finally {
      await journal.close();
    }
    const text = await runCli(['events', '--local', '--project', `${project}-hostile`], env);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.includes('disk full\\x1b[2K\\x1b[1A\\rall converged\\x1b]0;pwned\\x07\\u202e'), text.stdout);
    assert.ok(!['\u001b', '\u0007', '\r', '\u202e'].some((raw) => text.stdout.includes(raw)), 'a raw control character reached the terminal');
    // --json keeps the value: JSON escapes each character, a parser gets the message back as it was.
    const json = await runCli(['events', '--local', '--json', '--project', `${project}-hostile`], env);
    const [event] = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { message: string });
    assert.equal(event?.message, 'disk full\u001b[2K\u001b[1A\rall converged\u001b]0;pwned\u0007\u202e');
    assert.ok(!['\u001b', '\u0007', '\r', '\u202e'].some((raw) => json.stdout.includes(raw)), 'a raw control character reached the terminal');
  });

  it('an error message quoting a file name with escape sequences is printed escaped', async () => {
    const result = await runCli(['plan', '-f', join(dir, 'x\u001b[2K\u009bmissing.yaml'), '--local'], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /fleet file not found: .*x\\x1b\[2K\\x9bmissing\.yaml/);
    assert.ok(!result.stderr.includes('\u001b') && !result.stderr.includes('\u009b'), 'a raw control character reached the terminal');
  });

  it('a safety gate blocks with exit code 3 and says why', async () => {
    const empty = join(dir, 'empty.yaml');
    await writeFile(empty, `project: ${project}\nservices: {}\n`);
    const blocked = await runCli(['apply', '-f', empty, '--local'], env);
    assert.equal(blocked.code, 3, blocked.stdout + blocked.stderr);
    assert.match(blocked.stdout, /\[empty-project\].*--allow-empty/);
    assert.equal((await projectContainers(project)).length, 2);
  });

  it('bad input: a clear message and exit 1, never a stack trace', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, fleetYaml(project, '    ports: ["127.0.0.1:18999:8080"]\n'));
    const cases: [string[], RegExp][] = [
      [['plan', '-f', join(dir, 'missing.yaml'), '--local'], /fleet file not found/],
      [['plan', '-f', bad, '--local'], /bad\.yaml:\d+:\d+ services\.web\.ports: a fixed host port needs replicas: 1/],
      [['plan', '-f', file, '--local', '--frobnicate'], /unknown option '--frobnicate'/],
      [['events', '--local', '--type', 'nope'], /--type nope: expected one of/],
      [['plan', '-f', file], /pass --local/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, env);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
    }
    await writeFile(bad, 'project: [unclosed\n');
    const yaml = await runCli(['plan', '-f', bad, '--local'], env);
    assert.equal(yaml.code, 1);
    assert.match(yaml.stderr, /bad\.yaml:\d+:\d+: YAML syntax error/);
  });

  it('a data dir others can write to, or in a parent others can write to, is refused by every command that opens it, saying what to do, and nothing is written', async () => {
    const parent = join(dir, 'shared');
    const unsafe = join(parent, 'data');
    await mkdir(unsafe, { recursive: true });
    await chmod(parent, 0o755);
    await chmod(unsafe, 0o777);
    const before = (await projectContainers(project)).length;
    const commands = [['plan', '-f', file], ['apply', '-f', file], ['status'], ['events'], ['agent', '-f', file]];
    for (const args of commands) {
      const result = await runCli([...args, '--local', '--data-dir', unsafe], env);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, new RegExp(`error: data dir ${unsafe} is writable by group and others \\(mode 0777\\).*run \`chmod 700 ${unsafe}\``), args.join(' '));
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
    }
    // A private data dir in a parent anyone may write to (no sticky bit): they could put their own in its place.
    await chmod(unsafe, 0o700);
    await chmod(parent, 0o777);
    for (const args of commands) {
      const result = await runCli([...args, '--local', '--data-dir', unsafe], env);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^error: data dir ${unsafe} is refused: ${unsafe} is in ${parent}, which is writable by group and others \\(mode 0777, no sticky bit\\): they can replace it; nothing was changed under it`), args.join(' '));
    }
    assert.deepEqual(await readdir(unsafe), [], 'nothing was written into it');
    assert.equal((await projectContainers(project)).length, before, 'no container changed');
  });
});

// A person reads these commands: their output is human lines; pino's JSON lines appear only when asked for.
describe('hostwright CLI, local mode: human output, logs on request (real Docker)', () => {
  const project = uniqueName('clilog');
  let dir: string;
  let file: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-cli-log-'));
    file = join(dir, 'fleet.yaml');
    env = { HOSTWRIGHT_DATA_DIR: join(dir, 'data') };
    // The container is created, then its start fails: a failed action, which the engine logs as a warning.
    await writeFile(file, `project: ${project}\nservices:\n  web:\n    image: hw/busybox:test\n    command: ["/no/such/binary"]\n    stop_timeout: 1s\n`);
  });
  after(async () => {
    await removeProject(project);
    await rm(dir, { recursive: true, force: true });
  });

  const jsonLines = (text: string) => text.split('\n').filter((line) => line.trim().startsWith('{'));

  it('a failed apply --local prints no JSON log line on stderr; HOSTWRIGHT_LOG=warn brings them back', async () => {
    const failed = await runCli(['apply', '-f', file, '--local'], env);
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    assert.match(failed.stdout, /FAILED: start /);
    assert.match(failed.stdout, /Apply stopped at the first failed action/);
    assert.deepEqual(jsonLines(failed.stderr), [], 'a JSON log line among human output');
    assert.deepEqual(jsonLines(failed.stdout), []);

    const logged = await runCli(['apply', '-f', file, '--local'], { ...env, HOSTWRIGHT_LOG: 'warn' });
    assert.equal(logged.code, 1, logged.stdout + logged.stderr);
    assert.match(logged.stdout, /Apply stopped at the first failed action/);
    const lines = jsonLines(logged.stderr).map((line) => JSON.parse(line) as { level: number; msg: string; component?: string });
    assert.ok(lines.some((line) => line.level === 40 && line.msg === 'a project stopped at a failed action' && line.component === 'reconciler'), logged.stderr);
    assert.deepEqual(jsonLines(logged.stdout), [], 'logs go to stderr, never into the output');

    const unknown = await runCli(['plan', '-f', file, '--local'], { ...env, HOSTWRIGHT_LOG: 'loud' });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: HOSTWRIGHT_LOG=loud: expected one of trace, debug, info, warn, error, fatal, silent$/m);
  });
});
