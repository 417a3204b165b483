import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { encode } from '../../shared/codec.js';
import { signDocument, signingKeyOf } from '../../shared/signed-document.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { FLEET_STREAMS, concreteSubject, connectAs, fleetView, hostPublishAllowList, hostileReplies, reportPayload, seedOf, withObserver } from '../lib/fleet-attack.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request's outcome: the reply's text, or the error's message (a permission violation, no responders). */
async function attempt(nc: NatsConnection, subject: string, body: string | Uint8Array): Promise<string> {
  try {
    return new TextDecoder().decode((await nc.request(subject, body, { timeout: 2_000 })).data);
  } catch (error) {
    const messages: string[] = [];
    for (let current: unknown = error; current instanceof Error; current = current.cause) messages.push(current.message);
    return `error: ${messages.join(' / ')}`;
  }
}

/**
 * The attacks of the host-isolation review, each a test that fails if it succeeds, against a real
 * nats-server running the config `fleet init` generates and real agents (one per host) doing
 * their job. Host A is the compromised one: the attacker holds its NATS credentials (and, where
 * said, its signing seed); host B is the victim.
 */
describe('a compromised host cannot touch the rest of the fleet', { timeout: 600_000 }, () => {
  const runId = uniqueName('iso');
  const hostA = uniqueName('ia');
  const hostB = uniqueName('ib');
  const project = uniqueName('isop');
  let dir: string;
  let nats: NatsServerHandle;
  let harness: FleetHarness;
  let coordinator: NatsConnection;
  /** Sees everything in the fleet account (a user the test adds; see withObserver). */
  let observer: NatsConnection;
  let jsm: JetStreamManager;
  let attackerSeed: string;
  const open: NatsConnection[] = [];
  const asA = async () => {
    const nc = await connectAs(nats.url, attackerSeed, `_INBOX_${hostA}`);
    open.push(nc);
    return nc;
  };
  const cli = (args: readonly string[], env: Record<string, string> = {}) => runCli([...args, '--nats', nats.url, '--creds', join(dir, 'coordinator.nk')], env);
  const victimEvents = async (): Promise<string> => {
    const result = await cli(['events', '--json', '--host', hostB]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-isolation-'));
    const init = await runCli(['fleet', 'init', '--dir', dir, '--host', hostA, '--host', hostB]);
    assert.equal(init.code, 0, init.stderr);
    const observed = await withObserver(dir);
    nats = await startNatsServer({ include: observed.accountsFile, config: 'max_payload: 1MB' });
    harness = FleetHarness.create(nats, runId, { cliArgs: ['--creds', join(dir, 'coordinator.nk')] });
    attackerSeed = await seedOf(dir, hostA);
    coordinator = await connectAs(nats.url, await seedOf(dir, 'coordinator'));
    observer = await connectAs(nats.url, observed.seed);
    open.push(coordinator, observer);
    const agentArgs = (hostId: string) => ['--creds', join(dir, 'hosts', `${hostId}.nk`), '--coordinator-key', join(dir, 'coordinator-signing.pub')];
    await harness.startAgents([
      { hostId: hostA, labels: {}, args: agentArgs(hostA) },
      { hostId: hostB, labels: {}, args: agentArgs(hostB) },
    ]);
    const fleetFile = join(dir, 'fleet.yaml');
    await writeFile(fleetFile, `project: ${project}\nservices:\n  api:\n    image: hw/busybox:test\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n    stop_timeout: 1s\n    placement: { hosts: [${hostA}, ${hostB}] }\n`);
    const apply = await cli(['apply', '-f', fleetFile, '--wait', '--timeout', '90s', '--signing-key', join(dir, 'coordinator-signing.nk')]);
    assert.equal(apply.code, 0, `${apply.stdout}${apply.stderr}\n${harness.agent(hostA).output().slice(-3000)}`);
    jsm = await jetstreamManager(observer);
    // Something in the rollouts bucket, so that a purge of it shows.
    await (await new Kvm(coordinator).open('hw_rollouts')).put(project, encode({ probe: true }));
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await harness?.cleanup();
    await nats?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reply subjects: no publish A may make, with any reply subject in the fleet\'s namespace, changes any stream, bucket, consumer or other host', async (t) => {
    const nc = await asA();
    const durables: { stream: string; name: string }[] = [];
    for (const stream of FLEET_STREAMS) for await (const consumer of jsm.consumers.list(stream)) if (consumer.config.durable_name) durables.push({ stream, name: consumer.name });
    const publishes = (await hostPublishAllowList(dir, hostA)).map(concreteSubject);
    const replies = hostileReplies(hostA, hostB, project, durables);
    const before = await fleetView(jsm, hostA, [hostA, hostB]);
    const victimBefore = await victimEvents();
    let tried = 0;
    for (const subject of publishes) {
      for (const reply of replies) {
        // The body is a valid-looking request for the API a reflected answer would reach.
        nc.publish(subject, encode({ hostId: hostB, probe: tried }), { reply });
        tried += 1;
      }
      await nc.flush();
    }
    await sleep(2_000);
    const afterView = await fleetView(jsm, hostA, [hostA, hostB]);
    for (const stream of FLEET_STREAMS) {
      assert.deepEqual(afterView[stream], before[stream], `stream ${stream} changed after ${tried} publishes with hostile reply subjects`);
    }
    // B's own reports are still B's: nothing of A's reached B's keys, plan subject or events.
    for (const bucket of ['hw_status', 'hw_hosts']) {
      const last = await jsm.streams.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${hostB}` });
      assert.equal(reportPayload(last?.data ?? new Uint8Array())?.hostId, hostB, `${bucket}.${hostB} holds something that is not B's report`);
    }
    assert.equal(await victimEvents(), victimBefore, 'B recorded events during the sweep (its plan subject or event subjects were reached)');
    assert.ok(harness.agent(hostB).alive() && harness.agent(hostA).alive());
    t.diagnostic(`tried ${tried} publishes (${publishes.length} subjects x ${replies.length} reply subjects); changed nothing`);
  });

  it('the reported purges, one by one: events, desired state, rollouts and another host\'s status stay', async () => {
    const nc = await asA();
    const desiredBefore = (await jsm.streams.info('KV_hw_desired')).state.messages;
    const eventsBefore = (await jsm.streams.info('HW_EVENTS')).state;
    const rolloutsBefore = (await jsm.streams.info('KV_hw_rollouts')).state.messages;
    const statusB = await jsm.streams.getMessage('KV_hw_status', { last_by_subj: `$KV.hw_status.${hostB}` });
    nc.publish(`hw.events.${hostA}.x.applied`, encode({}), { reply: '$JS.API.STREAM.PURGE.HW_EVENTS' });
    nc.publish(`$KV.hw_hosts.${hostA}`, encode({}), { reply: '$JS.API.STREAM.PURGE.KV_hw_desired' });
    nc.publish(`$KV.hw_hosts.${hostA}`, encode({}), { reply: '$JS.API.STREAM.PURGE.KV_hw_rollouts' });
    for (let i = 0; i < 20; i += 1) nc.publish(`$KV.hw_hosts.${hostA}`, encode({}), { reply: `$KV.hw_status.${hostB}` });
    await nc.flush();
    await sleep(1_000);
    assert.equal((await jsm.streams.info('KV_hw_desired')).state.messages, desiredBefore, 'desired state was purged');
    assert.equal((await jsm.streams.info('KV_hw_rollouts')).state.messages, rolloutsBefore, 'rollouts were purged');
    assert.ok((await jsm.streams.info('HW_EVENTS')).state.first_seq <= eventsBefore.first_seq, 'the event stream was purged');
    const statusAfter = await jsm.streams.getMessage('KV_hw_status', { last_by_subj: `$KV.hw_status.${hostB}` });
    assert.ok(statusAfter?.seq === statusB?.seq || reportPayload(statusAfter?.data ?? new Uint8Array())?.hostId === hostB, 'B\'s status was overwritten');
  });

  it('push consumers: A cannot create any consumer, so none delivers to another host\'s plan subject', async () => {
    const nc = await asA();
    const deliverTo = `hw.rpc.${hostB}.plan`;
    const body = (name: string) => JSON.stringify({ stream_name: 'KV_hw_desired', config: { name, durable_name: name, filter_subject: `$KV.hw_desired.${hostA}.>`, deliver_subject: deliverTo, ack_policy: 'none', deliver_policy: 'all', idle_heartbeat: 500_000_000, flow_control: true } });
    const outcomes = await Promise.all(
      [`$JS.API.CONSUMER.CREATE.KV_hw_desired.evil.$KV.hw_desired.${hostA}.>`, '$JS.API.CONSUMER.CREATE.KV_hw_desired.evil', '$JS.API.CONSUMER.DURABLE.CREATE.KV_hw_desired.evil', `hw.fleet.${hostA}.API.CONSUMER.CREATE.KV_hw_desired.evil`].map((subject) => attempt(nc, subject, body('evil'))),
    );
    for (const outcome of outcomes) assert.match(outcome, /^error: .*(Permissions Violation|no responders)/, outcome);
    await sleep(1_500);
    for (const stream of FLEET_STREAMS) {
      for await (const consumer of jsm.consumers.list(stream)) assert.notEqual(consumer.config.deliver_subject, deliverTo, `${stream} has a consumer delivering to ${deliverTo}`);
    }
    assert.doesNotMatch(await victimEvents(), /rejected a plan request/);
  });

  it('metadata: A sees no other host\'s subjects, keys, revisions or event counts', async () => {
    const nc = await asA();
    const probes = [
      ['$JS.API.STREAM.INFO.HW_EVENTS', JSON.stringify({ subjects_filter: '>' })],
      ['$JS.API.STREAM.INFO.KV_hw_desired', JSON.stringify({ subjects_filter: '>' })],
      ['$JS.API.STREAM.INFO.KV_hw_status', JSON.stringify({ subjects_filter: '>' })],
      ['$JS.API.STREAM.LIST', '{}'],
      ['$JS.API.CONSUMER.LIST.KV_hw_desired', '{}'],
      [`$JS.API.CONSUMER.INFO.KV_hw_desired.hw_host_${hostB}`, ''],
      [`hw.fleet.${hostA}.API.CONSUMER.INFO.KV_hw_desired.hw_host_${hostB}`, ''],
      [`hw.fleet.${hostA}.API.STREAM.INFO.HW_EVENTS`, JSON.stringify({ subjects_filter: '>' })],
      [`$JS.API.DIRECT.GET.KV_hw_desired.$KV.hw_desired.${hostB}.${project}`, ''],
      ['$JS.API.STREAM.MSG.GET.KV_hw_status', JSON.stringify({ last_by_subj: `$KV.hw_status.${hostB}` })],
    ] as const;
    for (const [subject, body] of probes) {
      const outcome = await attempt(nc, subject, body);
      // A refusal names the subject asked for; an answer must not name B at all.
      assert.ok(outcome.startsWith('error: ') || !outcome.includes(hostB), `${subject} told A about ${hostB}: ${outcome.slice(0, 300)}`);
    }
    // Its own feed is all A may look at, and it names only A's keys.
    const own = await attempt(nc, `hw.fleet.${hostA}.API.CONSUMER.INFO.KV_hw_desired.hw_host_${hostA}`, '');
    assert.match(own, new RegExp(`"filter_subject":"\\$KV\\.hw_desired\\.${hostA}\\.(>|\\\\u003e)"`));
    assert.doesNotMatch(own, new RegExp(hostB));
  });

  it('reading and writing as another host: no subscription, pull, get or publish of B\'s subjects', async () => {
    const nc = await asA();
    for (const subject of [`hw.fleet.${hostA}.API.CONSUMER.MSG.NEXT.KV_hw_desired.hw_host_${hostB}`, `$JS.API.CONSUMER.MSG.NEXT.KV_hw_desired.hw_host_${hostB}`, `$KV.hw_status.${hostB}`, `$KV.hw_hosts.${hostB}`, `hw.events.${hostB}.${project}.applied`, `$KV.hw_desired.${hostA}.${project}`]) {
      assert.match(await attempt(nc, subject, encode({ hostId: hostB })), /^error: .*(Permissions Violation|no responders)/, subject);
    }
    for (const subject of [`hw.rpc.${hostB}.plan`, `hw.rpc.${hostB}.retry`, `hw.rpc.${hostB}.pull`, `$KV.hw_desired.${hostB}.>`, '_INBOX.>', `_INBOX_${hostB}.>`, 'hw.events.>', '>']) {
      const sub = nc.subscribe(subject);
      const closedWith = await sub.closed;
      assert.ok(closedWith instanceof Error && /Permissions Violation/.test(closedWith.message), `subscription to ${subject} was not refused`);
    }
  });

  it('retry: A can neither retry B\'s project nor its own (only the coordinator may), with any reply subject; the coordinator can', async () => {
    const nc = await asA();
    const victimBefore = await victimEvents();
    for (const subject of [`hw.rpc.${hostB}.retry`, `hw.rpc.${hostA}.retry`]) {
      assert.match(await attempt(nc, subject, encode({ correlationID: 'evil', project })), /^error: .*(Permissions Violation|no responders)/, subject);
      // Aimed through a reply subject: published where A may publish, the answer sent to B's retry subject.
      for (const own of (await hostPublishAllowList(dir, hostA)).map(concreteSubject)) nc.publish(own, encode({ correlationID: 'evil', project }), { reply: subject });
    }
    await nc.flush();
    await sleep(1_500);
    assert.doesNotMatch(await victimEvents(), /retry requested/, 'B took a retry from A');
    assert.equal(await victimEvents(), victimBefore);
    // The coordinator may, signing the request: B answers (nothing to lift) and records the request.
    const retried = await cli(['retry', '--host', hostB, '--project', project, '--signing-key', join(dir, 'coordinator-signing.nk')]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /was neither rejected nor backing off/);
    await waitFor('B recorded the retry', async () => /retry requested/.test(await victimEvents()), 20_000, 500);
  });

  it('pull: A can make neither B nor itself pull (only the coordinator may), with any reply subject; the coordinator can, and B answers through its account', async () => {
    const nc = await asA();
    const victimBefore = await victimEvents();
    const candidate = { correlationID: 'evil', candidate: { hostId: hostB, project, revision: 1, services: {} } };
    for (const subject of [`hw.rpc.${hostB}.pull`, `hw.rpc.${hostA}.pull`]) {
      assert.match(await attempt(nc, subject, encode(candidate)), /^error: .*(Permissions Violation|no responders)/, subject);
      for (const own of (await hostPublishAllowList(dir, hostA)).map(concreteSubject)) nc.publish(own, encode(candidate), { reply: subject });
    }
    await nc.flush();
    await sleep(1_500);
    assert.equal(await victimEvents(), victimBefore, 'B took a pull request from A');
    // The coordinator may, signing the request: B plans the fleet file's revision, finds its image present and says so.
    const pulled = await cli(['pull', '-f', join(dir, 'fleet.yaml'), '--host', hostB, '--json', '--signing-key', join(dir, 'coordinator-signing.nk')]);
    assert.equal(pulled.code, 0, `${pulled.stdout}${pulled.stderr}`);
    const result = JSON.parse(pulled.stdout.trim().split('\n').at(-1) ?? '{}') as { hosts: { hostId: string; ok: boolean; present: string[] }[] };
    assert.deepEqual(result.hosts.map((host) => [host.hostId, host.ok, host.present]), [[hostB, true, ['hw/busybox:test']]]);
  });

  it('identity from the channel: what A writes on its own keys and subjects claiming to be B is refused, never shown as B', async () => {
    const nc = await asA();
    const key = signingKeyOf(new TextEncoder().encode(attackerSeed));
    const now = new Date().toISOString();
    const forgedProject = uniqueName('forged');
    const status = { hostId: hostB, reportedAt: now, agentVersion: '0.1.0', outboxDepth: 0, status: { hostId: hostB, observedAt: now, projects: [{ project: forgedProject, desiredRevision: 99, appliedRevision: 99, converged: true, pendingActions: 0, instances: [], unowned: [], blocked: [] }] } };
    const registration = { hostId: hostB, labels: { forged: 'by-a' }, agentVersion: '0.1.0', startedAt: now, heartbeatAt: now };
    const event = { id: uniqueName('forged-event'), type: 'applied', severity: 'info', hostId: hostB, project, message: 'FORGED BY A', timestamp: now, correlationID: 'forged' };
    // Stop A's agent first, so that its own reports do not overwrite the forgeries at once.
    await harness.stop(hostA);
    const js = jetstream(nc, { checkAPI: false });
    const seal = (value: unknown) => signDocument(encode(value), key);
    await js.publish(`$KV.hw_status.${hostA}`, seal(status));
    await js.publish(`$KV.hw_hosts.${hostA}`, seal(registration));
    await js.publish(`hw.events.${hostA}.${project}.applied`, seal(event), { msgID: event.id });
    await js.publish(`hw.events.${hostA}.${project}.applied`, seal({ ...event, id: `${event.id}-2`, hostId: hostA, project: 'other', type: 'failed' }), { msgID: `${event.id}-2` });

    const statusJson = await cli(['status', '--json']);
    assert.equal(statusJson.code, 0, statusJson.stderr);
    assert.doesNotMatch(statusJson.stdout, new RegExp(forgedProject), 'a forged status shows');
    const parsed = JSON.parse(statusJson.stdout) as { hosts: { hostId: string; trust: string; refused: { report: string; reason: string }[] }[] };
    const a = parsed.hosts.find((h) => h.hostId === hostA);
    assert.equal(a?.trust, 'refused');
    assert.match(a?.refused.map((r) => r.reason).join(' ') ?? '', /names host .*but it arrived on status key/);
    assert.equal(parsed.hosts.find((h) => h.hostId === hostB)?.trust, 'verified');
    const human = await cli(['status']);
    assert.match(human.stdout, new RegExp(`${hostA}: REFUSED its status report`));

    const hosts = await cli(['hosts', '--json']);
    assert.doesNotMatch(hosts.stdout, /by-a/, 'a forged registration shows');
    assert.match(hosts.stdout, new RegExp(`"hostId": "${hostA}",\\s*"reason"`));

    const events = await cli(['events', '--json', '--project', project]);
    assert.doesNotMatch(events.stdout, /FORGED BY A/);
    assert.match(events.stdout, /hostwright.refusedevent\/v1.*arrived on event subject/);
    assert.match(events.stdout, /"trust":"verified"/);
    await harness.restart(hostA);
  });

  it('a plan larger than the server\'s max payload is sent in parts and the agent stays up; so is a small request for a huge plan', async () => {
    const big = join(dir, 'big.yaml');
    const replicas = 1000;
    await writeFile(big, `project: ${uniqueName('big')}\nservices:\n  api:\n    image: hw/busybox:test\n    replicas: ${replicas}\n    placement: { hosts: [${hostA}] }\n  web:\n    image: hw/busybox:test\n    replicas: ${replicas}\n    placement: { hosts: [${hostA}] }\n`);
    const plan = await cli(['plan', '-f', big, '--json', '--timeout', '60s']);
    assert.equal(plan.code, 0, plan.stderr.slice(0, 2000));
    const parsed = JSON.parse(plan.stdout) as { hosts: { hostId: string; plan?: { actions: { kind: string }[] } }[] };
    const instanceActions = parsed.hosts.find((h) => h.hostId === hostA)?.plan?.actions.filter((action) => action.kind === 'create' || action.kind === 'start');
    assert.equal(instanceActions?.length, 2 * replicas * 2, 'a create and a start per instance');
    assert.ok(harness.agent(hostA).alive(), `agent A exited:\n${harness.agent(hostA).output().slice(-2000)}`);
    // Anyone with the coordinator's NATS credentials (no signing key) asks for a huge plan in a small request.
    const request = encode({ correlationID: 'big', candidate: desired(uniqueName('huge'), { api: service({ replicas: 1000 }), web: service({ replicas: 1000 }) }, { hostId: hostA }) });
    assert.ok(request.byteLength < 4096);
    const parts: Uint8Array[] = [];
    const inbox = `_INBOX.huge-${runId}`;
    const sub = coordinator.subscribe(inbox, { timeout: 30_000 });
    coordinator.publish(`hw.rpc.${hostA}.plan`, request, { reply: inbox });
    for await (const msg of sub) {
      parts.push(msg.data);
      const first = reportPayload(msg.data) as { parts?: number } | undefined;
      if (first?.parts !== undefined && parts.length >= first.parts) break;
    }
    assert.ok(parts.length > 1 && parts.every((part) => part.byteLength <= 1024 * 1024), `${parts.length} part(s)`);
    await sleep(500);
    assert.ok(harness.agent(hostA).alive(), 'agent A exited after a huge plan request');
    await waitFor('agent A answering plans again', async () => (await cli(['plan', '-f', join(dir, 'fleet.yaml'), '--detailed-exitcode'])).code === 0, 30_000);
  });

  // The review's finding: a heartbeat far in the future showed "NaNh ago" and the host was never STALE.
  it('a heartbeat A reports from the future (or one that is no time) counts as STALE in hosts and status, shown as clock skew, not as an age', async () => {
    const nc = await asA();
    const key = signingKeyOf(new TextEncoder().encode(attackerSeed));
    const js = jetstream(nc, { checkAPI: false });
    await harness.stop(hostA);
    try {
      const now = new Date().toISOString();
      for (const [heartbeatAt, shown] of [
        [new Date(Date.now() + 365 * 86_400_000).toISOString(), /STALE 365d in the future: clock skew\?/],
        ['+275760-09-13T00:00:00.001Z', /STALE not a time/],
      ] as const) {
        await js.publish(`$KV.hw_hosts.${hostA}`, signDocument(encode({ hostId: hostA, labels: {}, agentVersion: '0.1.0', startedAt: now, heartbeatAt }), key));
        const hostsJson = await cli(['hosts', '--json']);
        assert.equal(hostsJson.code, 0, hostsJson.stderr);
        const listed = (JSON.parse(hostsJson.stdout) as { hosts: { hostId: string; stale: boolean; heartbeatAt: string }[] }).hosts;
        assert.deepEqual(listed.find((host) => host.hostId === hostA), { hostId: hostA, labels: {}, agentVersion: '0.1.0', startedAt: now, heartbeatAt, trust: 'verified', coordinatorLabels: {}, effectiveLabels: {}, cordon: null, drain: null, stale: true });
        assert.equal(listed.find((host) => host.hostId === hostB)?.stale, false, 'B, heartbeating, is not stale');
        const hosts = await cli(['hosts']);
        assert.match(hosts.stdout.split('\n').find((line) => line.startsWith(hostA)) ?? '', shown);
        assert.doesNotMatch(hosts.stdout, /NaN/);
        const status = await cli(['status']);
        assert.match(status.stdout, shown);
        const statusJson = JSON.parse((await cli(['status', '--json'])).stdout) as { hosts: { hostId: string; stale: boolean }[] };
        assert.equal(statusJson.hosts.find((host) => host.hostId === hostA)?.stale, true);
      }
    } finally {
      await harness.restart(hostA);
    }
  });

  it('terminal escapes in what a host reports are shown escaped by events, hosts and status', async () => {
    const nc = await asA();
    const key = signingKeyOf(new TextEncoder().encode(attackerSeed));
    const js = jetstream(nc, { checkAPI: false });
    const hostile = 'ok\u001b[2K\u001b[1A\u001b]0;pwned\u0007\u009b31m\u202edone';
    const now = new Date().toISOString();
    const event = { id: uniqueName('esc'), type: 'failed', severity: 'error', hostId: hostA, project, message: hostile, timestamp: now, correlationID: 'esc' };
    await js.publish(`hw.events.${hostA}.${project}.failed`, signDocument(encode(event), key), { msgID: event.id });
    const events = await cli(['events', '--host', hostA, '--type', 'failed']);
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stdout, /ok\\x1b\[2K/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(events.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, 'a raw control character reached the terminal');
  });
});
