import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pack, unpack } from 'msgpackr';
import { pino } from 'pino';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { loadSigningKey, type DesiredSigner } from '../../coordinator/signing-key.js';
import { decode, encode } from '../../shared/codec.js';
import type { HostwrightEvent } from '../../shared/events.js';
import type { HostDesired } from '../../shared/host-desired.js';
import type { HostStatus } from '../../shared/host-status.js';
import { BUCKETS, desiredKey, planRpcSubject } from '../../shared/subjects.js';
import { planReplySchema } from '../../shared/wire.js';
import { ReplyAssembler } from '../../shared/plan-reply-parts.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { runCli, startCli } from '../lib/cli.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { signedValue, testSigner } from '../lib/signing.js';
import { waitFor } from '../lib/wait.js';

interface StatusJson {
  readonly hosts: { hostId: string; status: HostStatus | null }[];
}

// A real agent process pinning the fleet's coordinator key, fed bad values straight into the
// desired-state bucket with a raw client (real nats-server, real Docker, real LevelDB).
describe('signed desired state: a real agent refuses what the coordinator did not sign', () => {
  const runId = uniqueName('hws');
  const hostId = uniqueName('hs');
  const project = uniqueName('signed');
  const key = desiredKey(hostId, project);
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let client: FleetClient;
  let signer: DesiredSigner;
  let nc: NatsConnection;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-signed-'));
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([{ hostId, labels: {} }]);
    signer = await loadSigningKey(fleet.signingKeyFile);
    client = await FleetClient.connect(server.url, pino({ level: 'silent' }), {}, signer);
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc?.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const documentAt = (revision: number, replicas: number): HostDesired => desired(project, { web: service({ replicas }) }, { hostId, revision });
  const hostStatus = async (): Promise<HostStatus | undefined> => {
    const result = await runCli(['status', '--json', '--host', hostId, '--nats', server.url]);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as StatusJson).hosts.find((h) => h.hostId === hostId)?.status ?? undefined;
  };
  /** Container id and state by name: what must not change. */
  const containers = async () => new Map((await fleet.containersOf(hostId)).map((c) => [c.Names[0] ?? c.Id, `${c.Id} ${c.State}`]));
  const failedEvents = async (): Promise<HostwrightEvent[]> => {
    const events: HostwrightEvent[] = [];
    await client.events({ hostId, type: 'failed', follow: false }, (item) => {
      if ('event' in item) events.push(item.event);
    });
    return events;
  };
  const converged = (revision: number) =>
    waitFor(`${hostId} converged at r${revision}`, async () => {
      const project_ = (await hostStatus())?.projects.find((p) => p.project === project);
      return project_?.appliedRevision === revision && project_.converged && project_.instances.every((i) => i.state === 'running');
    }, 60_000, 250);

  it('applies signed revisions, then keeps its containers exactly as they were through tampered, unsigned, wrongly signed, foreign-host, foreign-project and replayed values, reporting each', async () => {
    // r1 then r2, both signed by the coordinator: r1 becomes a replay candidate.
    assert.equal(await client.writeDesired(documentAt(1, 1), 0) > 0, true);
    await converged(1);
    const kvRevision = (await client.desiredOf(project)).get(hostId)?.kvRevision ?? 0;
    await client.writeDesired(documentAt(2, 2), kvRevision);
    await converged(2);
    const before = await containers();
    assert.equal(before.size, 2);

    const kv = await new Kvm(nc).open(BUCKETS.desired);
    const replay = signedValue(documentAt(1, 1), signer);
    // Accepting any of these would change the containers: no replicas, other replicas, another image.
    const envelope = unpack(signedValue(documentAt(3, 3), signer)) as Record<string, unknown>;
    const bad: [string, Uint8Array, RegExp][] = [
      ['tampered', pack({ ...envelope, document: encode(desired(project, { web: service({ image: 'evil/image:1' }) }, { hostId, revision: 3 })) }), /tampered: the signature does not match the document bytes/],
      ['unsigned', encode(documentAt(4, 0)), /unsigned: not a signed document/],
      ['wrongly signed', signedValue(documentAt(5, 3), testSigner()), /wrong-key: signed by .* not by the pinned coordinator key/],
      ['for another host', signedValue({ ...documentAt(6, 0), hostId: `${hostId}x`, allowEmpty: true }, signer), new RegExp(`document is for host ${hostId}x, not ${hostId}`)],
      ['for another project', signedValue({ ...documentAt(7, 0), project: `${project}x`, allowEmpty: true }, signer), new RegExp(`document is for project ${project}x`)],
      ['replayed', replay, /replayed: revision 1 is older than revision 2 this agent holds/],
    ];
    for (const [what, value, reason] of bad) {
      const seen = new Set((await failedEvents()).map((e) => e.id));
      await kv.put(key, value);
      const event = await waitFor(`a failed event for the ${what} value`, async () => (await failedEvents()).find((e) => !seen.has(e.id) && reason.test(e.message)), 30_000, 250);
      assert.match(event.message, new RegExp(`rejected desired state on key ${key}`), what);
      assert.equal(event.severity, 'error');
      const status = await waitFor(`status shows the ${what} refusal`, async () => {
        const current = await hostStatus();
        return current?.refusedDesired?.some((r) => r.key === key && reason.test(r.reason)) ? current : undefined;
      }, 30_000, 250);
      const held = status.projects.find((p) => p.project === project);
      assert.equal(held?.desiredRevision, 2, `${what}: the last good revision is kept`);
      assert.equal(held?.converged, true, what);
      assert.deepEqual(await containers(), before, `${what}: same containers, same ids, same state`);
      assert.ok(fleet.agent(hostId).alive(), `the agent survived the ${what} value`);
    }
    const human = await runCli(['status', '--host', hostId, '--nats', server.url]);
    assert.match(human.stdout, new RegExp(`REFUSED desired state on ${key} at .*replayed`));

    // A dry-run plan request carries an unsigned candidate: planned against, never stored or applied.
    const candidate = desired(project, {}, { hostId, revision: 99, allowEmpty: true });
    // A small reply comes as one part (shared/plan-reply-parts.ts).
    const whole = new ReplyAssembler().add((await nc.request(planRpcSubject(hostId), encode({ correlationID: 'plan-test', candidate }), { timeout: 10_000 })).data);
    const reply = decode(planReplySchema, whole ?? new Uint8Array(), 'plan reply');
    assert.equal(reply.ok, true);
    assert.ok(reply.ok && reply.plan.actions.some((a) => a.kind === 'remove'), 'the candidate would remove the containers');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(await containers(), before, 'the plan request changed nothing');
    assert.equal((await hostStatus())?.projects.find((p) => p.project === project)?.desiredRevision, 2);

    // The coordinator is not stuck on the refused value: its next signed write is taken, and clears the refusal.
    const current = (await client.desiredOf(project)).get(hostId);
    assert.equal(current?.damaged, true, 'the coordinator sees the key as damaged');
    await client.writeDesired(documentAt(3, 1), current?.kvRevision ?? 0);
    await converged(3);
    assert.equal((await hostStatus())?.refusedDesired, undefined);
  });

  // The review's suspicion, run: an agent whose journal holds nothing of a key took any older signed
  // value written back into the bucket (coordinator NATS credentials suffice, no signing key). On
  // the build before the replay window, the value without a signing time was accepted and run.
  it('an agent with a new data dir refuses an old signed value written back, and one without a signing time; the coordinator\'s own write is taken', async () => {
    const freshHost = `${hostId}-new`;
    await fleet.startAgents([{ hostId: freshHost, labels: {} }]);
    const kv = await new Kvm(nc).open(BUCKETS.desired);
    const freshStatus = async (): Promise<HostStatus | undefined> => {
      const result = await runCli(['status', '--json', '--host', freshHost, '--nats', server.url]);
      return (JSON.parse(result.stdout) as StatusJson).hosts.find((h) => h.hostId === freshHost)?.status ?? undefined;
    };
    // The coordinator's first write makes the host's feed; an empty project runs nothing.
    const control = uniqueName('ctl');
    await client.writeDesired(desired(control, {}, { hostId: freshHost, revision: 1, allowEmpty: true }), 0);
    // An empty project is a removed one, which `status` no longer lists: the status bucket still has it.
    const reported = async () => (await client.statusReports()).find((report) => report.hostId === freshHost)?.value?.status;
    await waitFor('the coordinator\'s write is taken', async () => (await reported())?.projects.some((p) => p.project === control && p.desiredRevision === 1), 30_000, 250);

    const replayed = uniqueName('old');
    const legacy = uniqueName('legacy');
    const running = (name: string) => desired(name, { web: service({ replicas: 1 }) }, { hostId: freshHost, revision: 3 });
    const attacks: [string, Uint8Array, RegExp][] = [
      [replayed, signedValue(running(replayed), signer, new Date(Date.now() - 3 * 3600_000)), /replayed: revision 3 was signed at .* 3h later/],
      [legacy, signedValue(running(legacy), signer, null), /replay not ruled out: revision 3 carries no signing time/],
    ];
    for (const [name, value, reason] of attacks) {
      const attackedKey = desiredKey(freshHost, name);
      await kv.put(attackedKey, value);
      const status = await waitFor(`the refusal of ${name}`, async () => {
        const current = await freshStatus();
        return current?.refusedDesired?.some((r) => r.key === attackedKey && reason.test(r.reason)) ? current : undefined;
      }, 30_000, 250);
      assert.equal(status.projects.find((p) => p.project === name), undefined, `${name}: not taken`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(await fleet.containersOf(freshHost), [], 'nothing was run');
    // The coordinator signs anew at every write: its write of the same project is taken and clears the refusal.
    const current = (await client.desiredOf(replayed)).get(freshHost);
    await client.writeDesired(desired(replayed, {}, { hostId: freshHost, revision: 4, allowEmpty: true }), current?.kvRevision ?? 0);
    await waitFor('the coordinator\'s write clears the refusal', async () => {
      const status = await reported();
      return status?.projects.some((p) => p.project === replayed && p.desiredRevision === 4) && !status.refusedDesired?.some((r) => r.key === desiredKey(freshHost, replayed));
    }, 30_000, 250);
  });

  it('an agent in NATS mode without --coordinator-key refuses to start; --allow-unsigned starts it with a loud warning and marks its status', async () => {
    const refused = await runCli(['agent', '--nats', server.url, '--host-id', `${hostId}-nokey`, '--data-dir', join(dir, 'nokey')], { HOSTWRIGHT_COORDINATOR_KEY: '' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /fleet mode needs --coordinator-key/);
    assert.match(refused.stderr, /--allow-unsigned/);

    const unsignedHost = `${hostId}-open`;
    const agent = startCli(['agent', '--nats', server.url, '--host-id', unsignedHost, '--data-dir', join(dir, 'open'), '--name-prefix', `${runId}-open-`, '--allow-unsigned'], { HOSTWRIGHT_COORDINATOR_KEY: '' });
    try {
      await waitFor('the insecure warning', async () => /INSECURE: started with --allow-unsigned/.test(agent.output()), 20_000, 100);
      const status = await waitFor('status marked acceptsUnsigned', async () => {
        const result = await runCli(['status', '--json', '--host', unsignedHost, '--nats', server.url]);
        return (JSON.parse(result.stdout) as StatusJson).hosts.find((h) => h.hostId === unsignedHost)?.status?.acceptsUnsigned === true ? result : undefined;
      }, 30_000, 250);
      assert.ok(status);
      const human = await runCli(['status', '--nats', server.url]);
      assert.match(human.stdout, new RegExp(`${unsignedHost}: INSECURE, runs with --allow-unsigned`));
    } finally {
      agent.kill('SIGTERM');
      await new Promise((resolve) => (agent.exitCode === null ? agent.once('exit', resolve) : resolve(undefined)));
    }
  });
});
