import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../lib/cli.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

// Contexts end to end (docs/cli.md, "Contexts"): the CLI's own file, written by `hostwright context`,
// read by fleet commands against a real nats-server; flags > environment > context > defaults.
describe('hostwright context and --context', () => {
  let dir: string;
  let config: string;
  let server: NatsServerHandle;
  /** A loopback port nothing listens on: connecting there fails with the URL in the message. */
  let deadUrl: string;
  /** The environment of every run: this test's file, and none of the variables a context yields to. */
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-contexts-'));
    config = join(dir, 'conf', 'config.yaml');
    server = await startNatsServer();
    deadUrl = `nats://127.0.0.1:${await freePort()}`;
    env = { HOSTWRIGHT_CONFIG: config, HOSTWRIGHT_CONTEXT: '', HOSTWRIGHT_NATS: '', HOSTWRIGHT_CREDS: '', HOSTWRIGHT_SIGNING_KEY: '', HOSTWRIGHT_FLEET_AUTH: '', HOSTWRIGHT_TLS_CA: '', HOSTWRIGHT_TLS_CERT: '', HOSTWRIGHT_TLS_KEY: '' };
  });
  after(async () => {
    await server?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = async (args: readonly string[], code: number, extra: Record<string, string> = {}) => {
    const result = await runCli(args, { ...env, ...extra });
    assert.equal(result.code, code, `hostwright ${args.join(' ')}: ${result.stdout}${result.stderr}`);
    return result;
  };

  it('set, use, list, show and remove write one private file that keeps its comments', async () => {
    await cli(['context', 'set', 'live', '--nats', server.url, '--signing-key', join(dir, 'missing-signing.nk'), '--as', 'alice'], 0);
    await cli(['context', 'set', 'dead', '--nats', deadUrl, '--creds', 'relative.nk', '--use'], 0);
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    const text = await readFile(config, 'utf8');
    assert.match(text, /^# Hostwright CLI configuration/);
    // A relative path is stored absolute: the CLI runs from any directory.
    assert.match(text, new RegExp(`creds: ${process.cwd()}/relative.nk`));
    await writeFile(config, `${text}# kept by edits\n`);

    const listed = JSON.parse((await cli(['context', 'list', '--json'], 0)).stdout) as { schema: string; current: string; contexts: { name: string; current: boolean; nats: string }[] };
    assert.equal(listed.schema, 'hostwright.contexts/v1');
    assert.equal(listed.current, 'dead');
    assert.deepEqual(listed.contexts.map((context) => [context.name, context.current, context.nats]), [['live', false, server.url], ['dead', true, deadUrl]]);
    assert.match((await cli(['context', 'list'], 0)).stdout, /^\*\s+dead\s/m);

    await cli(['context', 'use', 'live'], 0);
    const shown = JSON.parse((await cli(['context', 'show', '--json'], 0)).stdout) as { name: string; from: string; context: { as?: string; nats?: { servers: string } } };
    assert.deepEqual([shown.name, shown.from, shown.context.as, shown.context.nats?.servers], ['live', 'current_context', 'alice', server.url]);
    // $HOSTWRIGHT_CONTEXT wins over the file's choice.
    assert.equal((JSON.parse((await cli(['context', 'show', '--json'], 0, { HOSTWRIGHT_CONTEXT: 'dead' })).stdout) as { name: string; from: string }).from, 'HOSTWRIGHT_CONTEXT');
    assert.match(await readFile(config, 'utf8'), /# kept by edits/);

    const unknown = await cli(['context', 'use', 'lve'], 1);
    assert.match(unknown.stderr, /no context "lve" in .*config\.yaml: it has live, dead; did you mean "live"\?/);
    const bad = await cli(['context', 'set', 'x', '--nats', 'http://127.0.0.1:1'], 1);
    assert.match(bad.stderr, /context set x: --nats: expected a URL such as nats:\/\//);
    assert.doesNotMatch(await readFile(config, 'utf8'), /\bx:/, 'a refused set writes nothing');
  });

  it('a fleet command takes its connection from the context; the environment wins over it, a flag over both', async () => {
    await cli(['context', 'use', 'live'], 0);
    const fromContext = await cli(['hosts', '--json'], 0);
    assert.equal((JSON.parse(fromContext.stdout) as { schema: string }).schema, 'hostwright.hosts/v1');
    // --context (or $HOSTWRIGHT_CONTEXT) picks another one, whose credentials file is missing: the error names it.
    assert.match((await cli(['hosts', '--context', 'dead'], 1)).stderr, /cannot read credentials .*relative\.nk/);
    assert.match((await cli(['hosts'], 1, { HOSTWRIGHT_CONTEXT: 'dead' })).stderr, /relative\.nk/);
    // The environment over the context, the flag over the environment.
    assert.match((await cli(['hosts'], 1, { HOSTWRIGHT_NATS: deadUrl })).stderr, new RegExp(`cannot connect to NATS at ${deadUrl}`));
    await cli(['hosts', '--json', '--nats', server.url], 0, { HOSTWRIGHT_NATS: deadUrl });
    assert.match((await cli(['hosts', '--context', 'dead', '--creds', join(dir, 'flag.nk')], 1)).stderr, /cannot read credentials .*flag\.nk/);
    // A subcommand takes the context too, and --context given to its parent command.
    assert.deepEqual((JSON.parse((await cli(['rollout', 'list', '--json'], 0)).stdout) as { schema: string }).schema, 'hostwright.rollouts/v1');
    assert.match((await cli(['rollout', '--context', 'dead', 'list'], 1)).stderr, /relative\.nk/);
    assert.match((await cli(['rollout', 'list', '--context', 'dead'], 1)).stderr, /relative\.nk/);
    // --local needs no context, and a missing one is no error there.
    await cli(['events', '--local', '--data-dir', join(dir, 'local'), '--context', 'nowhere', '--json'], 0);
  });

  it('the signing key reaches only the commands that write, and a flag or variable wins over it', async () => {
    // The context's key file does not exist: a command that reads it says so, one that does not, does not.
    const cordon = await cli(['hosts', 'cordon', 'h1'], 1);
    assert.match(cordon.stderr, /missing-signing\.nk/);
    await cli(['hosts', '--json'], 0);
    const other = join(dir, 'other-signing.nk');
    assert.match((await cli(['hosts', 'cordon', 'h1'], 1, { HOSTWRIGHT_SIGNING_KEY: other })).stderr, /other-signing\.nk/);
    assert.match((await cli(['hosts', 'cordon', 'h1', '--signing-key', other], 1)).stderr, /other-signing\.nk/);
  });

  it('a bad file is refused with its line and key; an unknown context lists the known ones', async () => {
    const text = await readFile(config, 'utf8');
    try {
      await writeFile(config, 'contexts:\n  prod:\n    nats:\n      servers: nats://127.0.0.1:4222\n    signing_key: relative.nk\n');
      const refused = await cli(['hosts'], 1);
      assert.match(refused.stderr, /config\.yaml:5:\d+ contexts\.prod\.signing_key: expected an absolute path or one starting with ~\//);
      await writeFile(config, text);
      assert.match((await cli(['hosts', '--context', 'nope'], 1)).stderr, /context "nope" \(from --context\) does not exist: .*has live, dead/);
    } finally {
      await writeFile(config, text);
    }
  });

  it('remove drops the context and, when it was in use, the choice', async () => {
    await cli(['context', 'use', 'dead'], 0);
    assert.match((await cli(['context', 'remove', 'dead'], 0)).stdout, /it was the one in use/);
    const listed = JSON.parse((await cli(['context', 'list', '--json'], 0)).stdout) as { current: string | null; contexts: { name: string }[] };
    assert.deepEqual([listed.current, listed.contexts.map((context) => context.name)], [null, ['live']]);
    // No context in use and no --nats: the usual error, which names contexts as a way.
    assert.match((await cli(['hosts'], 1)).stderr, /hostwright context set NAME --nats URL --use/);
  });
});
