import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, headers, nkeyAuthenticator, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { createUser } from '@nats-io/nkeys';
import { pino } from 'pino';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { loadSigningKey } from '../../coordinator/signing-key.js';
import { encode } from '../../shared/codec.js';
import { BUCKETS, desiredKey, eventSubject, hostInboxPrefix, planRpcSubject } from '../../shared/subjects.js';
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
    for (const file of ['coordinator.nk', 'coordinator-signing.nk', `hosts/${hostA}.nk`]) {
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

  it('host A cannot answer B\'s plan requests', async () => {
    const nc = await asHost(hostA);
    await assertSubscriptionDenied(nc.subscribe(planRpcSubject(hostB)), planRpcSubject(hostB));
    await assertSubscriptionDenied(nc.subscribe('hw.rpc.*.plan'), 'hw.rpc.*.plan');
    // Nobody may answer in B's place: the coordinator's request finds no responder.
    assert.equal(await coordinator.requestPlan(desired(project, {}, { hostId: hostB, allowEmpty: true }), 'c-1', 2_000), undefined);
  });

  it('host A cannot write any desired state, not even its own', async () => {
    const nc = await asHost(hostA);
    const kv = await new Kvm(jetstream(nc, { checkAPI: false })).open(BUCKETS.desired);
    const own = desired(project, {}, { hostId: hostA, allowEmpty: true });
    await assert.rejects(kv.put(desiredKey(hostA, project), encode(own)), deniedPublish(`$KV.hw_desired.${hostA}.${project}`));
    await assert.rejects(kv.put(desiredKey(hostB, project), encode(own), { previousSeq: 1 }), deniedPublish(`$KV.hw_desired.${hostB}.${project}`));
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
