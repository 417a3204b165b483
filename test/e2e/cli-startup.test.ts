import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { removeProject } from '../lib/docker-harness.js';
import { runCliTracingModules } from '../lib/module-trace.js';

// A command's implementation is imported when it runs: what each process loads is what it costs to start.
describe('hostwright CLI loads only what the command it runs needs', () => {
  const project = uniqueName('clistart');
  let dir: string;
  let file: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-cli-start-'));
    file = join(dir, 'fleet.yaml');
    env = { HOSTWRIGHT_DATA_DIR: join(dir, 'data') };
    await writeFile(file, `project: ${project}\nservices:\n  web:\n    image: hw/busybox:test\n    command: ["sleep", "3600"]\n    replicas: 2\n    stop_timeout: 1s\n`);
  });
  after(async () => {
    await removeProject(project);
    await rm(dir, { recursive: true, force: true });
  });

  it('--help of the program and of each command loads commander and no other package', async () => {
    for (const command of [[], ['apply'], ['agent'], ['events'], ['convert'], ['rollout', 'status'], ['fleet', 'init']]) {
      const traced = await runCliTracingModules([...command, '--help'], env);
      assert.equal(traced.code, 0, `${command.join(' ')} --help: ${traced.stderr}`);
      assert.match(traced.stdout, /Usage: hostwright/);
      assert.deepEqual(traced.packages, ['commander'], `${['hostwright', ...command].join(' ')} --help loaded ${traced.packages.join(', ')}`);
    }
  });

  it('an unchanged apply --local loads Docker and the journal but no NATS client, metrics, table widths, SSH or gRPC', async () => {
    const converge = await runCli(['apply', '--local', '-f', file], env);
    assert.equal(converge.code, 0, converge.stdout + converge.stderr);
    const traced = await runCliTracingModules(['apply', '--local', '-f', file], env);
    assert.equal(traced.code, 0, traced.stdout + traced.stderr);
    assert.match(traced.stdout, /Already converged: nothing to do\./);
    // The trace sees what the command does need: an empty trace must not pass.
    for (const needed of ['dockerode', 'docker-modem', 'level', 'yaml', 'zod']) assert.ok(traced.packages.includes(needed), `${needed} not in ${traced.packages.join(', ')}`);
    // A fleet file needs no compose schema: ajv and dotenv are loaded for compose files only.
    const unneeded = traced.packages.filter((name) => name.startsWith('@nats-io/') || name.startsWith('@grpc/') || ['prom-client', 'string-width', 'ssh2', 'protobufjs', 'ajv', 'dotenv'].includes(name));
    assert.deepEqual(unneeded, []);
  });
});
