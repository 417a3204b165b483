import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, createInbox, headers, nkeyAuthenticator, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { createOperator, createUser } from '@nats-io/nkeys';
import { unpack } from 'msgpackr';
import { pino } from 'pino';
import { countOf, fleetHostCount } from '../../agent/fleet/fleet-size.js';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { loadSigningKey } from '../../coordinator/signing-key.js';
import { encode } from '../../shared/codec.js';
import { openSignedDocument, signingKeyOf } from '../../shared/signed-document.js';
import { sealReport } from '../../shared/host-report.js';
import { meshDesiredKey } from '../../shared/mesh.js';
import { signRequest } from '../../shared/signed-request.js';
import { emptyHostControl } from '../../shared/host-control.js';
import { BUCKETS, desiredKey, eventSubject, execIoRpcSubject, execRpcSubject, hostInboxPrefix, hostJetStreamPrefix, logsRpcSubject, planRpcSubject, pullRpcSubject, retryRpcSubject } from '../../shared/subjects.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const run = promisify(execFile);
const silent = pino({ level: 'silent' });

/** `hostwright fleet init` into a temp dir, as an operator would run it. */
async function initFleet(hosts: readonly string[], extra: readonly string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hw-fleet-auth-'));
  const result = await runCli(['fleet', 'init', '--dir', dir, ...hosts.flatMap((host) => ['--host', host]), ...extra]);
  assert.equal(result.code, 0, result.stderr);
  return dir;
}

/** A raw client with a host's seed and its inbox prefix: what a compromised host could do with its credentials. */
async function connectAs(url: string, seedFile: string, inboxPrefix: string): Promise<NatsConnection> {
  const seed = (await readFile(seedFile, 'utf8')).trim();
  return connect({ servers: url, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), inboxPrefix, timeout: 5_000, reconnect: false });
}

/** The server's permission error, whether nats.js rejects with it or wraps it (a request keeps it as `cause`). */
function permissionViolation(error: unknown): Error {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current.name === 'PermissionViolationError') return current;
  }
  assert.fail(`expected the server's permission error, got ${String(error)}`);
}

/** The server's answer to a forbidden publish (nats.js rejects the request with it). */
function deniedPublish(subject: string | RegExp) {
  return (error: unknown): boolean => {
    const violation = permissionViolation(error);
    if (typeof subject === 'string') assert.equal(violation.message, `Permissions Violation for Publish to "${subject}"`);
    else assert.match(violation.message, subject);
    return true;
  };
}

/** A forbidden subscription is closed by the client with the server's error. */
async function assertSubscriptionDenied(sub: Subscription, subject: string): Promise<void> {
  const closedWith = await sub.closed;
  assert.ok(closedWith instanceof Error, `subscription to ${subject} was not refused`);
  assert.equal(closedWith.message, `Permissions Violation for Subscription to "${subject}"`);
}

describe('least-privilege NATS: the config `fleet init` generates, on a real nats-server', () => {
  const hostA = uniqueName('pa');
  const hostB = uniqueName('pb');
  const project = uniqueName('perm');
  let dir: string;
  let nats: NatsServerHandle;
  let coordinator: FleetClient;
  const open: NatsConnection[] = [];
  const hostCreds = (hostId: string) => join(dir, 'hosts', `${hostId}.nk`);
  const asHost = async (hostId: string) => {
    const nc = await connectAs(nats.url, hostCreds(hostId), hostInboxPrefix(hostId));
    open.push(nc);
    return nc;
  };

  before(async () => {
    dir = await initFleet([hostA, hostB]);
    nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
    coordinator = await FleetClient.connect(nats.url, silent, { credsFile: join(dir, 'coordinator.nk') }, await loadSigningKey(join(dir, 'coordinator-signing.nk')));
    await coordinator.writeDesired(desired(project, { api: service() }, { hostId: hostB }), 0);
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await coordinator?.close();
    await nats?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes seeds with mode 0600 and the signing key as an nkeys operator key', async () => {
    for (const file of ['coordinator.nk', 'admin.nk', 'coordinator-signing.nk', `hosts/${hostA}.nk`]) {
      assert.equal((await stat(join(dir, file))).mode & 0o777, 0o600, file);
    }
    assert.match((await readFile(join(dir, 'coordinator-signing.pub'), 'utf8')).trim(), /^O[A-Z2-7]{55}$/);
    assert.match((await readFile(join(dir, 'coordinator-signing.nk'), 'utf8')).trim(), /^SO[A-Z2-7]+$/);
    const accounts = await readFile(join(dir, 'accounts.conf'), 'utf8');
    assert.match(accounts, /^accounts \{/m);
    assert.doesNotMatch(accounts, /^authorization/m);
    // `fleet regenerate` writes the same config again from fleet-auth.json.
    await writeFile(join(dir, 'accounts.conf'), '# an older layout\n');
    const regenerated = await runCli(['fleet', 'regenerate', '--dir', dir]);
    assert.equal(regenerated.code, 0, regenerated.stderr);
    assert.equal(await readFile(join(dir, 'accounts.conf'), 'utf8'), accounts);
    // A fleet made before the admin user gets one from `fleet regenerate`, with a seed of mode 0600.
    assert.match(accounts, /# admin \(fleet setup\)/);
    const manifest = JSON.parse(await readFile(join(dir, 'fleet-auth.json'), 'utf8')) as { admin?: unknown };
    delete manifest.admin;
    await writeFile(join(dir, 'fleet-auth.json'), JSON.stringify(manifest));
    await rm(join(dir, 'admin.nk'));
    const upgraded = await runCli(['fleet', 'regenerate', '--dir', dir]);
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.match(upgraded.stdout, /^wrote .*admin\.nk: the admin user that sets up the streams/);
    assert.equal((await stat(join(dir, 'admin.nk'))).mode & 0o777, 0o600);
    assert.match(await readFile(join(dir, 'accounts.conf'), 'utf8'), /# admin \(fleet setup\)/);
  });

  it('refuses a client without credentials and a client with an unknown key', async () => {
    await assert.rejects(connect({ servers: nats.url, timeout: 5_000 }), /Authorization Violation/);
    await assert.rejects(connect({ servers: nats.url, timeout: 5_000, authenticator: nkeyAuthenticator(createUser().getSeed()) }), /Authorization Violation/);
    const cli = await runCli(['hosts', '--nats', nats.url], { HOSTWRIGHT_CREDS: '' });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /Authorization Violation; the server wants credentials/);
  });

  it('host A reads its desired state only through its own feed: no other feed, watch, get, direct get, subscription or consumer', async () => {
    const nc = await asHost(hostA);
    const key = desiredKey(hostB, project);
    const prefix = `hw.fleet.${hostA}.API`;
    for (const subject of [
      `${prefix}.CONSUMER.MSG.NEXT.KV_hw_desired.hw_host_${hostB}`,
      `$JS.API.CONSUMER.MSG.NEXT.KV_hw_desired.hw_host_${hostB}`,
      `$JS.API.CONSUMER.CREATE.KV_hw_desired.sneaky.$KV.hw_desired.${hostB}.>`,
      `$JS.API.CONSUMER.CREATE.KV_hw_desired.sneaky.$KV.hw_desired.${hostA}.>`,
      '$JS.API.STREAM.MSG.GET.KV_hw_desired',
      `$JS.API.DIRECT.GET.KV_hw_desired.$KV.hw_desired.${key}`,
    ]) {
      await assert.rejects(nc.request(subject, JSON.stringify({ batch: 1 }), { timeout: 3_000 }), deniedPublish(subject));
    }
    await assertSubscriptionDenied(nc.subscribe(`$KV.hw_desired.${hostB}.>`), `$KV.hw_desired.${hostB}.>`);
    await assertSubscriptionDenied(nc.subscribe('_INBOX.>'), '_INBOX.>');
    // Its own feed exists once the coordinator wrote to it; B's document was written, A's was not.
    const own = await nc.request(`${prefix}.CONSUMER.INFO.KV_hw_desired.hw_host_${hostA}`, undefined, { timeout: 3_000 });
    assert.match(new TextDecoder().decode(own.data), /consumer not found/);
  });

  it('a host reads the registry\'s size (its stream info, which spaces the fleet\'s heartbeats) and no other stream\'s info or list', async () => {
    const nc = await asHost(hostA);
    const prefix = hostJetStreamPrefix(hostA);
    const hostKey = signingKeyOf(new TextEncoder().encode((await readFile(hostCreds(hostA), 'utf8')).trim()));
    const now = new Date().toISOString();
    await jetstream(nc, { checkAPI: false }).publish(`$KV.hw_hosts.${hostA}`, sealReport(encode({ hostId: hostA, labels: {}, agentVersion: '0.2.0', startedAt: now, heartbeatAt: now }), hostKey), { timeout: 3_000 });
    const info = JSON.parse(new TextDecoder().decode((await nc.request(`${prefix}.STREAM.INFO.KV_hw_hosts`, undefined, { timeout: 3_000 })).data)) as unknown;
    const seen = JSON.parse(new TextDecoder().decode((await coordinator.connection.nc.request('$JS.API.STREAM.INFO.KV_hw_hosts', undefined, { timeout: 3_000 })).data)) as { state: { messages: number } };
    assert.ok(seen.state.messages >= 1);
    assert.equal(countOf(info), seen.state.messages, 'the count the coordinator sees');
    assert.equal(await fleetHostCount({ nc, js: jetstream(nc), isolated: true, close: async () => undefined }, hostA), seen.state.messages, 'what the agent reads');
    for (const subject of [`${prefix}.STREAM.INFO.KV_hw_status`, `${prefix}.STREAM.INFO.KV_hw_desired`, `${prefix}.STREAM.INFO.HW_EVENTS`, `${prefix}.STREAM.INFO.KV_hw_hosts.more`, `${prefix}.STREAM.NAMES`, `${prefix}.STREAM.LIST`, `${prefix}.STREAM.UPDATE.KV_hw_hosts`, '$JS.API.STREAM.INFO.KV_hw_hosts']) {
      await assert.rejects(nc.request(subject, undefined, { timeout: 3_000 }), deniedPublish(subject), subject);
    }
  });

  it('host A cannot publish B\'s events or write B\'s status or registry', async () => {
    const nc = await asHost(hostA);
    const js = jetstream(nc, { checkAPI: false });
    const kvm = new Kvm(js);
    const subject = eventSubject(hostB, project, 'applied');
    await assert.rejects(js.publish(subject, encode({ forged: true }), { timeout: 3_000 }), deniedPublish(subject));
    await assert.rejects((await kvm.open(BUCKETS.status)).put(hostB, encode({ forged: true })), deniedPublish(`$KV.hw_status.${hostB}`));
    await assert.rejects((await kvm.open(BUCKETS.hosts)).put(hostB, encode({ forged: true })), deniedPublish(`$KV.hw_hosts.${hostB}`));
    assert.deepEqual((await coordinator.hosts()).map((host) => host.hostId).filter((id) => id === hostB), []);
  });

  it('host A cannot wipe other hosts\' status or registry with a rollup header on its own key', async () => {
    const nc = await asHost(hostA);
    const js = jetstream(nc, { checkAPI: false });
    const rollup = headers();
    rollup.set('Nats-Rollup', 'all');
    await (await new Kvm(js).open(BUCKETS.status)).put(hostA, encode({ own: true }));
    await (await new Kvm(jetstream(await asHost(hostB), { checkAPI: false })).open(BUCKETS.status)).put(hostB, encode({ kept: true }));
    for (const bucket of [BUCKETS.status, BUCKETS.hosts]) {
      await assert.rejects(js.publish(`$KV.${bucket}.${hostA}`, encode({}), { headers: rollup, timeout: 3_000 }), /rollup not permitted/);
    }
    assert.notEqual(await coordinator.connection.status.get(hostB), null, 'B\'s status survived');
  });

  it('what a host can count (docs/SECURITY.md): its event acks carry the fleet-wide sequence, so it sees how many events other hosts published, but not whose', async () => {
    const a = jetstream(await asHost(hostA), { checkAPI: false });
    const b = jetstream(await asHost(hostB), { checkAPI: false });
    const first = await a.publish(eventSubject(hostA, 'count', 'applied'), encode({}), { timeout: 3_000 });
    for (let i = 0; i < 3; i += 1) await b.publish(eventSubject(hostB, 'count', 'applied'), encode({}), { timeout: 3_000 });
    const second = await a.publish(eventSubject(hostA, 'count', 'applied'), encode({}), { timeout: 3_000 });
    assert.equal(second.seq - first.seq - 1, 3, 'the gap between two of A\'s acks is B\'s events');
    assert.deepEqual(Object.keys(second).sort(), ['duplicate', 'seq', 'stream'], 'the ack names no host, subject or content');
  });

  it('the coordinator signs retry requests for an agent whose registration says it reads them, and sends an older agent\'s unsigned, as before', async () => {
    const nc = await asHost(hostA);
    const js = jetstream(nc, { checkAPI: false });
    const hostKey = signingKeyOf(new TextEncoder().encode((await readFile(hostCreds(hostA), 'utf8')).trim()));
    const asked: Uint8Array[] = [];
    nc.subscribe(retryRpcSubject(hostA), {
      callback: (_error, msg) => {
        asked.push(msg.data);
        msg.respond(encode({ ok: true, hostId: hostA, project }));
      },
    });
    await nc.flush();
    const now = new Date().toISOString();
    for (const signedRequests of [undefined, true]) {
      await js.publish(`$KV.hw_hosts.${hostA}`, sealReport(encode({ hostId: hostA, labels: {}, agentVersion: '0.2.0', startedAt: now, heartbeatAt: now, ...(signedRequests ? { signedRequests } : {}) }), hostKey), { timeout: 3_000 });
      const client = await FleetClient.connect(nats.url, silent, { credsFile: join(dir, 'coordinator.nk') }, await loadSigningKey(join(dir, 'coordinator-signing.nk')));
      try {
        assert.equal((await client.requestRetry(hostA, project, 'c-compat', 5_000))?.ok, true);
      } finally {
        await client.close();
      }
    }
    assert.equal(asked.length, 2);
    assert.deepEqual(unpack(asked[0] ?? new Uint8Array()), { correlationID: 'c-compat', project }, 'an older agent gets the unsigned request it reads');
    const sealed = unpack(openSignedDocument(asked[1] ?? new Uint8Array()).document) as { seal?: { hostId: string } };
    assert.equal(sealed.seal?.hostId, hostA, 'an agent that reads signed requests gets one sealed for it');
  });

  it('host A cannot answer B\'s plan requests', async () => {
    const nc = await asHost(hostA);
    await assertSubscriptionDenied(nc.subscribe(planRpcSubject(hostB)), planRpcSubject(hostB));
    await assertSubscriptionDenied(nc.subscribe('hw.rpc.*.plan'), 'hw.rpc.*.plan');
    // Nobody may answer in B's place: the coordinator's request finds no responder.
    assert.equal(await coordinator.requestPlan(desired(project, {}, { hostId: hostB, allowEmpty: true }), 'c-1', 2_000), undefined);
  });

  it("host A cannot read B's logs: no request on B's logs subject (nor its own), no answering in B's place, no reply-subject detour; the coordinator's request reaches B and B's chunks reach it", async () => {
    const a = await asHost(hostA);
    const b = await asHost(hostB);
    const received: string[] = [];
    const bListens = b.subscribe(logsRpcSubject(hostB), {
      callback: (_error, msg) => {
        received.push(msg.reply ?? '');
        // A stream of chunks answers one request (up to its credit).
        for (let chunk = 1; chunk <= 3; chunk += 1) msg.respond(encode({ chunk }));
      },
    });
    await b.flush();
    const body = encode({ session: 'probe-0001' });
    for (const subject of [logsRpcSubject(hostB), logsRpcSubject(hostA)]) {
      await assert.rejects(a.request(subject, body, { timeout: 3_000 }), deniedPublish(subject), subject);
    }
    await assertSubscriptionDenied(a.subscribe(logsRpcSubject(hostB)), logsRpcSubject(hostB));
    await assertSubscriptionDenied(a.subscribe('hw.rpc.*.logs'), 'hw.rpc.*.logs');
    // A's own status key, with B's logs subject as the reply: JetStream's answer stays in A's account.
    a.publish(`$KV.${BUCKETS.status}.${hostA}`, encode({ probe: true }), { reply: logsRpcSubject(hostB) });
    await a.flush();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(received, [], 'nothing A sent reached B\'s logs subject');
    // The coordinator's request reaches B, and B's chunks come back to the coordinator's inbox.
    const inbox = createInbox();
    const chunks: number[] = [];
    const coordinatorNc = coordinator.connection.nc;
    const answered = new Promise<void>((resolve) => {
      coordinatorNc.subscribe(inbox, {
        max: 3,
        callback: (_error, msg) => {
          chunks.push((unpack(msg.data) as { chunk: number }).chunk);
          if (chunks.length === 3) resolve();
        },
      });
    });
    coordinatorNc.publish(logsRpcSubject(hostB), encode({ session: 'probe-0002' }), { reply: inbox });
    await Promise.race([answered, new Promise((_, reject) => setTimeout(() => reject(new Error(`B's chunks did not arrive: ${JSON.stringify(chunks)}`)), 5_000))]);
    assert.deepEqual(chunks, [1, 2, 3]);
    assert.equal(received.length, 1);
    bListens.unsubscribe();
  });

  it('host A cannot write any desired state, not even its own', async () => {
    const nc = await asHost(hostA);
    const kv = await new Kvm(jetstream(nc, { checkAPI: false })).open(BUCKETS.desired);
    const own = desired(project, {}, { hostId: hostA, allowEmpty: true });
    await assert.rejects(kv.put(desiredKey(hostA, project), encode(own)), deniedPublish(`$KV.hw_desired.${hostA}.${project}`));
    await assert.rejects(kv.put(desiredKey(hostB, project), encode(own), { previousSeq: 1 }), deniedPublish(`$KV.hw_desired.${hostB}.${project}`));
    // Nor a mesh document (peers, blocks, transport): no host can switch itself or another to the routed transport, in clear.
    const mesh = encode({ schema: 'hostwright.mesh/v1', hostId: hostA, fleetRange: '10.64.0.0/12', block: '10.64.0.0/20', listenPort: 51820, peers: [], revision: 99, transport: 'routed' });
    for (const target of [hostA, hostB]) await assert.rejects(kv.put(meshDesiredKey(target), mesh), deniedPublish(`$KV.hw_desired.${meshDesiredKey(target)}`));
    // A plain publish without a reply: the server reports the violation on the connection.
    const violation = (async () => {
      for await (const status of nc.status()) if (status.type === 'error') return status.error;
      return undefined;
    })();
    nc.publish(`$KV.hw_desired.${hostB}.${project}`, encode(own));
    const error = await Promise.race([violation, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000))]);
    assert.equal(error?.message, `Permissions Violation for Publish to "$KV.hw_desired.${hostB}.${project}"`);
    const entries = await coordinator.desiredOf(project);
    assert.deepEqual([...entries.keys()], [hostB]);
    assert.equal(entries.get(hostB)?.document.revision, 1);
  });

  // Before the cordon test below, whose unsigned control of host B stops every later apply.
  it('roles: a reader reads and cannot apply, plan, retry, pull or exec; a deployer cannot exec or set up streams; only an admin reaches exec (reply subjects included)', async () => {
    for (const [name, role] of [['ro', 'reader'], ['dep', 'deployer'], ['boss', 'admin']] as const) {
      const added = await runCli(['fleet', 'add-user', name, '--role', role, '--dir', dir]);
      assert.equal(added.code, 0, added.stderr);
      assert.equal((await stat(join(dir, 'users', `${name}.nk`))).mode & 0o777, 0o600);
    }
    process.kill(nats.pid, 'SIGHUP');
    const asUser = async (name: string): Promise<NatsConnection> => {
      let nc: NatsConnection | undefined;
      await waitFor(`user ${name} admitted after the reload`, async () => {
        nc = await connectAs(nats.url, join(dir, 'users', `${name}.nk`), '_INBOX').catch(() => undefined);
        return nc !== undefined;
      });
      open.push(nc as NatsConnection);
      return nc as NatsConnection;
    };
    const [reader, deployer, admin] = [await asUser('ro'), await asUser('dep'), await asUser('boss')];
    const forged = encode({ forged: true });
    const deniedTo = async (nc: NatsConnection, subjects: readonly string[]): Promise<void> => {
      for (const subject of subjects) await assert.rejects(nc.request(subject, forged, { timeout: 3_000 }), deniedPublish(subject), subject);
    };
    const execSubjects = [execRpcSubject(hostB), execIoRpcSubject(hostB)];
    // Writes, host requests, exec, setup and other clients' reply subjects (a forged answer to someone's request).
    await deniedTo(reader, [`$KV.hw_desired.${hostB}.${project}`, `$KV.hw_hostctl.${hostB}`, planRpcSubject(hostB), retryRpcSubject(hostB), pullRpcSubject(hostB), ...execSubjects, '$JS.API.STREAM.UPDATE.HW_EVENTS', '$JS.API.STREAM.CREATE.KV_hw_desired', '_INBOX.forged', '_R_.forged']);
    await deniedTo(deployer, [...execSubjects, '$JS.API.STREAM.UPDATE.HW_EVENTS', '_INBOX.forged', '_R_.forged']);
    // Nor may they listen where hosts are asked or answer: a host's subjects and inboxes.
    for (const nc of [reader, deployer]) {
      for (const subject of [execRpcSubject(hostB), 'hw.rpc.>', `${hostInboxPrefix(hostB)}.>`]) await assertSubscriptionDenied(nc.subscribe(subject), subject);
    }
    // What a reader may do: read the status bucket and the event stream's info.
    const info = await reader.request('$JS.API.STREAM.INFO.KV_hw_status', new Uint8Array(), { timeout: 3_000 });
    assert.match(new TextDecoder().decode(info.data), /"config"/);
    // The admin may send to a host's exec subject: no agent listens here, so the request goes unanswered, with no permission error.
    await assert.rejects(admin.request(execRpcSubject(hostB), forged, { timeout: 2_000 }), (error: unknown) => /timeout|no responders/i.test(String(error)) && !/Permissions Violation/.test(`${String(error)} ${String((error as Error).cause)}`));
    // The CLI says so in words: a reader's apply is refused by the server.
    const file = join(dir, 'reader-apply.yaml');
    await writeFile(file, `project: ${project}\nservices:\n  api:\n    image: hw/busybox:test\n    placement: { hosts: [${hostB}] }\n`);
    const apply = await runCli(['apply', '-f', file, '--nats', nats.url, '--creds', join(dir, 'users', 'ro.nk')], { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
    assert.equal(apply.code, 1, `${apply.stdout}\n${apply.stderr}`);
    assert.match(apply.stderr, /Permissions Violation|may not/);
    const removed = await runCli(['fleet', 'remove-user', 'ro', '--dir', dir]);
    assert.equal(removed.code, 0, removed.stderr);
    await assert.rejects(stat(join(dir, 'users', 'ro.nk')), /ENOENT/);
    process.kill(nats.pid, 'SIGHUP');
    await waitFor('the server to drop the removed reader', async () => reader.isClosed());
  });

  it('a host can neither read nor write the coordinator\'s cordons and labels (hw_hostctl), by no subject, reply subjects included', async () => {
    await coordinator.writeHostControl({ ...emptyHostControl(hostA, new Date().toISOString()), labels: { role: 'web' }, cordon: { reason: 'secret maintenance', at: new Date().toISOString() } }, 0);
    const nc = await asHost(hostA);
    const prefix = hostJetStreamPrefix(hostA);
    const forged = encode({ forged: true });
    for (const subject of [
      `$KV.hw_hostctl.${hostA}`,
      `$KV.hw_hostctl.${hostB}`,
      `$JS.API.DIRECT.GET.KV_hw_hostctl.$KV.hw_hostctl.${hostA}`,
      `${prefix}.DIRECT.GET.KV_hw_hostctl.$KV.hw_hostctl.${hostA}`,
      `${prefix}.STREAM.MSG.GET.KV_hw_hostctl`,
      `${prefix}.CONSUMER.CREATE.KV_hw_hostctl`,
      `${prefix}.STREAM.INFO.KV_hw_hostctl`,
    ]) {
      await assert.rejects(nc.request(subject, forged, { timeout: 3_000 }), deniedPublish(subject), subject);
    }
    // Neither the bucket's subjects nor the fleet account's reply inboxes (where the coordinator's reads are answered).
    await assertSubscriptionDenied(nc.subscribe('$KV.hw_hostctl.>'), '$KV.hw_hostctl.>');
    await assertSubscriptionDenied(nc.subscribe('_INBOX.>'), '_INBOX.>');
    const { controls, refused } = await coordinator.hostControls();
    assert.deepEqual(refused, []);
    assert.equal(controls.get(hostA)?.control.cordon?.reason, 'secret maintenance', 'the coordinator reads it, verified, and nothing a host sent changed it');
    assert.equal(controls.get(hostA)?.kvRevision, 1);
    // A value nobody signed (written with the coordinator's NATS credentials but not its signing key) is refused, not used.
    await coordinator.connection.hostctl.put(hostB, encode({ ...emptyHostControl(hostB, new Date().toISOString()), cordon: { at: 'now' } }));
    const after = await coordinator.hostControls();
    assert.equal(after.controls.has(hostB), false);
    assert.match(after.refused.find((entry) => entry.hostId === hostB)?.reason ?? '', /not a signed document/);
  });

  it('a revoked host (fleet remove-host, then a server reload) is disconnected and cannot connect again', async () => {
    const seed = (await readFile(hostCreds(hostB), 'utf8')).trim();
    const nc = await asHost(hostB);
    const removed = await runCli(['fleet', 'remove-host', hostB, '--dir', dir]);
    assert.equal(removed.code, 0, removed.stderr);
    await assert.rejects(stat(hostCreds(hostB)), /ENOENT/);
    process.kill(nats.pid, 'SIGHUP');
    await waitFor('the server to drop the revoked host\'s connection', async () => nc.isClosed());
    await assert.rejects(connect({ servers: nats.url, timeout: 5_000, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) }), /Authorization Violation/);
    // Host A is untouched by B's revocation.
    const stillA = await asHost(hostA);
    assert.equal(stillA.isClosed(), false);
  });
});

describe('stolen coordinator credentials (no signing key) cannot erase history; a changed stream stops every coordinator command', () => {
  const hostA = uniqueName('ca');
  const hostB = uniqueName('cb');
  let dir: string;
  let nats: NatsServerHandle;
  let coordinator: NatsConnection;
  const open: NatsConnection[] = [];
  const seedFile = (name: string) => join(dir, name);
  const asHost = async (hostId: string) => {
    const nc = await connectAs(nats.url, join(dir, 'hosts', `${hostId}.nk`), hostInboxPrefix(hostId));
    open.push(nc);
    return nc;
  };
  const streamInfo = async (stream: string) => JSON.parse(new TextDecoder().decode((await coordinator.request(`$JS.API.STREAM.INFO.${stream}`, undefined, { timeout: 3_000 })).data)) as { config: Record<string, unknown>; state: { messages: number } };

  before(async () => {
    dir = await initFleet([hostA, hostB]);
    nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
    // The streams as a coordinator command creates them (the one fleet setup would make; see the last test).
    const hosts = await runCli(['hosts', '--nats', nats.url, '--creds', seedFile('coordinator.nk')]);
    assert.equal(hosts.code, 0, hosts.stderr);
    coordinator = await connectAs(nats.url, seedFile('coordinator.nk'), '_INBOX');
    open.push(coordinator);
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await nats?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('the event stream: no update (max_msgs: 1), purge, delete or re-create, directly or as a reply subject; every event stays', async () => {
    const host = await asHost(hostA);
    for (let i = 0; i < 5; i += 1) await host.request(eventSubject(hostA, 'p', 'applied'), encode({ i }), { timeout: 3_000 });
    const before = await streamInfo('HW_EVENTS');
    assert.equal(before.state.messages, 5);
    const wiped = JSON.stringify({ ...before.config, max_msgs: 1 });
    for (const subject of ['$JS.API.STREAM.UPDATE.HW_EVENTS', '$JS.API.STREAM.PURGE.HW_EVENTS', '$JS.API.STREAM.DELETE.HW_EVENTS', '$JS.API.STREAM.MSG.DELETE.HW_EVENTS']) {
      await assert.rejects(coordinator.request(subject, subject.includes('MSG.DELETE') ? JSON.stringify({ seq: 1 }) : wiped, { timeout: 3_000 }), deniedPublish(subject));
    }
    // Creating a stream that exists with another config is refused by the server itself.
    const created = new TextDecoder().decode((await coordinator.request('$JS.API.STREAM.CREATE.HW_EVENTS', wiped, { timeout: 3_000 })).data);
    assert.match(created, /already in use|different configuration/, created);
    // JetStream's own answers aimed at the API: a publish ack and an API reply, each with a destructive reply subject.
    for (const reply of ['$JS.API.STREAM.UPDATE.HW_EVENTS', '$JS.API.STREAM.PURGE.HW_EVENTS', '$JS.API.STREAM.DELETE.HW_EVENTS', '$JS.API.STREAM.PURGE.KV_hw_desired', '$JS.API.STREAM.DELETE.KV_hw_status']) {
      coordinator.publish('$KV.hw_rollouts.probe', encode({ probe: true }), { reply });
      coordinator.publish('$JS.API.STREAM.INFO.KV_hw_desired', undefined, { reply });
    }
    await coordinator.flush();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await streamInfo('HW_EVENTS');
    assert.equal(after.state.messages, 5, 'events were lost');
    assert.deepEqual(after.config, before.config);
    assert.equal((await streamInfo('KV_hw_status')).config.name, 'KV_hw_status');
  });

  it('the status bucket: no update to allow rollups, so a host\'s `Nats-Rollup: all` purges nothing; the desired bucket takes no rollup either', async () => {
    const rollup = headers();
    rollup.set('Nats-Rollup', 'all');
    const statusOf = async (hostId: string) => (await new Kvm(jetstream(await asHost(hostId), { checkAPI: false })).open(BUCKETS.status)).put(hostId, encode({ hostId }));
    await statusOf(hostA);
    await statusOf(hostB);
    const status = await streamInfo('KV_hw_status');
    await assert.rejects(coordinator.request('$JS.API.STREAM.UPDATE.KV_hw_status', JSON.stringify({ ...status.config, allow_rollup_hdrs: true }), { timeout: 3_000 }), deniedPublish('$JS.API.STREAM.UPDATE.KV_hw_status'));
    const host = jetstream(await asHost(hostA), { checkAPI: false });
    await assert.rejects(host.publish(`$KV.${BUCKETS.status}.${hostA}`, encode({ hostId: hostA }), { headers: rollup, timeout: 3_000 }), /rollup not permitted/);
    assert.equal((await streamInfo('KV_hw_status')).state.messages, 2, 'B\'s status was purged');
    await assert.rejects(jetstream(coordinator, { checkAPI: false }).publish(`$KV.${BUCKETS.desired}.${hostA}.p`, encode({}), { headers: rollup, timeout: 3_000 }), /rollup not permitted/);
  });

  it('consumers: the coordinator deletes a host\'s feed (it makes it again) and no other consumer', async () => {
    const jsm = await jetstreamManager(coordinator);
    await jsm.consumers.add('HW_EVENTS', { durable_name: 'audit', ack_policy: AckPolicy.Explicit });
    await assert.rejects(coordinator.request('$JS.API.CONSUMER.DELETE.HW_EVENTS.audit', undefined, { timeout: 3_000 }), deniedPublish('$JS.API.CONSUMER.DELETE.HW_EVENTS.audit'));
    await assert.rejects(coordinator.request('$JS.API.CONSUMER.DELETE.KV_hw_desired.other', undefined, { timeout: 3_000 }), deniedPublish('$JS.API.CONSUMER.DELETE.KV_hw_desired.other'));
    const feed = new TextDecoder().decode((await coordinator.request(`$JS.API.CONSUMER.DELETE.KV_hw_desired.hw_host_${hostA}`, undefined, { timeout: 3_000 })).data);
    assert.match(feed, /consumer not found/, 'the delete of a host feed reached JetStream');
  });

  it('a stream changed by someone who may update streams stops every coordinator command (exit 4, naming stream, field, expected and found) until `fleet setup` restores it', async () => {
    assert.equal((await stat(seedFile('admin.nk'))).mode & 0o777, 0o600);
    const setup = await runCli(['fleet', 'setup', '--nats', nats.url, '--creds', seedFile('admin.nk')]);
    assert.equal(setup.code, 0, setup.stderr);
    assert.equal(setup.stdout, 'HW_EVENTS: unchanged\nKV_hw_desired: unchanged\nKV_hw_hosts: unchanged\nKV_hw_status: unchanged\nKV_hw_rollouts: unchanged\nKV_hw_hostctl: unchanged\nKV_hw_endpoints: unchanged\n', 'the coordinator made every stream as fleet setup would');
    const admin = await connectAs(nats.url, seedFile('admin.nk'), '_INBOX');
    open.push(admin);
    const jsm = await jetstreamManager(admin);
    await jsm.streams.update('HW_EVENTS', { ...(await jsm.streams.info('HW_EVENTS')).config, max_msgs: 1 });
    await jsm.streams.update('KV_hw_desired', { ...(await jsm.streams.info('KV_hw_desired')).config, max_msgs_per_subject: 1 });
    // Not even the admin can allow rollups on the status bucket: deny_purge forbids them, and no update can lift deny_purge.
    await assert.rejects(jsm.streams.update('KV_hw_status', { ...(await jsm.streams.info('KV_hw_status')).config, allow_rollup_hdrs: true }), /roll-ups require the purge permission/);
    await assert.rejects(jsm.streams.update('KV_hw_status', { ...(await jsm.streams.info('KV_hw_status')).config, deny_purge: false, allow_rollup_hdrs: true }), /can not cancel deny purge/);
    const coordinatorArgs = ['--nats', nats.url, '--creds', seedFile('coordinator.nk')];
    for (const command of [['hosts'], ['status'], ['events', '--host', hostA]]) {
      const refused = await runCli([...command, ...coordinatorArgs]);
      assert.equal(refused.code, 4, `${command[0]}: ${refused.stdout}${refused.stderr}`);
      assert.match(refused.stderr, /HW_EVENTS max_msgs: expected -1, found 1/);
      assert.match(refused.stderr, /KV_hw_desired max_msgs_per_subject: expected 64, found 1/);
      assert.match(refused.stderr, /hostwright fleet setup --nats URL --creds admin\.nk/);
    }
    const notAdmin = await runCli(['fleet', 'setup', ...coordinatorArgs]);
    assert.equal(notAdmin.code, 1);
    assert.match(notAdmin.stderr, /^error: fleet setup: the NATS user of --creds may not create or update the fleet's streams; pass the admin credentials .*--creds DIR\/admin\.nk/);
    assert.doesNotMatch(notAdmin.stderr, /coordinator commands need/);
    const restored = await runCli(['fleet', 'setup', '--nats', nats.url, '--creds', seedFile('admin.nk')]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /^HW_EVENTS: updated\n {2}max_msgs: 1 -> -1\n/);
    assert.match(restored.stdout, /KV_hw_desired: updated\n {2}max_msgs_per_subject: 1 -> 64\n/);
    const hosts = await runCli(['hosts', ...coordinatorArgs]);
    assert.equal(hosts.code, 0, hosts.stderr);
  });
});

describe('least-privilege NATS: an agent with its own credentials does its whole job', () => {
  const runId = uniqueName('auth');
  const hostId = uniqueName('pc');
  const project = uniqueName('permok');
  let dir: string;
  let nats: NatsServerHandle;
  let harness: FleetHarness;

  before(async () => {
    dir = await initFleet([hostId]);
    nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
    harness = FleetHarness.create(nats, runId, { cliArgs: ['--creds', join(dir, 'coordinator.nk')] });
  });
  after(async () => {
    await harness?.cleanup();
    await nats?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('converges a project the coordinator wrote, answers plan requests, reports status and events', { timeout: 120_000 }, async () => {
    // The agent pins the signing key `fleet init` made (a later --coordinator-key wins over the harness's).
    await harness.startAgents([{ hostId, labels: {}, args: ['--creds', join(dir, 'hosts', `${hostId}.nk`), '--coordinator-key', join(dir, 'coordinator-signing.pub')] }]);
    const fleetFile = join(dir, 'fleet.yaml');
    await writeFile(fleetFile, `project: ${project}\nservices:\n  api:\n    image: hw/busybox:test\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n    stop_timeout: 1s\n    placement: { hosts: [${hostId}] }\n`);
    const coordinatorArgs = ['--nats', nats.url, '--creds', join(dir, 'coordinator.nk')];
    const plan = await runCli(['plan', '-f', fleetFile, '--detailed-exitcode', ...coordinatorArgs]);
    assert.equal(plan.code, 2, `plan (RPC to the agent) should show changes:\n${plan.stdout}${plan.stderr}`);
    assert.match(plan.stdout, /1 create, 1 start/);
    const apply = await runCli(['apply', '-f', fleetFile, '--wait', '--timeout', '60s', '--signing-key', join(dir, 'coordinator-signing.nk'), ...coordinatorArgs]);
    assert.equal(apply.code, 0, `${apply.stdout}${apply.stderr}\n${harness.agent(hostId).output()}`);
    assert.equal((await harness.containersOf(hostId)).length, 1);
    // Read-only commands do not read the signing key, even when the variable names one (here a missing file).
    const noKey = { HOSTWRIGHT_SIGNING_KEY: join(dir, 'no-such-signing-key.nk') };
    const status = await runCli(['status', '--json', ...coordinatorArgs], noKey);
    assert.equal(status.code, 0, status.stderr);
    const hosts = await runCli(['hosts', '--json', ...coordinatorArgs], noKey);
    assert.equal(hosts.code, 0, hosts.stderr);
    const host = (JSON.parse(status.stdout) as { hosts: { hostId: string; status: { projects: { project: string; converged: boolean }[] } | null }[] }).hosts.find((h) => h.hostId === hostId);
    assert.equal(host?.status?.projects.find((p) => p.project === project)?.converged, true);
    const events = await waitFor('the agent\'s applied events in the stream', async () => {
      const result = await runCli(['events', '--json', '--host', hostId, ...coordinatorArgs], noKey);
      return result.code === 0 && result.stdout.includes('"applied"') ? result.stdout : undefined;
    });
    assert.match(events, new RegExp(`"project":"${project}"`));
    assert.doesNotMatch(harness.agent(hostId).output(), /Permissions Violation/);
  });

  it('with coordinator credentials alone, retry and pull requests are refused unless signed, fresh, single-use and for this host; with the signing key they run', { timeout: 60_000 }, async () => {
    const nc = await connectAs(nats.url, join(dir, 'coordinator.nk'), '_INBOX');
    const signer = await loadSigningKey(join(dir, 'coordinator-signing.nk'));
    const ask = async (subject: string, body: Uint8Array): Promise<{ ok: boolean; error?: string }> => unpack((await nc.request(subject, body, { timeout: 10_000 })).data) as { ok: boolean; error?: string };
    const nonce = () => randomBytes(16).toString('hex');
    const retry = { correlationID: 'attack', project };
    // A registry only the test listens on: a host that pulled from it would have connected.
    const registry = createServer((socket) => {
      contacted += 1;
      socket.destroy();
    });
    let contacted = 0;
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    const port = (registry.address() as AddressInfo).port;
    const pull = { correlationID: 'attack', candidate: desired(project, { api: service({ image: `127.0.0.1:${port}/evil:latest` }) }, { hostId }) };
    try {
      for (const [subject, body] of [
        [retryRpcSubject(hostId), retry],
        [pullRpcSubject(hostId), pull],
      ] as const) {
        const what = subject.endsWith('retry') ? 'retry' : 'pull';
        assert.match((await ask(subject, encode(body))).error ?? '', new RegExp(`^unsigned ${what} request: .*pass --signing-key`), `${what}: unsigned`);
        assert.match((await ask(subject, signRequest(body, hostId, signingKeyOf(createOperator().getSeed()), Date.now(), nonce()))).error ?? '', /^wrong-key /, `${what}: another key`);
        assert.match((await ask(subject, signRequest(body, hostId, signer, Date.now() - 120_000, nonce()))).error ?? '', /expired at/, `${what}: expired`);
        assert.match((await ask(subject, signRequest(body, 'other-host', signer, Date.now(), nonce()))).error ?? '', new RegExp(`is for host other-host, not ${hostId}`), `${what}: another host's`);
      }
      // A signed retry runs once; the same bytes again are a replay.
      const signed = signRequest(retry, hostId, signer, Date.now(), nonce());
      assert.equal((await ask(retryRpcSubject(hostId), signed)).ok, true);
      assert.match((await ask(retryRpcSubject(hostId), signed)).error ?? '', /^replayed: nonce [0-9a-f]{32} was used already/);
      assert.equal(contacted, 0, 'the host contacted the registry of a refused pull request');
      const refusals = (await harness.recordedEvents(hostId)).filter((event) => event.type === 'failed' && /^rejected a (retry|pull) request: /.test(event.message));
      assert.equal(refusals.length, 9, refusals.map((event) => event.message).join('\n'));
      // The commands sign with --signing-key; without it the agent's refusal says what to pass.
      const coordinatorArgs = ['--nats', nats.url, '--creds', join(dir, 'coordinator.nk')];
      const unsignedRetry = await runCli(['retry', '--host', hostId, '--project', project, ...coordinatorArgs], { HOSTWRIGHT_SIGNING_KEY: '' });
      assert.equal(unsignedRetry.code, 1);
      assert.match(unsignedRetry.stderr, /refused the retry: unsigned retry request: .*pass --signing-key/);
      const signedRetry = await runCli(['retry', '--host', hostId, '--project', project, '--signing-key', join(dir, 'coordinator-signing.nk'), ...coordinatorArgs]);
      assert.equal(signedRetry.code, 0, signedRetry.stderr);
    } finally {
      registry.close();
      await nc.close();
    }
  });
});

describe('NATS over TLS with a self-signed CA made by the test', () => {
  const runId = uniqueName('tls');
  const hostId = uniqueName('pt');
  let dir: string;
  let nats: NatsServerHandle;
  let harness: FleetHarness;

  before(async () => {
    dir = await initFleet([hostId]);
    const openssl = (args: string[]) => run('/usr/bin/openssl', args, { cwd: dir });
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=Hostwright test CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem']);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server-key.pem', '-out', 'server.csr']);
    await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem']);
    nats = await startNatsServer({ include: join(dir, 'accounts.conf'), config: `tls {\n  cert_file: ${JSON.stringify(join(dir, 'server.pem'))}\n  key_file: ${JSON.stringify(join(dir, 'server-key.pem'))}\n}` });
    harness = FleetHarness.create(nats, runId, { cliArgs: ['--creds', join(dir, 'coordinator.nk'), '--tls-ca', join(dir, 'ca.pem')] });
  });
  after(async () => {
    await harness?.cleanup();
    await nats?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('the CLI connects with --tls-ca and is refused without the CA', async () => {
    const withCa = await runCli(['hosts', '--json', '--nats', nats.url, '--creds', join(dir, 'coordinator.nk'), '--tls-ca', join(dir, 'ca.pem')]);
    assert.equal(withCa.code, 0, withCa.stderr);
    const withoutCa = await runCli(['hosts', '--nats', nats.url, '--creds', join(dir, 'coordinator.nk')], { HOSTWRIGHT_TLS_CA: '' });
    assert.equal(withoutCa.code, 1);
    assert.match(withoutCa.stderr, /self.signed certificate|unable to verify|certificate/i);
    const viaEnv = await runCli(['hosts', '--json', '--nats', nats.url], { HOSTWRIGHT_CREDS: join(dir, 'coordinator.nk'), HOSTWRIGHT_TLS_CA: join(dir, 'ca.pem') });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
  });

  it('an agent connects over TLS with --tls-ca and its credentials, and registers', { timeout: 60_000 }, async () => {
    await harness.startAgents([{ hostId, labels: {}, args: ['--creds', join(dir, 'hosts', `${hostId}.nk`), '--tls-ca', join(dir, 'ca.pem')] }]);
    assert.ok(harness.agent(hostId).alive());
  });
});
