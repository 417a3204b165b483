import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { unpack } from 'msgpackr';
import { openSignedDocument } from '../../shared/signed-document.js';
import type { RolloutHost, RolloutState } from '../../coordinator/rollout/rollout-state.js';
import { LABELS } from '../../shared/labels.js';
import { BUCKETS, desiredKey } from '../../shared/subjects.js';
import { compareStrings } from '../../shared/compare.js';
import { uniqueName } from '../lib/builders.js';
import { runCli, startCli, type CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';
import { rolloutProgressJsonSchema } from '../../shared/rollout-progress-json.js';

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

/** One version of the fleet file: the env VERSION tells the containers apart; health is the service's check. */
interface Version {
  readonly version: string;
  readonly health?: 'passing' | 'failing';
}

function fleetYaml(project: string, v: Version): string {
  const check = v.health === undefined ? '' : `    healthcheck: { test: ["CMD", "${v.health === 'passing' ? 'true' : 'false'}"], interval: 500ms, retries: 1 }\n`;
  return `project: ${project}
services:
  app:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    env: { VERSION: "${v.version}" }
    replicas: 1
    stop_timeout: 1s
${check}`;
}

interface ProjectJson {
  project: string;
  desiredRevision: number;
  appliedRevision?: number;
  converged: boolean;
  instances: { name: string; state: string; health: string; containerId?: string }[];
  rejected?: { revision: number; reason: string };
}

interface FleetStatusJson {
  schema: string;
  hosts: { hostId: string; stale: boolean; status: { hostId: string; projects: ProjectJson[] } | null }[];
}

/** One `[wave i/n] host state detail` progress line of `rollout`. */
interface ProgressLine {
  readonly index: number;
  readonly wave: number;
  readonly waves: number;
  readonly hostId: string;
  readonly state: string;
}

/** One container of the project on a host, with what it runs. */
interface AppContainer {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly specHash: string | undefined;
  readonly version: string | undefined;
}

// Four real agents (CLI child processes) against one real nats-server, sharing the local Docker
// engine; the coordinator is the `hostwright rollout` CLI, driven as an operator would. The tests
// run in order on one fleet: each rolls the next version of the fleet file out.
describe('rollout: waves, gates, pause, rollback, resume, offline hosts and start-first over real NATS and Docker', () => {
  const runId = uniqueName('hwr');
  const project = uniqueName('roll');
  // The prefixes fix the host order, and so the waves: [h1], [h2, h3], [h4].
  const [h1, h2, h3, h4] = ['h1', 'h2', 'h3', 'h4'].map((prefix) => uniqueName(prefix)) as [string, string, string, string];
  const hostIds = [h1, h2, h3, h4];
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let file: string;
  const children: ReturnType<typeof startCli>[] = [];

  const cli = async (args: readonly string[], expectCode: number | undefined = 0): Promise<CliResult> => {
    const result = await runCli([...args, '--nats', server.url], fleet.cliEnv);
    if (expectCode !== undefined) assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${agentLogs()}`);
    return result;
  };
  const agentLogs = () => fleet.agents.map((a) => `--- ${a.hostId} (alive: ${a.alive()})\n${a.output().split('\n').slice(-8).join('\n')}`).join('\n');
  const writeFleet = (v: Version) => writeFile(file, fleetYaml(project, v));
  const fleetStatus = async (): Promise<FleetStatusJson> => JSON.parse((await cli(['status', '--json'])).stdout) as FleetStatusJson;
  const projectOn = (status: FleetStatusJson, hostId: string): ProjectJson | undefined => status.hosts.find((h) => h.hostId === hostId)?.status?.projects.find((p) => p.project === project);
  const rolloutState = async (id: string): Promise<RolloutState> => JSON.parse((await cli(['rollout', 'status', id, '--json'])).stdout) as RolloutState;
  const rolloutHost = (state: RolloutState, hostId: string): RolloutHost => {
    const found = state.hosts.find((h) => h.hostId === hostId);
    assert.ok(found, `${hostId} is not in rollout ${state.id}: ${JSON.stringify(state.hosts.map((h) => h.hostId))}`);
    return found;
  };
  /** "rollout <id>: 3 wave(s): 1:[h1] 2:[h2,h3] 3:[h4] (correlation …)" */
  const rolloutIdOf = (stdout: string): string => {
    const match = /^rollout (\S+): \d+ wave\(s\)/m.exec(stdout);
    assert.ok(match?.[1], `rollout printed no "rollout <id>: N wave(s)" line:\n${stdout}`);
    return match[1];
  };
  const progressLines = (stdout: string): ProgressLine[] =>
    stdout.split('\n').flatMap((line, index) => {
      const match = /^\[wave (\d+)\/(\d+)\] (\S+)\s+(\S+)/.exec(line);
      return match ? [{ index, wave: Number(match[1]), waves: Number(match[2]), hostId: match[3] ?? '', state: match[4] ?? '' }] : [];
    });
  /** Runs a rollout of `v` to the end (or its pause) and returns the CLI result, the id and the stored state. */
  const rollout = async (v: Version, flags: readonly string[], expectCode: number): Promise<{ result: CliResult; id: string; state: RolloutState }> => {
    await writeFleet(v);
    const result = await cli(['rollout', '-f', file, ...flags], expectCode);
    const id = rolloutIdOf(result.stdout);
    return { result, id, state: await rolloutState(id) };
  };
  /** The project's containers on a host (its agent's name prefix and host label), with each one's VERSION. */
  const appOf = async (hostId: string): Promise<AppContainer[]> => {
    const listed = (await fleet.containersOf(hostId)).filter((c) => c.Labels[LABELS.project] === project);
    const found = await Promise.all(
      listed.map(async (c): Promise<AppContainer> => {
        const inspected = await docker.getContainer(c.Id).inspect();
        const version = inspected.Config.Env.find((e) => e.startsWith('VERSION='))?.slice('VERSION='.length);
        return { id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State, specHash: c.Labels[LABELS.specHash], version };
      }),
    );
    return found.sort((a, b) => compareStrings(a.name, b.name));
  };
  const idsOf = async (hostId: string): Promise<string[]> => (await appOf(hostId)).map((c) => c.id);
  /** Why a host does not run `version` converged at `revision`, or undefined when it does. */
  const notOn = async (status: FleetStatusJson, hostId: string, revision: number, version: string): Promise<string | undefined> => {
    const p = projectOn(status, hostId);
    if (!p) return `${hostId}: no status of ${project}`;
    if (p.desiredRevision !== revision || p.appliedRevision !== revision) return `${hostId}: desired r${p.desiredRevision}, applied r${p.appliedRevision ?? '-'}, want r${revision}`;
    if (!p.converged) return `${hostId}: not converged`;
    const app = await appOf(hostId);
    if (app.length !== 1 || app[0]?.state !== 'running' || app[0].version !== version) return `${hostId}: containers ${JSON.stringify(app)}, want one running VERSION=${version}`;
    return undefined;
  };
  /** The desired document's revision in KV, read directly (inside its signed envelope). */
  const desiredRevision = async (hostId: string): Promise<number | undefined> => {
    const nc = await connect({ servers: server.url, timeout: 5_000 });
    try {
      const entry = await (await new Kvm(nc).open(BUCKETS.desired)).get(desiredKey(hostId, project));
      return entry && entry.operation === 'PUT' ? (unpack(openSignedDocument(entry.value).document) as { revision: number }).revision : undefined;
    } finally {
      await nc.close();
    }
  };
  const desiredRevisions = async (): Promise<Map<string, number | undefined>> => new Map(await Promise.all(hostIds.map(async (hostId) => [hostId, await desiredRevision(hostId)] as const)));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-rollout-test-'));
    file = join(dir, 'fleet.yaml');
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents(hostIds.map((hostId) => ({ hostId, labels: { role: 'app' } })));
    // The starting point of every rollout: v1 everywhere, applied at once.
    await writeFleet({ version: '1' });
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s']);
    const status = await fleetStatus();
    for (const hostId of hostIds) assert.equal(await notOn(status, hostId, 1, '1'), undefined);
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a: a good version rolls through the waves in order: canary, then two at a time', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const { result, id, state } = await rollout({ version: '2' }, ['--canary', '1', '--max-parallel', '2', '--min-healthy', '1s', '--healthy-deadline', '60s'], 0);
    assert.equal(state.status, 'succeeded', result.stdout);
    assert.deepEqual(state.waves, [[h1], [h2, h3], [h4]]);
    assert.match(result.stdout, new RegExp(`^rollout ${id}: 3 wave\\(s\\): 1:\\[${h1}\\] 2:\\[${h2},${h3}\\] 3:\\[${h4}\\]`, 'm'));
    assert.match(result.stdout, /rollout succeeded: every host is on the new revision/);

    const status = await fleetStatus();
    for (const host of state.hosts) {
      assert.equal(host.state, 'healthy', `${host.hostId}: ${host.message ?? ''}`);
      assert.equal(host.writtenRevision, 2);
      assert.equal(await notOn(status, host.hostId, 2, '2'), undefined);
    }

    // The stored timestamps: a wave starts only after every host of the one before passed.
    const finished = (hostId: string) => Date.parse(rolloutHost(state, hostId).finishedAt ?? '');
    const begun = (hostId: string) => Date.parse(rolloutHost(state, hostId).startedAt ?? '');
    assert.ok(begun(h1) >= started - 1_000);
    for (const later of [h2, h3]) assert.ok(finished(h1) < begun(later), `${h1} passed (${rolloutHost(state, h1).finishedAt}) before ${later} started (${rolloutHost(state, later).startedAt})`);
    assert.ok(Math.max(finished(h2), finished(h3)) < begun(h4), 'wave 2 passed before h4 started');
    assert.ok(finished(h1) - begun(h1) >= 1_000, 'the canary held its health for --min-healthy 1s');

    // The progress lines say the same, each host under its own wave.
    const lines = progressLines(result.stdout);
    const line = (hostId: string, hostState: string): ProgressLine => {
      const found = lines.find((l) => l.hostId === hostId && l.state === hostState);
      assert.ok(found, `no "${hostId} ${hostState}" progress line:\n${result.stdout}`);
      return found;
    };
    for (const [hostId, wave] of [[h1, 1], [h2, 2], [h3, 2], [h4, 3]] as const) {
      for (const hostState of ['applying', 'healthy']) assert.deepEqual([line(hostId, hostState).wave, line(hostId, hostState).waves], [wave, 3], `${hostId} ${hostState} is labelled with its wave:\n${result.stdout}`);
    }
    for (const later of [h2, h3, h4]) assert.ok(line(h1, 'healthy').index < line(later, 'applying').index, `${later} starts after the canary passed`);
    for (const earlier of [h2, h3]) assert.ok(line(earlier, 'healthy').index < line(h4, 'applying').index, `${h4} starts after ${earlier} passed`);
  });

  it('b: a bad version stops after the canary: paused, non-zero exit, the other hosts untouched; rollback --rollout puts the canary back', { timeout: 120_000 }, async () => {
    const revisionsBefore = await desiredRevisions();
    const idsBefore = new Map(await Promise.all(hostIds.map(async (hostId) => [hostId, await idsOf(hostId)] as const)));
    const statusBefore = await fleetStatus();
    const { result, id, state } = await rollout({ version: '3-bad', health: 'failing' }, ['--canary', '1', '--max-parallel', '2', '--min-healthy', '1s', '--healthy-deadline', '30s'], 1);
    assert.equal(state.status, 'paused', result.stdout);
    assert.match(state.reason ?? '', new RegExp(`1 host\\(s\\) failed \\(${h1}: unhealthy: .*app-1\\); more than --max-failures 0`));
    assert.match(result.stdout, /rollout paused: 1 host\(s\) failed/);
    assert.equal(rolloutHost(state, h1).state, 'failed');
    assert.equal(rolloutHost(state, h1).writtenRevision, (revisionsBefore.get(h1) ?? 0) + 1);
    assert.equal((await appOf(h1))[0]?.version, '3-bad', 'the canary runs the bad version');

    const status = await fleetStatus();
    for (const hostId of [h2, h3, h4]) {
      const host = rolloutHost(state, hostId);
      assert.deepEqual([host.state, host.writtenRevision, host.startedAt], ['pending', undefined, undefined], hostId);
      assert.equal(await desiredRevision(hostId), revisionsBefore.get(hostId), `${hostId}: no new desired revision`);
      assert.equal(projectOn(status, hostId)?.desiredRevision, projectOn(statusBefore, hostId)?.desiredRevision, `${hostId}: agent still on its revision`);
      assert.deepEqual(await idsOf(hostId), idsBefore.get(hostId), `${hostId}: containers untouched`);
    }
    assert.ok(!progressLines(result.stdout).some((l) => l.hostId !== h1), `only the canary moved:\n${result.stdout}`);

    // Put the canary back: every host the rollout touched returns to its previous document.
    const back = await cli(['rollback', '--rollout', id]);
    assert.match(back.stdout, new RegExp(`rolling back 1 host\\(s\\) of rollout ${id}`));
    const rolledBack = await rolloutState(id);
    assert.equal(rolledBack.status, 'rolled-back', back.stdout);
    assert.equal(rolloutHost(rolledBack, h1).state, 'rolled-back');
    assert.equal(await notOn(await fleetStatus(), h1, rolloutHost(rolledBack, h1).writtenRevision ?? -1, '2'), undefined);
    for (const hostId of [h2, h3, h4]) assert.deepEqual(await idsOf(hostId), idsBefore.get(hostId), `${hostId}: containers untouched by the rollback`);
  });

  it('c: with --on-failure rollback the failed canary returns to the previous spec; status rolled-back', { timeout: 120_000 }, async () => {
    const before = await appOf(h1);
    assert.equal(before.length, 1);
    const idsBefore = new Map(await Promise.all([h2, h3, h4].map(async (hostId) => [hostId, await idsOf(hostId)] as const)));
    const revisionsBefore = await desiredRevisions();
    const { result, state } = await rollout({ version: '3-bad', health: 'failing' }, ['--canary', '1', '--max-parallel', '2', '--min-healthy', '1s', '--healthy-deadline', '30s', '--on-failure', 'rollback'], 1);
    assert.equal(state.status, 'rolled-back', result.stdout);
    assert.match(state.reason ?? '', new RegExp(`${h1}: unhealthy`));
    assert.match(result.stdout, /rollout rolling-back/);
    assert.match(result.stdout, /rollout rolled-back/);
    const canary = rolloutHost(state, h1);
    assert.equal(canary.state, 'rolled-back');
    // Two writes: the bad version, then its previous content again.
    assert.equal(canary.writtenRevision, (revisionsBefore.get(h1) ?? 0) + 2);

    const after = await appOf(h1);
    assert.equal(after.length, 1);
    assert.notEqual(after[0]?.id, before[0]?.id, 'the bad container was replaced');
    assert.equal(after[0]?.specHash, before[0]?.specHash, 'the container runs the previous spec again');
    assert.equal(after[0]?.version, '2');
    assert.equal(after[0]?.state, 'running');
    assert.equal(await notOn(await fleetStatus(), h1, canary.writtenRevision ?? -1, '2'), undefined);
    for (const hostId of [h2, h3, h4]) {
      assert.equal(rolloutHost(state, hostId).state, 'pending');
      assert.equal(await desiredRevision(hostId), revisionsBefore.get(hostId));
      assert.deepEqual(await idsOf(hostId), idsBefore.get(hostId), `${hostId}: containers untouched`);
    }
  });

  it('d: a coordinator killed (SIGKILL) mid-rollout is finished by `rollout resume`, writing each host once', { timeout: 150_000 }, async () => {
    const revisionsBefore = await desiredRevisions();
    await writeFleet({ version: '4' });
    const child = startCli(['rollout', '-f', file, '--canary', '1', '--max-parallel', '2', '--min-healthy', '2s', '--healthy-deadline', '60s', '--nats', server.url], fleet.cliEnv);
    children.push(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const id = await waitFor('the rollout printed its id', async () => /^rollout (\S+): \d+ wave\(s\)/m.exec(child.output())?.[1], 30_000, 100);
    const atKill = await waitFor('rollout status shows the first wave done', async () => {
      const state = await rolloutState(id);
      return state.currentWave >= 1 ? state : undefined;
    }, 60_000, 100);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const killed = await rolloutState(id);
    assert.equal(killed.status, 'running', `the coordinator was killed before the rollout finished:\n${child.output()}`);
    assert.ok(killed.hosts.some((h) => h.state === 'pending' || h.state === 'applying'), JSON.stringify(killed.hosts.map((h) => [h.hostId, h.state])));
    assert.equal(rolloutHost(atKill, h1).state, 'healthy');

    const resumed = await cli(['rollout', 'resume', id]);
    assert.match(resumed.stdout, /rollout succeeded: every host is on the new revision/);
    const state = await rolloutState(id);
    assert.equal(state.status, 'succeeded');
    const status = await fleetStatus();
    for (const hostId of hostIds) {
      const host = rolloutHost(state, hostId);
      assert.equal(host.state, 'healthy', `${hostId}: ${host.message ?? ''}`);
      assert.equal(host.writtenRevision, (revisionsBefore.get(hostId) ?? 0) + 1, `${hostId}: written once, whatever the kill interrupted`);
      assert.equal(await desiredRevision(hostId), host.writtenRevision);
      assert.equal(await notOn(status, hostId, host.writtenRevision ?? -1, '4'), undefined);
    }
  });

  it('e: an offline host fails after the healthy deadline (the report says which host runs what); with --skip-offline it is skipped', { timeout: 180_000 }, async () => {
    const flags = ['--canary', '1', '--max-parallel', '2', '--min-healthy', '1s', '--healthy-deadline', '8s'];
    const h4Before = projectOn(await fleetStatus(), h4);
    assert.ok(h4Before);
    assert.equal(await fleet.stop(h4), 0);
    try {
      await waitFor(`${h4} shows stale`, async () => {
        const hosts = (JSON.parse((await cli(['hosts', '--json'])).stdout) as { hosts: { hostId: string; stale: boolean }[] }).hosts;
        return hosts.find((h) => h.hostId === h4)?.stale === true;
      }, 40_000, 1_000);

      // Without --skip-offline: h4 is waited for until the deadline, and nothing is written to it.
      const h4RevisionBefore = await desiredRevision(h4);
      const first = await rollout({ version: '5' }, flags, 1);
      assert.equal(first.state.status, 'paused', first.result.stdout);
      const offline = rolloutHost(first.state, h4);
      assert.equal(offline.state, 'failed');
      assert.equal(offline.message, 'offline: no heartbeat until the deadline (nothing was written to it)');
      assert.equal(offline.writtenRevision, undefined);
      assert.equal(await desiredRevision(h4), h4RevisionBefore, 'an offline host is not given the new version');
      assert.ok(Date.parse(offline.finishedAt ?? '') - Date.parse(offline.startedAt ?? '') >= 8_000, 'failed only after the deadline');
      assert.match(first.state.reason ?? '', new RegExp(`1 host\\(s\\) failed \\(${h4}: offline: no heartbeat until the deadline \\(nothing was written to it\\)\\)`));
      const status = await fleetStatus();
      for (const hostId of [h1, h2, h3]) {
        const host = rolloutHost(first.state, hostId);
        assert.equal(host.state, 'healthy');
        assert.equal(await notOn(status, hostId, host.writtenRevision ?? -1, '5'), undefined);
        assert.match(first.result.stdout, new RegExp(`^${hostId}\\s+\\d\\s+healthy\\s+r${host.writtenRevision}\\s+converged and healthy$`, 'm'));
      }
      // h4 still runs what it ran before it went away; the report says it failed, and why.
      assert.equal(projectOn(status, h4)?.appliedRevision, h4Before.appliedRevision);
      assert.match(first.result.stdout, new RegExp(`^${h4}\\s+3\\s+failed\\s+-\\s+offline: no heartbeat until the deadline \\(nothing was written to it\\)$`, 'm'));
      await cli(['rollout', 'abort', first.id]);
      assert.equal((await rolloutState(first.id)).status, 'aborted');

      // With --skip-offline: h4 is skipped at its wave's start and nothing is written for it.
      const h4Revision = await desiredRevision(h4);
      const second = await rollout({ version: '6' }, [...flags, '--skip-offline'], 1);
      assert.equal(second.state.status, 'failed', second.result.stdout);
      assert.equal(second.state.reason, '0 failed and 1 skipped host(s) are not on the new revision');
      const skipped = rolloutHost(second.state, h4);
      assert.deepEqual([skipped.state, skipped.writtenRevision, skipped.message], ['skipped', undefined, 'offline when its wave came (--skip-offline)']);
      assert.equal(await desiredRevision(h4), h4Revision, 'nothing written for the skipped host');
      assert.match(second.result.stdout, new RegExp(`^${h4}\\s+3\\s+skipped\\s+-\\s+offline when its wave came`, 'm'));
      const after = await fleetStatus();
      for (const hostId of [h1, h2, h3]) {
        const host = rolloutHost(second.state, hostId);
        assert.equal(host.state, 'healthy');
        assert.equal(await notOn(after, hostId, host.writtenRevision ?? -1, '6'), undefined);
      }
    } finally {
      // The next test needs h4 back, whatever happened above.
      if (!fleet.agent(h4).alive()) await fleet.restart(h4);
    }
  });

  it('f: --order start-first keeps a healthy instance on every host throughout the replacement', { timeout: 150_000 }, async () => {
    // The starting point: a checked service, healthy everywhere.
    await writeFleet({ version: 'f1', health: 'passing' });
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s']);
    const before = new Map(await Promise.all(hostIds.map(async (hostId) => [hostId, await idsOf(hostId)] as const)));

    interface Sample {
      readonly at: number;
      /** host -> [healthy, present] containers of the service */
      readonly counts: Map<string, [number, number]>;
    }
    const samples: Sample[] = [];
    const take = async (): Promise<Sample> => {
      const listed = await docker.listContainers({ filters: { label: [`${LABELS.project}=${project}`] } });
      const counts = new Map<string, [number, number]>(hostIds.map((hostId) => [`${hostId}/app`, [0, 0]]));
      for (const c of listed) {
        const key = `${c.Labels[LABELS.host] ?? '?'}/${c.Labels[LABELS.service] ?? '?'}`;
        const count = counts.get(key) ?? [0, 0];
        counts.set(key, [count[0] + (c.State === 'running' && c.Status.includes('(healthy)') ? 1 : 0), count[1] + 1]);
      }
      return { at: Date.now(), counts };
    };
    const allHealthy = (sample: Sample) => [...sample.counts.values()].every(([healthy]) => healthy > 0);
    await waitFor('every host has a healthy app', async () => allHealthy(await take()), 30_000, 200);

    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(await take());
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    let outcome: { result: CliResult; state: RolloutState };
    try {
      outcome = await rollout({ version: 'f2', health: 'passing' }, ['--order', 'start-first', '--canary', '1', '--max-parallel', '2', '--min-healthy', '1s', '--healthy-deadline', '60s'], 0);
    } finally {
      sampling = false;
      await sampler;
    }
    samples.push(await take());
    const { result, state } = outcome;
    assert.equal(state.status, 'succeeded', result.stdout);
    assert.ok(state.hosts.every((h) => h.target.updateOrder === 'start-first'));

    const firstHealthy = samples.findIndex(allHealthy);
    assert.ok(firstHealthy >= 0, 'a sample with every host healthy');
    const gaps = samples.slice(firstHealthy).flatMap((sample) => [...sample.counts.entries()].filter(([, [healthy]]) => healthy === 0).map(([key]) => `${new Date(sample.at).toISOString()} ${key}`));
    assert.deepEqual(gaps, [], `no moment without a healthy instance (${samples.length} samples)`);
    // The replacement ran alongside the old one: some sample shows two containers of a host.
    assert.ok(samples.some((sample) => [...sample.counts.values()].some(([, present]) => present >= 2)), `old and new overlapped (${samples.length} samples)`);
    assert.ok(samples.length >= 10, `${samples.length} samples`);

    const status = await fleetStatus();
    for (const hostId of hostIds) {
      const host = rolloutHost(state, hostId);
      assert.equal(await notOn(status, hostId, host.writtenRevision ?? -1, 'f2'), undefined);
      const [app] = await appOf(hostId);
      assert.notEqual(app?.id, before.get(hostId)?.[0], `${hostId}: replaced`);
      assert.ok(!app?.name.endsWith('-old'), `${hostId}: the new instance has the instance's own name`);
    }
  });
  it('g: rollback --host puts one host back on the content of its previous revision (KV history), as a new revision', { timeout: 90_000 }, async () => {
    const [h1] = hostIds as [string];
    const before = await desiredRevision(h1);
    assert.ok(before !== undefined);
    const others = new Map(await Promise.all(hostIds.slice(1).map(async (hostId) => [hostId, await idsOf(hostId)] as const)));
    const result = await cli(['rollback', '--host', h1, '--project', project]);
    assert.match(result.stdout, new RegExp(`${h1}\\.${project}: r${before} -> content of r\\d+, written as r${before + 1}\n`));
    assert.match(result.stdout, /Plan/);
    const after = await desiredRevision(h1);
    assert.equal(after, before + 1, 'written as the next revision, not by rewinding the counter');
    // The revision shown before the write is the one written (it said "desired r4 (new)", then "wrote … r6").
    assert.deepEqual([...result.stdout.matchAll(/desired r(\d+) \((?:new|unchanged)\)/g)].map((match) => Number(match[1])), [before + 1]);
    assert.match(result.stdout, new RegExp(`wrote ${h1}\\.${project} r${before + 1};`));
    await waitFor(`${h1} back on f1`, async () => (await notOn(await fleetStatus(), h1, after ?? -1, 'f1')) === undefined, 60_000, 250);
    for (const [hostId, ids] of others) assert.deepEqual(await idsOf(hostId), ids, `${hostId}: untouched`);
  });

  it('h: --order start-first on a service with a fixed host port is shown as stop-first before anything is written', { timeout: 60_000 }, async () => {
    const revisions = await Promise.all(hostIds.map((hostId) => desiredRevision(hostId)));
    // An image no registry serves: the pre-pull fails, so the rollout stops before its first write.
    await writeFile(file, `project: ${project}\nservices:\n  app:\n    image: 127.0.0.1:1/hw-none:x\n    ports: ["127.0.0.1:18080:80"]\n    stop_timeout: 1s\n`);
    const human = await cli(['rollout', '-f', file, '--order', 'start-first', '--pre-pull', '--pre-pull-timeout', '20s'], 1);
    const [first] = human.stdout.split('\n');
    assert.equal(first, 'stop-first: service app publishes fixed host port 18080: two instances cannot bind it at once, so its instances are replaced stop-first (a short gap per host)', human.stdout);
    assert.match(human.stderr, /rollout not started/);
    const json = await cli(['rollout', '-f', file, '--order', 'start-first', '--pre-pull', '--pre-pull-timeout', '20s', '--json'], 1);
    // Every progress line has the documented shape (shared/rollout-progress-json.ts), the first one with the exception.
    const records = json.stdout.split('\n').filter((line) => line !== '').map((line) => rolloutProgressJsonSchema.parse(JSON.parse(line)));
    assert.ok(records.length >= 2, json.stdout);
    assert.equal(new Set(records.map((line) => line.rollout)).size, 1, 'one rollout id on every line');
    const record = records[0] ?? { progress: '', rollout: '' };
    assert.deepEqual(record.updateOrder && [record.updateOrder.service, record.updateOrder.requested, record.updateOrder.runs, record.updateOrder.hostPort], ['app', 'start-first', 'stop-first', 18080]);
    // Without --order start-first nothing is said.
    const plain = await cli(['rollout', '-f', file, '--pre-pull', '--pre-pull-timeout', '20s'], 1);
    assert.doesNotMatch(plain.stdout, /stop-first: service/);
    assert.deepEqual(await Promise.all(hostIds.map((hostId) => desiredRevision(hostId))), revisions, 'nothing was written');
  });
});
