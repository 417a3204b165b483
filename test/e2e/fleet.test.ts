import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { pack, unpack } from 'msgpackr';
import { ReplyAssembler } from '../../shared/plan-reply-parts.js';
import { encode } from '../../shared/codec.js';
import { compareStrings } from '../../shared/compare.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { BUCKETS, EVENTS_STREAM, desiredKey, planRpcSubject } from '../../shared/subjects.js';
import { MAX_WIRE_BYTES } from '../../shared/wire.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { runCli, startCli, type CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';
import { loadSigningKey } from '../../coordinator/signing-key.js';
import { signedValue } from '../lib/signing.js';
import { fleetApplyJsonSchema, type FleetApplyJson } from '../../shared/fleet-apply-json.js';
import { fleetStatusJsonSchema } from '../../shared/fleet-status-json.js';
import { eventLineJsonSchema } from '../../shared/event-line-json.js';
import { savedPlanSchema } from '../../shared/fleet-plan-json.js';

/** What the fleet file says; each test changes one part of it. */
interface FleetShape {
  readonly webImage: string;
  readonly webReplicas: number;
  readonly allVersion: string;
  readonly dbVersion: string;
}

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

function fleetYaml(project: string, dbHost: string, shape: FleetShape): string {
  return `project: ${project}
services:
  web:
    image: ${shape.webImage}
    command: ${QUICK_STOP}
    replicas: ${shape.webReplicas}
    stop_timeout: 1s
    placement: { selector: { role: web } }
  db:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    env: { VERSION: "${shape.dbVersion}" }
    stop_timeout: 1s
    placement: { hosts: [${dbHost}] }
  all:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    env: { VERSION: "${shape.allVersion}" }
    stop_timeout: 1s
`;
}

interface ProjectJson {
  project: string;
  desiredRevision: number;
  appliedRevision?: number;
  converged: boolean;
  pendingActions: number;
  instances: { name: string; state: string; containerId?: string }[];
  rejected?: { revision: number; reason: string };
}

interface FleetHostJson {
  hostId: string;
  stale: boolean;
  heartbeatAt: string | null;
  outboxDepth: number | null;
  status: { hostId: string; projects: ProjectJson[] } | null;
}

interface FleetStatusJson {
  schema: string;
  hosts: FleetHostJson[];
}

interface ApplyOutput {
  readonly correlationID: string;
  /** Hosts the apply wrote, with the revision written. */
  readonly written: Map<string, number>;
}

/** "Wrote desired state for 2 host(s): h1-.. r2, h2-.. r2 (correlation <id>)" */
function parseApply(stdout: string): ApplyOutput {
  const match = /Wrote desired state for \d+ host\(s\): (.*) \(correlation ([0-9a-f-]{36})\)/.exec(stdout);
  assert.ok(match, `apply printed no "Wrote desired state ... (correlation <id>)" line:\n${stdout}`);
  const written = new Map<string, number>();
  for (const part of (match[1] ?? '').split(', ')) {
    const [hostId, revision] = part.split(' r');
    written.set(hostId ?? '', Number(revision));
  }
  return { correlationID: match[2] ?? '', written };
}

/** `apply --json`, read with its documented schema (shared/fleet-apply-json.ts). */
function parseApplyJson(stdout: string): ApplyOutput & { json: FleetApplyJson } {
  const json = fleetApplyJsonSchema.parse(JSON.parse(stdout));
  return { correlationID: json.correlationID, written: new Map(json.written.map((host) => [host.hostId, host.revision])), json };
}

function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as T];
      } catch {
        return []; // a line still being written
      }
    });
}

function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
}

// Three real agents (CLI child processes) against one real nats-server, sharing the local Docker
// engine; the coordinator is the CLI, driven as an operator would.
describe('fleet mode: coordinator CLI and agents over real NATS JetStream (real Docker)', () => {
  const runId = uniqueName('hwf');
  const project = uniqueName('fleet');
  const h1 = uniqueName('h1');
  const h2 = uniqueName('h2');
  const h3 = uniqueName('h3');
  const hostIds = [h1, h2, h3];
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let file: string;
  let shape: FleetShape = { webImage: 'hw/busybox:test', webReplicas: 2, allVersion: '1', dbVersion: '1' };
  /** Each host's desired revision as the last apply wrote it. */
  const revisions = new Map<string, number>();
  let statusWatch: ReturnType<typeof startCli> | undefined;
  let eventsFollow: ReturnType<typeof startCli> | undefined;
  let secondTagCreated = false;
  /** The correlation id the image change's apply printed. */
  let imageChangeCorrelation = '';

  const cli = async (args: readonly string[], expectCode = 0): Promise<CliResult> => {
    const result = await runCli([...args, '--nats', server.url], fleet.cliEnv);
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result;
  };
  const fleetStatus = async (): Promise<FleetStatusJson> => {
    const json: unknown = JSON.parse((await cli(['status', '--json'])).stdout);
    // The documented shape (shared/fleet-status-json.ts): the one-shot document carries the wiring.
    assert.ok(fleetStatusJsonSchema.parse(json).wiring, 'status --json has its wiring');
    return json as FleetStatusJson;
  };
  const projectOn = (status: FleetStatusJson, hostId: string): ProjectJson | undefined => status.hosts.find((h) => h.hostId === hostId)?.status?.projects.find((p) => p.project === project);
  /** Why a host is not converged at its revision, or undefined when it is. */
  const notConverged = (status: FleetStatusJson, hostId: string, revision: number): string | undefined => {
    const host = status.hosts.find((h) => h.hostId === hostId);
    const p = projectOn(status, hostId);
    if (!host || !p) return `${hostId}: not in status`;
    if (host.stale) return `${hostId}: stale`;
    if (p.desiredRevision !== revision || p.appliedRevision !== revision) return `${hostId}: desired r${p.desiredRevision}, applied r${p.appliedRevision ?? '-'}, want r${revision}`;
    if (!p.converged || p.rejected) return `${hostId}: converged=${p.converged} rejected=${JSON.stringify(p.rejected)}`;
    if (!p.instances.every((i) => i.state === 'running')) return `${hostId}: ${p.instances.map((i) => `${i.name}=${i.state}`).join(' ')}`;
    return undefined;
  };
  const waitConverged = async (expected: ReadonlyMap<string, number>, timeoutMs = 60_000): Promise<FleetStatusJson> => {
    let last = '';
    try {
      return await waitFor(
        `${[...expected.keys()].join(', ')} converged`,
        async () => {
          const status = await fleetStatus();
          const reasons = [...expected.entries()].flatMap(([hostId, revision]) => notConverged(status, hostId, revision) ?? []);
          last = reasons.join('; ');
          return reasons.length === 0 ? status : undefined;
        },
        timeoutMs,
        500,
      );
    } catch (error) {
      throw new Error(`${String(error)}; last: ${last}\n${agentLogs()}`);
    }
  };
  const agentLogs = () => fleet.agents.map((a) => `--- ${a.hostId} (alive: ${a.alive()})\n${a.output().split('\n').slice(-15).join('\n')}`).join('\n');
  /** Writes the fleet file and applies it; records the written revisions. */
  const apply = async (next: FleetShape, args: readonly string[] = [], expectCode = 0): Promise<ApplyOutput & { result: CliResult; json?: FleetApplyJson }> => {
    shape = next;
    await writeFile(file, fleetYaml(project, h3, shape));
    const result = await cli(['apply', '-f', file, ...args], expectCode);
    const parsed = args.includes('--json') ? parseApplyJson(result.stdout) : parseApply(result.stdout);
    for (const [hostId, revision] of parsed.written) revisions.set(hostId, revision);
    return { ...parsed, result };
  };
  /** This project's containers of one host, by name (without the agent's name prefix). */
  const containers = async (hostId: string): Promise<Map<string, { id: string; state: string; image: string }>> => {
    const prefix = `${fleet.agent(hostId).namePrefix}${project}-`;
    const listed = await fleet.containersOf(hostId);
    const byName = new Map<string, { id: string; state: string; image: string }>();
    for (const c of listed) {
      const name = (c.Names[0] ?? '').replace(/^\//, '');
      if (name.startsWith(prefix)) byName.set(name.slice(prefix.length), { id: c.Id, state: c.State, image: c.Image });
    }
    return new Map([...byName.entries()].sort(([a], [b]) => compareStrings(a, b)));
  };
  const idsOf = async (hostId: string) => new Map([...(await containers(hostId)).entries()].map(([name, c]) => [name, c.id]));
  /** The stream as `events --json` (no follow) reads it. */
  const streamEvents = async (args: readonly string[] = []): Promise<HostwrightEvent[]> => jsonLines<HostwrightEvent & { schema: string }>((await cli(['events', '--json', ...args])).stdout);
  const withNats = async <T>(work: (nc: NatsConnection) => Promise<T>): Promise<T> => {
    const nc = await connect({ servers: server.url, timeout: 5_000 });
    try {
      return await work(nc);
    } finally {
      await nc.close();
    }
  };
  /** Every message of the event stream as stored (the CLI de-duplicates by id; this read does not). */
  const rawStreamIds = (): Promise<string[]> =>
    withNats(async (nc) => {
      const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, { filter_subjects: 'hw.events.>' });
      if ((await consumer.info(true)).num_pending === 0) return [];
      const ids: string[] = [];
      const messages = await consumer.consume();
      for await (const msg of messages as AsyncIterable<JsMsg>) {
        const event = unpack(msg.data) as { id?: unknown; hostId?: unknown };
        if (typeof event.hostId === 'string' && hostIds.includes(event.hostId)) ids.push(String(event.id));
        if (msg.info.pending === 0) break;
      }
      await messages.close();
      return ids;
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-fleet-test-'));
    file = join(dir, 'fleet.yaml');
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([
      { hostId: h1, labels: { role: 'web' } },
      { hostId: h2, labels: { role: 'web' } },
      // h3 reaches NATS through a proxy, so it can be cut off.
      { hostId: h3, labels: { role: 'db' }, proxied: true },
    ]);
  });
  after(async () => {
    for (const child of [statusWatch, eventsFollow]) if (child && child.exitCode === null) child.kill('SIGKILL');
    await fleet?.cleanup();
    await server?.cleanup();
    if (secondTagCreated) await docker.getImage('hw/busybox:test2').remove({ noprune: true }).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('apply --wait converges three agents with placement by selector, by host list and everywhere', async () => {
    const { written, result } = await apply(shape, ['--wait']);
    assert.deepEqual([...written.keys()].sort(), [...hostIds].sort());
    assert.ok([...written.values()].every((revision) => revision === 1), result.stdout);
    assert.match(result.stdout, /3 converged\./);
    // apply --wait returned after every host reported convergence: status says so right away.
    const status = await fleetStatus();
    for (const hostId of hostIds) assert.equal(notConverged(status, hostId, 1), undefined);
    assert.deepEqual([...(await containers(h1)).keys()], ['all-1', 'web-1', 'web-2']);
    assert.deepEqual([...(await containers(h2)).keys()], ['all-1', 'web-1', 'web-2']);
    assert.deepEqual([...(await containers(h3)).keys()], ['all-1', 'db-1']);
    for (const hostId of hostIds) for (const [name, c] of await containers(hostId)) assert.equal(c.state, 'running', `${hostId} ${name}`);
  });

  it('changing the image of web replaces exactly the web containers on h1 and h2', async () => {
    // Watchers for the next test, started before the change.
    statusWatch = startCli(['status', '--watch', '--json', '--nats', server.url]);
    eventsFollow = startCli(['events', '--follow', '--json', '--nats', server.url]);
    await waitFor('status --watch printed the current state', async () => jsonLines<FleetStatusJson>(statusWatch?.output() ?? '').length > 0, 20_000, 100);
    await waitFor('events --follow printed the first apply', async () => jsonLines<HostwrightEvent>(eventsFollow?.output() ?? '').some((e) => e.type === 'applied' && e.hostId === h3), 20_000, 100);

    await docker.getImage('hw/busybox:test').tag({ repo: 'hw/busybox', tag: 'test2' });
    secondTagCreated = true;
    const before = new Map(await Promise.all(hostIds.map(async (hostId) => [hostId, await idsOf(hostId)] as const)));
    const { written, correlationID } = await apply({ ...shape, webImage: 'hw/busybox:test2' }, ['--wait']);
    imageChangeCorrelation = correlationID;
    assert.deepEqual([...written.entries()].sort(), [[h1, 2], [h2, 2]].sort(), 'only the web hosts get a new revision');

    const status = await fleetStatus();
    assert.equal(notConverged(status, h1, 2), undefined);
    assert.equal(notConverged(status, h2, 2), undefined);
    assert.equal(notConverged(status, h3, 1), undefined, 'h3 keeps revision 1');
    for (const hostId of [h1, h2]) {
      const now = await containers(hostId);
      const old = before.get(hostId);
      assert.deepEqual([...now.keys()], ['all-1', 'web-1', 'web-2']);
      for (const name of ['web-1', 'web-2']) {
        assert.notEqual(now.get(name)?.id, old?.get(name), `${hostId} ${name} was replaced`);
        assert.equal(now.get(name)?.image, 'hw/busybox:test2');
        assert.equal(now.get(name)?.state, 'running');
      }
      assert.equal(now.get('all-1')?.id, old?.get('all-1'), `${hostId} all-1 kept its container`);
    }
    assert.deepEqual(await idsOf(h3), before.get(h3), 'h3 containers untouched');
  });

  it('status --watch shows the new revision; events --follow shows planned and applied with the apply\'s correlation id on both web hosts', async () => {
    const watch = statusWatch;
    const follow = eventsFollow;
    assert.ok(watch && follow, 'the watchers were started by the previous test');
    const lines = jsonLines<FleetStatusJson>(watch.output());
    assert.equal(projectOn(lines[0] as FleetStatusJson, h1)?.desiredRevision, 1, 'the watch started before the change');
    await waitFor('status --watch prints h1 and h2 converged at revision 2', async () =>
      jsonLines<FleetStatusJson>(watch.output()).some((line) => line.schema === 'hostwright.fleetstatus/v1' && notConverged(line, h1, 2) === undefined && notConverged(line, h2, 2) === undefined),
    20_000, 200);

    // Every document the watch printed has the documented shape (a pull's progress line is no document).
    const documents = jsonLines<{ schema?: string }>(watch.output()).filter((line) => line.schema !== undefined);
    assert.ok(documents.length >= 2, watch.output().slice(-2000));
    for (const document of documents) assert.ok(fleetStatusJsonSchema.parse(document).at, 'status --watch --json stamps each document');

    const correlationID = imageChangeCorrelation;
    assert.match(correlationID, /^[0-9a-f-]{36}$/);
    const ofApply = () => jsonLines<HostwrightEvent>(follow.output()).filter((e) => e.correlationID === correlationID);
    await waitFor('events --follow shows planned and applied for h1 and h2', async () =>
      [h1, h2].every((hostId) => ['planned', 'applied'].every((type) => ofApply().some((e) => e.hostId === hostId && e.type === type))),
    20_000, 200);
    assert.deepEqual([...new Set(ofApply().map((e) => e.hostId))].sort(), [h1, h2].sort(), 'the same correlation id on both hosts, and nowhere else');
    // Every line of events --follow --json has the documented shape (shared/event-line-json.ts).
    for (const line of jsonLines<unknown>(follow.output())) assert.ok(eventLineJsonSchema.parse(line).trust, 'a fleet event line says how far it was verified');

    for (const child of [watch, follow]) {
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exit, 0, child.output().slice(-2000));
    }
  });

  it('nats-server killed (-9) during an apply: agents reconnect, converge, and every recorded event reaches the stream exactly once', async () => {
    const next = { ...shape, webReplicas: 4, allVersion: '2', dbVersion: '2' };
    const { written } = await apply(next);
    assert.equal(written.size, 3);
    const oldPid = server.pid;
    await server.kill9();
    await server.restart();
    assert.notEqual(server.pid, oldPid);

    await waitConverged(revisions, 90_000);
    assert.deepEqual([...(await containers(h1)).keys()], ['all-1', 'web-1', 'web-2', 'web-3', 'web-4']);
    assert.deepEqual([...(await containers(h3)).keys()], ['all-1', 'db-1']);

    let last = '';
    const compare = async () => {
      const recorded = (await Promise.all(hostIds.map((hostId) => fleet.recordedEvents(hostId)))).flat();
      const streamed = (await streamEvents()).filter((e) => hostIds.includes(e.hostId));
      const raw = await rawStreamIds();
      const recordedIds = new Set(recorded.map((e) => e.id));
      const streamedIds = new Set(streamed.map((e) => e.id));
      const result = {
        recorded: recorded.length,
        streamed: streamed.length,
        raw: raw.length,
        missing: [...recordedIds].filter((id) => !streamedIds.has(id)),
        unknown: [...streamedIds].filter((id) => !recordedIds.has(id)),
        recordedTwice: duplicates(recorded.map((e) => e.id)),
        streamedTwice: duplicates(streamed.map((e) => e.id)),
        storedTwice: duplicates(raw),
      };
      last = JSON.stringify(result);
      return result;
    };
    // The outboxes drain in the background: wait until the stream has caught up with the journals
    // (and the journals with the stream, should an event be recorded between the two reads).
    const final = await waitFor('the stream holds exactly the events the agents recorded', async () => {
      const result = await compare();
      return result.missing.length === 0 && result.unknown.length === 0 ? result : undefined;
    }, 60_000, 1_000).catch((error: unknown) => {
      throw new Error(`${String(error)}; last comparison: ${last}`);
    });
    assert.ok(final.recorded > 0);
    assert.deepEqual(final.missing, [], 'every recorded event is in the stream');
    assert.deepEqual(final.unknown, [], 'no stream event the agents did not record');
    assert.deepEqual(final.recordedTwice, []);
    assert.deepEqual(final.streamedTwice, []);
    assert.deepEqual(final.storedTwice, [], 'no event stored twice in the stream');
    assert.equal(final.raw, final.recorded, last);
  });

  it('an agent stopped while its desired state changes picks the change up when it starts again', async () => {
    const before = await idsOf(h2);
    assert.equal(await fleet.stop(h2), 0);
    try {
      assert.match(fleet.agent(h2).output(), /"msg":"stopped"/);

      const { written, result } = await apply({ ...shape, webReplicas: 2 }, ['--timeout', '2s']);
      assert.deepEqual([...written.keys()].sort(), [h1, h2].sort());
      assert.match(result.stdout, new RegExp(`${h2}: no answer within`));
      const h2Revision = written.get(h2) ?? 0;
      // h1 converges meanwhile; h2 is not there to touch its containers.
      await waitConverged(new Map([[h1, written.get(h1) ?? 0]]));
      assert.deepEqual(await idsOf(h2), before, 'nobody touched h2 while its agent was down');
      assert.notEqual(projectOn(await fleetStatus(), h2)?.desiredRevision, h2Revision);
      await fleet.restart(h2);
    } finally {
      // The later tests need h2 back, whatever happened above.
      if (!fleet.agent(h2).alive()) await fleet.restart(h2);
    }
    await waitConverged(revisions);
    const after = await idsOf(h2);
    assert.deepEqual([...after.keys()], ['all-1', 'web-1', 'web-2']);
    for (const name of after.keys()) assert.equal(after.get(name), before.get(name), `${name} kept its container`);
  });

  it('an agent cut off from NATS repairs drift from its journal, shows stale, and publishes the repair after heal', async () => {
    const proxy = fleet.agent(h3).proxy;
    assert.ok(proxy);
    const published = new Set((await streamEvents(['--host', h3])).map((e) => e.id));
    const recordedBefore = new Set((await fleet.recordedEvents(h3)).map((e) => e.id));
    const victim = `${fleet.agent(h3).namePrefix}${project}-db-1`;
    const oldId = (await docker.getContainer(victim).inspect()).Id;

    let repair: HostwrightEvent[] = [];
    await proxy.cut();
    try {
      await docker.getContainer(oldId).remove({ force: true });
      const repaired = await waitFor('h3 recreates db-1 while cut off', async () => {
        const fresh = await docker.getContainer(victim).inspect().catch(() => undefined);
        return fresh && fresh.Id !== oldId && fresh.State.Running ? fresh : undefined;
      }, 30_000, 250);
      assert.ok(proxy.isCut);
      assert.equal(proxy.connections, 0, 'no connection through the proxy while cut');

      const staleStatus = await waitFor('status shows h3 stale', async () => {
        const status = await fleetStatus();
        return status.hosts.find((h) => h.hostId === h3)?.stale === true ? status : undefined;
      }, 40_000, 1_000);
      for (const hostId of [h1, h2]) assert.equal(staleStatus.hosts.find((h) => h.hostId === hostId)?.stale, false, `${hostId} is not stale`);

      repair = (await fleet.recordedEvents(h3)).filter((e) => !recordedBefore.has(e.id));
      assert.ok(repair.some((e) => e.type === 'drift_detected' && e.service === 'db' && /missing/.test(e.message)), JSON.stringify(repair));
      assert.ok(repair.some((e) => e.type === 'applied' && e.service === 'db' && e.runtimeRef === repaired.Id), JSON.stringify(repair));
      const streamedWhileCut = new Set((await streamEvents(['--host', h3])).map((e) => e.id));
      assert.deepEqual(repair.filter((e) => streamedWhileCut.has(e.id)), [], 'nothing reaches the stream while cut');
      assert.ok([...published].every((id) => streamedWhileCut.has(id)));
      await proxy.heal();
    } finally {
      // Healed whatever happened above: the next test needs h3 connected.
      if (proxy.isCut) await proxy.heal();
    }
    await waitFor('the repair events reach the stream after heal', async () => {
      const streamed = new Set((await streamEvents(['--host', h3])).map((e) => e.id));
      return repair.every((e) => streamed.has(e.id));
    }, 40_000, 1_000);
    await waitFor('h3 is no longer stale', async () => (await fleetStatus()).hosts.find((h) => h.hostId === h3)?.stale === false, 30_000, 500);
    assert.equal(notConverged(await fleetStatus(), h3, revisions.get(h3) ?? 0), undefined);
  });

  it('garbage on the desired key and the plan subject: a failed event each, the agent lives on, its containers are untouched, apply still converges', async () => {
    const key = desiredKey(h1, project);
    const before = await containers(h1);
    const seen = new Set((await streamEvents(['--host', h1, '--type', 'failed'])).map((e) => e.id));
    const expectFailed = async (what: string, message: RegExp): Promise<HostwrightEvent> => {
      const event = await waitFor(`a failed event of ${h1} for ${what}`, async () => (await streamEvents(['--host', h1, '--type', 'failed'])).find((e) => !seen.has(e.id) && message.test(e.message)), 30_000, 500);
      seen.add(event.id);
      assert.ok(fleet.agent(h1).alive(), `the agent survived ${what}`);
      return event;
    };

    // Well-formed documents that only the agent's own checks stop: wrong host, too large. Accepting
    // either would remove h1's containers (allowEmpty, no or other services).
    const foreign = desired(project, {}, { hostId: h2, revision: 1_000, allowEmpty: true });
    // Each value within the fleet file's limit (128 KiB), the whole over the wire limit.
    const oversized = desired(project, { pad: service({ env: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`PAD${i}`, 'x'.repeat(120 * 1024)])) }) }, { hostId: h1, revision: 1_001, allowEmpty: true });
    // Signed with the fleet's own key, so that only the host and size checks stop them.
    const signer = await loadSigningKey(fleet.signingKeyFile);
    const garbage: [string, Uint8Array, RegExp][] = [
      ['random bytes', randomBytes(256), /rejected desired state on key .*unsigned: not a signed document/],
      ['msgpack of the wrong shape', pack({ nope: 1 }), /rejected desired state on key .*unsigned: not a signed document/],
      ['an unsigned document', encode(desired(project, {}, { hostId: h1, revision: 999, allowEmpty: true })), /rejected desired state on key .*unsigned: not a signed document/],
      ['a document for another host', signedValue(foreign, signer), new RegExp(`rejected desired state on key .*document is for host ${h2}`)],
      ['an oversized document', signedValue(oversized, signer), new RegExp(`rejected desired state on key .*exceeds the ${MAX_WIRE_BYTES}-byte limit`)],
    ];
    await withNats(async (nc) => {
      const kv = await new Kvm(nc).open(BUCKETS.desired);
      for (const [what, value, message] of garbage) {
        const good = revisions.get(h1) ?? 0;
        await kv.put(key, value);
        const event = await expectFailed(what, message);
        assert.equal(event.project, project);
        const status = await fleetStatus();
        assert.equal(notConverged(status, h1, good), undefined, `the last good desired state stays after ${what}`);
        assert.deepEqual(await containers(h1), before, `containers untouched after ${what}`);
        // The coordinator is not stuck on what the agent rejected: the same fleet file applies again.
        const { written } = await apply(shape, ['--wait']);
        assert.deepEqual([...written.keys()], [h1], `after ${what}, only the damaged key is rewritten`);
        assert.ok((written.get(h1) ?? 0) > good, `after ${what}: r${written.get(h1)} > r${good}`);
        assert.equal(notConverged(await fleetStatus(), h1, revisions.get(h1) ?? 0), undefined);
        assert.deepEqual(await containers(h1), before, `containers untouched by the apply after ${what}`);
      }
      for (const [what, body] of [['random bytes', randomBytes(256)], ['msgpack of the wrong shape', pack({ nope: 1 })]] as const) {
        // A reply small enough for one message comes as one part (shared/plan-reply-parts.ts).
        const whole = new ReplyAssembler().add((await nc.request(planRpcSubject(h1), body, { timeout: 10_000 })).data);
        const reply = unpack(whole ?? new Uint8Array()) as { ok?: unknown; hostId?: unknown; error?: unknown };
        assert.equal(reply.ok, false, `plan request of ${what}`);
        assert.equal(reply.hostId, h1);
        assert.match(String(reply.error), /plan request/);
        await expectFailed(`a plan request of ${what}`, /rejected a plan request/);
      }
    });

    assert.ok(fleet.agent(h1).alive());
    await fleet.waitRegistered([fleet.agent(h1)]);
    assert.deepEqual(await containers(h1), before, 'containers untouched');

    // A valid change afterwards converges every host; --json says so in its one shape.
    const { written, json } = await apply({ ...shape, allVersion: '3' }, ['--wait', '--json']);
    assert.deepEqual([...written.keys()].sort(), [...hostIds].sort());
    assert.deepEqual(json?.hosts.map((host) => [host.hostId, host.revision, host.state]).sort(), [...written].map(([hostId, revision]) => [hostId, revision, 'converged']).sort());
    assert.deepEqual(json?.held, []);
    await waitConverged(revisions);
    assert.notEqual((await containers(h1)).get('all-1')?.id, before.get('all-1')?.id, 'the valid change was applied');
  });

  it('a placement on a host that never registered is refused with the known hosts and a suggestion; --allow-unregistered writes it, status lists it NOT REGISTERED; --host filters refuse unknown hosts', async () => {
    const other = uniqueName('place');
    // One character off h1: the issue's `node.hostname == h8`, as a compose file writes it.
    const typo = `${h1.slice(0, -1)}${h1.endsWith('0') ? '1' : '0'}`;
    const compose = join(dir, 'compose-typo.yaml');
    await writeFile(compose, `name: ${other}\nservices:\n  api:\n    image: hw/busybox:test\n    command: ${QUICK_STOP}\n    stop_grace_period: 1s\n    deploy:\n      placement:\n        constraints: ["node.hostname == ${typo}"]\n`);
    const refusedLike = (result: CliResult, command: string) => {
      const output = `${result.stdout}${result.stderr}`;
      assert.match(output, new RegExp(`places services on a host that has never registered \\(NOT REGISTERED\\):\\n.*${typo} \\(api\\); did you mean ${h1}\\?`), `${command}:\n${output}`);
      assert.match(output, new RegExp(`Known hosts: ${[...hostIds].sort().join(', ')} `), command);
      assert.match(output, new RegExp(`--allow-unregistered ${typo}`), command);
    };
    refusedLike(await cli(['plan', '-f', compose], 1), 'plan');
    refusedLike(await cli(['apply', '-f', compose, '--wait', '--timeout', '10s'], 1), 'apply');
    refusedLike(await cli(['rollout', '-f', compose, '--healthy-deadline', '10s'], 1), 'rollout');
    // Nothing was written anywhere.
    assert.equal((await fleetStatus()).hosts.some((host) => host.hostId === typo), false);
    assert.equal(await withNats(async (nc) => (await (await new Kvm(nc).open(BUCKETS.desired)).get(desiredKey(typo, other)))?.operation ?? null), null);

    // A flag that names a host the file does not place on is a typo too.
    assert.match((await cli(['apply', '-f', compose, '--allow-unregistered', `${typo},zz-nowhere`], 1)).stderr, /--allow-unregistered zz-nowhere: project .* places no service there/);

    const planned = await cli(['plan', '-f', compose, '--allow-unregistered', typo]);
    assert.match(planned.stdout, new RegExp(`${typo}: NOT REGISTERED: no agent has registered as this host; r1 is written now`));
    const applied = await cli(['apply', '-f', compose, '--allow-unregistered', typo, '--wait', '--timeout', '20s']);
    assert.deepEqual([...parseApply(applied.stdout).written], [[typo, 1]]);
    assert.match(applied.stdout, new RegExp(`${typo}: NOT REGISTERED`));
    const status = JSON.parse((await cli(['status', '--json', '--host', typo])).stdout) as { hosts: (FleetHostJson & { registered: boolean; desired?: { project: string; revision: number }[] })[] };
    assert.deepEqual(status.hosts.map((host) => [host.hostId, host.registered, host.desired, host.status]), [[typo, false, [{ project: other, revision: 1 }], null]]);
    assert.match((await cli(['status'])).stdout, new RegExp(`^${typo} +NOT REGISTERED +${other} +r1 `, 'm'));
    assert.ok(((await fleetStatus()).hosts as (FleetHostJson & { registered: boolean })[]).filter((host) => hostIds.includes(host.hostId)).every((host) => host.registered));
    // Written once on purpose, the host is not refused again; nobody answers for it, so nobody is asked.
    assert.match((await cli(['plan', '-f', compose])).stdout, /1 NOT REGISTERED\./);

    const unknown = 'h9-nosuchhost';
    for (const args of [['status', '--host', unknown], ['status', '--host', unknown, '--json'], ['events', '--host', unknown], ['retry', '--host', unknown, '--project', project], ['rollback', '--host', unknown, '--project', project], ['pull', '-f', file, '--host', unknown]]) {
      const result = await cli(args, 1);
      assert.match(result.stderr, new RegExp(`--host ${unknown}: no such host\\n?.*Known hosts: ${[...hostIds, typo].sort().join(', ')} `, 's'), `${args.join(' ')}:\n${result.stderr}`);
      assert.equal(result.stdout, '', args.join(' '));
    }
    assert.match((await cli(['status', '--host', `${h2.slice(0, -1)}${h2.endsWith('0') ? '1' : '0'}`], 1)).stderr, new RegExp(`did you mean ${h2}\\?`));
  });

  it("plan blocks a host port another project already publishes on the host, exactly as apply does (exit 3 both)", async () => {
    const port = await freePort();
    const portFile = (name: string) => `project: ${name}\nservices:\n  web:\n    image: hw/busybox:test\n    command: ${QUICK_STOP}\n    stop_timeout: 1s\n    ports: ["127.0.0.1:${port}:80"]\n    placement: { hosts: [${h1}] }\n`;
    const [first, second] = [uniqueName('ports'), uniqueName('ports')];
    const [firstFile, secondFile] = [join(dir, 'ports-first.yaml'), join(dir, 'ports-second.yaml')];
    await writeFile(firstFile, portFile(first));
    await writeFile(secondFile, portFile(second));
    await cli(['apply', '-f', firstFile, '--wait', '--timeout', '60s']);
    const planned = await cli(['plan', '-f', secondFile], 3);
    // Both sides named, in project order (the names are random).
    const [low, high] = [first, second].sort(compareStrings);
    assert.match(planned.stdout, new RegExp(`\\[port-conflict\\] ${second}: ${low}/web \\("127\\.0\\.0\\.1:${port}:80"\\) and ${high}/web \\("127\\.0\\.0\\.1:${port}:80"\\) bind the same host port ${port}/tcp`), planned.stdout);
    // plan --json: the same block in the documented shape (shared/fleet-plan-json.ts).
    const plannedJson = savedPlanSchema.parse(JSON.parse((await cli(['plan', '-f', secondFile, '--json'], 3)).stdout));
    assert.deepEqual(plannedJson.hosts.map((host) => [host.hostId, host.plan?.blocked.map((block) => block.gate)]), [[h1, ['port-conflict']]]);
    const applied = await cli(['apply', '-f', secondFile, '--wait', '--timeout', '60s'], 3);
    assert.match(applied.stdout, new RegExp(`${h1}: would block: \\[port-conflict\\]`));
    assert.match(applied.stdout, /1 blocked\./);
    // The first project was neither blocked nor touched.
    assert.equal((await fleetStatus()).hosts.find((host) => host.hostId === h1)?.status?.projects.find((p) => p.project === first)?.converged, true);
  });
});
