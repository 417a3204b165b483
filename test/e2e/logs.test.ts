import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_IMAGE, uniqueName } from '../lib/builders.js';
import { runCli, startCli, type CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

interface LogLineJson {
  readonly schema: 'hostwright.logline/v1';
  readonly host: string;
  readonly instance: number;
  readonly container: string;
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}
interface LogMarkerJson {
  readonly schema: 'hostwright.logmarker/v1';
  readonly host: string;
  readonly instance: number;
  readonly text: string;
}
interface LogHostJson {
  readonly schema: 'hostwright.loghost/v1';
  readonly host: string;
  readonly state: string;
}
type Record_ = LogLineJson | LogMarkerJson | LogHostJson;

// A counter, every tenth value on stderr too; trapping TERM makes a stop quick and its last line written.
const COUNTER = `["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo \\"c $i\\"; if [ $((i % 10)) -eq 0 ]; then echo \\"e $i\\" >&2; fi; sleep 0.05; done"]`;

function records(output: string): Record_[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record_);
}

function lines(output: string): LogLineJson[] {
  return records(output).filter((record): record is LogLineJson => record.schema === 'hostwright.logline/v1');
}

/** Per container, the counter values on stdout must run 1 step at a time: no line lost, none repeated. */
function assertContinuous(seen: readonly LogLineJson[]): Map<string, number[]> {
  const byContainer = new Map<string, number[]>();
  const times = new Map<string, string[]>();
  for (const line of seen) {
    if (line.stream !== 'stdout') continue;
    const value = Number(/^c (\d+)$/.exec(line.text)?.[1]);
    assert.ok(Number.isInteger(value), `not a counter line: ${JSON.stringify(line)}`);
    byContainer.set(line.container, [...(byContainer.get(line.container) ?? []), value]);
    times.set(line.container, [...(times.get(line.container) ?? []), line.time]);
  }
  for (const [container, values] of byContainer) {
    for (let i = 1; i < values.length; i += 1) {
      assert.equal(values[i], (values[i - 1] as number) + 1, `container ${container.slice(0, 12)}: after ${values[i - 1]} (${times.get(container)?.[i - 1]}) came ${values[i]} (${times.get(container)?.[i]}), ${values.length} lines`);
    }
  }
  return byContainer;
}

// Two real agents with `fleet init` credentials against one real nats-server and the local Docker
// engine; `hostwright logs` is the CLI, reading through the agents over NATS.
describe('hostwright logs: merged output of a service on two hosts through the agents (real NATS, real Docker)', () => {
  const runId = uniqueName('hwl');
  const hostIds = [uniqueName('la'), uniqueName('lb')];
  const [h1, h2] = hostIds as [string, string];
  let dir: string;
  let nats: NatsServerHandle;
  let fleet: FleetHarness;
  let project: string;

  const connection = (): string[] => ['--nats', nats.url, '--creds', join(dir, 'coordinator.nk')];
  const cli = async (args: readonly string[], expectCode: number): Promise<CliResult> => {
    const result = await runCli([...args, ...connection()], { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${agentLogs()}`);
    return result;
  };
  const agentLogs = () => fleet.agents.map((a) => `--- ${a.hostId} (alive: ${a.alive()})\n${a.output().split('\n').slice(-10).join('\n')}`).join('\n');
  const applyCounter = async (generation: string, logSize: { readonly maxSize: string; readonly maxFile: number }): Promise<void> => {
    const file = join(dir, `${project}.yaml`);
    await writeFile(file, `project: ${project}\nservices:\n  web:\n    image: ${TEST_IMAGE}\n    command: ${COUNTER}\n    env: { GEN: "${generation}" }\n    logging: { driver: json-file, options: { max-size: "${logSize.maxSize}", max-file: "${logSize.maxFile}" } }\n    placement: { hosts: [${h1}, ${h2}] }\n`);
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-logs-'));
    const init = await runCli(['fleet', 'init', '--dir', dir, ...hostIds.flatMap((hostId) => ['--host', hostId])]);
    assert.equal(init.code, 0, init.stderr);
    nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
    fleet = FleetHarness.create(nats, runId, { cliArgs: ['--creds', join(dir, 'coordinator.nk')] });
    await fleet.startAgents(hostIds.map((hostId) => ({ hostId, labels: {}, args: ['--creds', join(dir, 'hosts', `${hostId}.nk`), '--coordinator-key', join(dir, 'coordinator-signing.pub')] })));
    project = uniqueName('logs');
    await applyCounter('1', { maxSize: '1m', maxFile: 2 });
  });

  after(async () => {
    await fleet?.cleanup();
    await nats?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--tail, --since, --timestamps, --json and SERVICE/N: each host\'s lines, prefixed host/instance, merged in time order', async () => {
    await waitFor('both counters past 20', async () => lines((await cli(['logs', 'web', '--json', '--tail', '1', '--project', project], 0)).stdout).every((line) => Number(line.text.slice(2)) > 20), 20_000, 300);
    const tail = await cli(['logs', 'web', '--tail', '5', '--project', project], 0);
    const shown = tail.stdout.trim().split('\n');
    assert.equal(shown.length, 10, tail.stdout);
    for (const hostId of hostIds) assert.equal(shown.filter((line) => line.startsWith(`${hostId}/1 `)).length, 5, tail.stdout);
    for (const line of shown) assert.match(line, /^\S+\/1 +\| [ce] \d+$/, tail.stdout);

    const json = lines((await cli(['logs', 'web', '--tail', '20', '--json'], 0)).stdout);
    assert.equal(json.length, 40);
    const times = json.map((line) => line.time);
    assert.deepEqual(times, [...times].sort(), 'merged in time order');
    assert.ok(json.some((line) => line.stream === 'stderr' && /^e \d+0$/.test(line.text)), 'stderr lines are there, marked so');
    assert.deepEqual(new Set(json.map((line) => line.host)), new Set(hostIds));

    const stamped = await cli(['logs', `web/1`, '--host', h1, '--tail', '2', '--timestamps'], 0);
    assert.match(stamped.stdout, new RegExp(`^${h1}/1 +\\| \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z [ce] \\d+\\n${h1}/1 +\\| \\S+ [ce] \\d+\\n$`), stamped.stdout);

    const recent = lines((await cli(['logs', 'web', '--since', '1s', '--json'], 0)).stdout);
    const cutoff = Date.now() - 3_000;
    assert.ok(recent.length > 0 && recent.every((line) => Date.parse(line.time) >= cutoff - 1_000), `only the last second or so: ${recent.length} lines from ${recent[0]?.time}`);

    const unknown = await cli(['logs', 'nosuch', '--project', project], 1);
    assert.match(unknown.stderr, /no host runs a service nosuch of project/);
    const bad = await cli(['logs', 'web', '--since', 'yesterday'], 1);
    assert.match(bad.stderr, /--since yesterday: expected a duration back from now/);
  });

  it('-f follows both hosts across an agent stopped mid-stream (naming it, then resuming from its offset), a replacement of the instances and the log rotation: no line lost or repeated', async () => {
    const follow = startCli(['logs', '-f', 'web', '--json', '--project', project, '--timeout', '2s', ...connection()]);
    try {
      const count = (hostId: string, container?: string) => lines(follow.output()).filter((line) => line.host === hostId && (container === undefined || line.container === container)).length;
      await waitFor('both hosts streaming', async () => count(h1) > 30 && count(h2) > 30, 20_000, 100);

      await fleet.stop(h2);
      await waitFor('h2 named as not answering', async () => records(follow.output()).some((record) => record.schema === 'hostwright.loghost/v1' && record.host === h2 && record.state === 'not-answering'), 20_000, 100);
      const h1Before = count(h1);
      await waitFor('h1 streaming on meanwhile', async () => count(h1) > h1Before + 50, 10_000, 100);
      const h2Before = count(h2);
      await fleet.restart(h2);
      await waitFor('h2 answering again, its lines from where they stopped', async () => records(follow.output()).some((record) => record.schema === 'hostwright.loghost/v1' && record.host === h2 && record.state === 'answering') && count(h2) > h2Before + 50, 30_000, 100);

      const firstContainers = new Set(lines(follow.output()).map((line) => line.container));
      // The new containers keep at most 2 files of 2 KiB (some 3 s of the counter): the engine rotates their logs while followed.
      await applyCounter('2', { maxSize: '2k', maxFile: 2 });
      await waitFor('a marker and the new containers followed on both hosts', async () => {
        const seen = records(follow.output());
        const markers = seen.filter((record): record is LogMarkerJson => record.schema === 'hostwright.logmarker/v1' && /replaced by/.test(record.text));
        const fresh = lines(follow.output()).filter((line) => !firstContainers.has(line.container));
        return hostIds.every((hostId) => markers.some((marker) => marker.host === hostId) && fresh.filter((line) => line.host === hostId).length > 150);
      }, 60_000, 200);

      // Stopped like a user would; it says nothing more and exits 0.
      follow.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => (follow.exitCode === null ? follow.once('exit', resolve) : resolve(follow.exitCode)));
      assert.equal(code, 0, follow.output().slice(-2000));

      const seen = lines(follow.output());
      const byContainer = assertContinuous(seen);
      assert.equal(byContainer.size, 4, `two containers per host: ${[...byContainer.keys()].join(', ')}`);
      for (const [container, values] of byContainer) {
        if (firstContainers.has(container)) continue;
        assert.equal(values[0], 1, `the new container ${container.slice(0, 12)} is followed from its first line`);
        // The engine dropped rotated files while they were followed: it keeps fewer lines than were shown.
        const kept = ((await docker.getContainer(container).logs({ stdout: true, stderr: false, follow: false })) as unknown as Buffer).toString('latin1').split('\n').filter((line) => /c \d+/.test(line)).length;
        assert.ok(kept < values.length / 2, `the log of ${container.slice(0, 12)} rotated while followed: the engine keeps ${kept} lines, ${values.length} were shown`);
      }
    } finally {
      if (follow.exitCode === null) follow.kill('SIGKILL');
    }
  });

  it('without -f, a host whose agent is down is named and the others are shown; the exit code says lines are missing', async () => {
    await fleet.stop(h1);
    try {
      const result = await cli(['logs', 'web', '--tail', '3', '--timeout', '2s'], 1);
      assert.match(result.stderr, new RegExp(`${h1}: not answering, retrying`));
      assert.match(result.stderr, new RegExp(`${h1}: not answering; its lines are missing`));
      const shown = result.stdout.trim().split('\n');
      assert.equal(shown.length, 3, result.stdout);
      for (const line of shown) assert.match(line, new RegExp(`^${h2}/1 +\\| [ce] \\d+$`));
    } finally {
      await fleet.restart(h1);
    }
  });
});
