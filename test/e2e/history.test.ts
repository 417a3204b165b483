import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromSeed } from '@nats-io/nkeys';
import { LABELS } from '../../shared/labels.js';
import type { FieldChange, DesiredDiff } from '../../shared/spec-diff.js';
import type { PlanReport } from '../../shared/plan-report.js';
import { uniqueName } from '../lib/builders.js';
import { runCli, type CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;
const SECRET_ONE = 'first-pw-a8d1';
const SECRET_TWO = 'second-pw-77c2';

/** The project's file at one step: web's env and secret, and whether api is there. */
function fleetYaml(project: string, host: string, mode: string, secret: string, withApi: boolean, stopTimeout = '1s'): string {
  const service = (name: string, env: string) => `  ${name}:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    stop_timeout: ${stopTimeout}
    placement: { hosts: [${host}] }
${env}`;
  return `project: ${project}
services:
${service('web', `    env:\n      MODE: ${mode}\n      DB_PASSWORD: { secret: ${secret} }\n`)}${withApi ? service('api', '') : ''}`;
}

interface Author {
  key: string;
  natsUser?: string;
  name?: string;
}
interface HistoryJson {
  schema: string;
  revisions: { hostId: string; revision: number | null; author: Author | null; correlationID: string | null; rolloutId: string | null; summary: string; storedAt: string; diff: DesiredDiff | null }[];
}
interface DiffJson {
  schema: string;
  hosts: { hostId: string; from: { revision?: number }; to: { revision?: number; file?: true }; diff: DesiredDiff }[];
}

// One real agent (a CLI child process) on the local Docker engine and a real nats-server with the
// users `fleet init` writes; the coordinator is the `hostwright` CLI, run as two operators (--as alice, --as bob).
describe('history, typed diff and rollback --to: who wrote which revision, field by field (real NATS, real agent, real Docker)', () => {
  const runId = uniqueName('hwh');
  const project = uniqueName('hist');
  const h1 = uniqueName('h1');
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  /** The public keys of fleet init's signing key and coordinator NATS user: what every revision must name. */
  let signingKey: string;
  let natsUser: string;

  const agentLogs = () => fleet.agents.map((a) => `--- ${a.hostId}\n${a.output().split('\n').slice(-15).join('\n')}`).join('\n');
  const cli = async (args: readonly string[], expectCode = 0): Promise<CliResult> => {
    const result = await runCli([...args, '--nats', server.url, '--creds', join(dir, 'coordinator.nk')], { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${agentLogs()}`);
    return result;
  };
  const apply = async (name: string, yaml: string, as: string): Promise<void> => {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, yaml);
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s', '--as', as]);
  };
  const webEnv = async (): Promise<string[]> => {
    const [web] = (await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`, `${LABELS.service}=web`] } })).filter((c) => c.State === 'running');
    assert.ok(web, 'web runs');
    return ((await docker.getContainer(web.Id).inspect()).Config.Env ?? []).filter((entry) => entry.startsWith('MODE='));
  };
  const history = async (): Promise<HistoryJson> => JSON.parse((await cli(['history', '--project', project, '--host', h1, '--json'])).stdout) as HistoryJson;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-history-test-'));
    const init = await runCli(['fleet', 'init', '--dir', dir, '--host', h1]);
    assert.equal(init.code, 0, init.stderr);
    signingKey = (await readFile(join(dir, 'coordinator-signing.pub'), 'utf8')).trim();
    const seed = (await readFile(join(dir, 'coordinator.nk'), 'utf8')).split('\n').map((line) => line.trim()).find((line) => line.startsWith('SU')) ?? assert.fail('a user seed in coordinator.nk');
    natsUser = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
    server = await startNatsServer({ include: join(dir, 'accounts.conf') });
    fleet = FleetHarness.create(server, runId, { cliArgs: ['--creds', join(dir, 'coordinator.nk')] });
    await fleet.startAgents([{ hostId: h1, labels: {}, args: ['--creds', join(dir, 'hosts', `${h1}.nk`), '--coordinator-key', join(dir, 'coordinator-signing.pub'), '--curve-key', join(dir, 'hosts', `${h1}.xk`)] }]);
    // Three applies by two operators: r1 alice, r2 bob (env, secret, +api), r3 alice (-api, stop_timeout).
    await apply('r1', fleetYaml(project, h1, 'a', SECRET_ONE, false), 'alice');
    await apply('r2', fleetYaml(project, h1, 'b', SECRET_TWO, true), 'bob');
    await apply('r3', fleetYaml(project, h1, 'b', SECRET_TWO, false, '2s'), 'alice');
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('history lists the three revisions with their authors (name, NATS user, signing key), correlation ids and what changed', async () => {
    const listed = await history();
    assert.equal(listed.schema, 'hostwright.history/v1');
    assert.deepEqual(listed.revisions.map((row) => [row.revision, row.author?.name, row.summary]), [
      [1, 'alice', '+web'],
      [2, 'bob', '+api ~web (replaces)'],
      [3, 'alice', '-api ~web (replaces)'],
    ]);
    for (const row of listed.revisions) {
      assert.equal(row.author?.key, signingKey, 'the signing key is recorded');
      assert.equal(row.author?.natsUser, natsUser, 'the NATS user of --creds is recorded');
      assert.match(row.correlationID ?? '', /^[0-9a-f-]{36}$/);
    }
    assert.equal(new Set(listed.revisions.map((row) => row.correlationID)).size, 3, 'one request per revision');
    const human = (await cli(['history', '--project', project])).stdout;
    assert.match(human, new RegExp(`${h1}\\s+r2\\s+\\S+\\s+bob \\(nats U\\w{5}…\\w{4}, key O\\w{5}…\\w{4}\\)`));
  });

  it('diff r1 r2: the fields with old and new values, the secret masked, the added service; the default diff is the last change', async () => {
    const { hosts, schema } = JSON.parse((await cli(['diff', '--project', project, '--host', h1, 'r1', '2', '--json'])).stdout) as DiffJson;
    assert.equal(schema, 'hostwright.diff/v1');
    const [host] = hosts;
    assert.deepEqual([host?.from.revision, host?.to.revision], [1, 2]);
    assert.deepEqual(host?.diff.services.map((change) => [change.service, change.type]), [['api', 'added'], ['web', 'edited']]);
    const web = host?.diff.services.find((change) => change.service === 'web')?.fields ?? [];
    assert.deepEqual(web.map((change) => change.field), ['env.DB_PASSWORD', 'env.MODE']);
    const mode = web.find((change) => change.field === 'env.MODE') as FieldChange;
    assert.deepEqual([mode.type, mode.old, mode.new, mode.forces], ['edited', 'a', 'b', true]);
    const secret = web.find((change) => change.field === 'env.DB_PASSWORD') as FieldChange;
    assert.match(JSON.stringify(secret.old), /^\{"secret_sha256":"[0-9a-f]{64}"\}$/);
    assert.notDeepEqual(secret.old, secret.new);
    const human = (await cli(['diff', '--project', project, '--host', h1, '1', '2'])).stdout;
    for (const text of [JSON.stringify(hosts), human]) assert.ok(!text.includes(SECRET_ONE) && !text.includes(SECRET_TWO), 'no secret value is shown');
    assert.match(human, /~ env\.MODE: "a" => "b" \(forces replacement\)/);
    assert.match(human, /~ env\.DB_PASSWORD: \(secret sha256 [0-9a-f]{12}…\) => \(secret sha256 [0-9a-f]{12}…\) \(forces replacement\)/);
    assert.match(human, /\+ service api \(new containers\)/);
    const last = (JSON.parse((await cli(['diff', '--project', project, '--json'])).stdout) as DiffJson).hosts[0];
    assert.deepEqual([last?.from.revision, last?.to.revision, last?.diff.services.map((change) => `${change.type} ${change.service}`)], [2, 3, ['deleted api', 'edited web']]);
  });

  it('the cycles a revision caused carry its author in events and status', async () => {
    const { revisions } = await history();
    const r3 = revisions.find((row) => row.revision === 3);
    const events = (await cli(['events', '--project', project, '--json'])).stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { correlationID: string; author?: Author });
    const ofR3 = events.filter((event) => event.correlationID === r3?.correlationID);
    assert.ok(ofR3.length > 0, 'r3 caused events');
    assert.ok(ofR3.every((event) => event.author?.name === 'alice' && event.author.key === signingKey && event.author.natsUser === natsUser), JSON.stringify(ofR3));
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as { hosts: { status: { projects: { project: string; author?: Author }[] } | null }[] };
    assert.equal(status.hosts[0]?.status?.projects.find((entry) => entry.project === project)?.author?.name, 'alice');
    assert.match((await cli(['status'])).stdout, /BY[\s\S]*alice/);
  });

  it('plan carries the typed change on the wire: a replace entry lists {field, old, new, forces}', async () => {
    const file = join(dir, 'next.yaml');
    await writeFile(file, fleetYaml(project, h1, 'c', SECRET_TWO, false, '2s'));
    const [report] = (JSON.parse((await cli(['plan', '-f', file, '--json'])).stdout) as { hosts: { plan: PlanReport }[] }).hosts.map((host) => host.plan);
    const replace = report?.diff.find((entry) => entry.kind === 'replace' && entry.service === 'web');
    assert.deepEqual(replace?.changes, [{ field: 'env.MODE', type: 'edited', old: 'b', new: 'c', forces: true }]);
    assert.match((await cli(['plan', '-f', file])).stdout, /~ env\.MODE: "b" => "c" \(forces replacement\)/);
    // diff -f: the current revision against what the file would write, by the same placement as plan.
    const fromFile = (JSON.parse((await cli(['diff', '-f', file, '--json'])).stdout) as DiffJson).hosts[0];
    assert.deepEqual([fromFile?.from.revision, fromFile?.to.file], [3, true]);
    assert.deepEqual(fromFile?.diff.services.flatMap((change) => change.fields.map((field) => [field.field, field.old, field.new])), [['env.MODE', 'b', 'c']]);
  });

  it('rollback --to 1 writes r4 with r1\'s content, signed by the current operator, and the host converges to it', async () => {
    const rolled = JSON.parse((await cli(['rollback', '--project', project, '--to', 'r1', '--as', 'carol', '--json'])).stdout) as { hosts: { hostId: string; revision: number }[] };
    assert.deepEqual(rolled.hosts, [{ hostId: h1, revision: 4 }]);
    await waitFor('r4 applied and converged', async () => {
      const status = JSON.parse((await cli(['status', '--json'])).stdout) as { hosts: { status: { projects: { project: string; appliedRevision?: number; converged: boolean }[] } | null }[] };
      const entry = status.hosts[0]?.status?.projects.find((candidate) => candidate.project === project);
      return entry?.appliedRevision === 4 && entry.converged;
    }, 60_000, 500);
    assert.deepEqual(await webEnv(), ['MODE=a']);
    const { revisions } = await history();
    assert.deepEqual(revisions.map((row) => [row.revision, row.author?.name]), [[1, 'alice'], [2, 'bob'], [3, 'alice'], [4, 'carol']]);
    const back = JSON.parse((await cli(['diff', '--project', project, '--host', h1, '1', '4', '--json'])).stdout) as DiffJson;
    assert.deepEqual(back.hosts[0]?.diff, { services: [], fields: [] }, 'r4 holds exactly r1\'s content');
    const missing = await cli(['rollback', '--project', project, '--host', h1, '--to', '99'], 1);
    assert.match(missing.stderr, /has no revision 99 in its history \(kept: r1–r4\)/);
  });
});
