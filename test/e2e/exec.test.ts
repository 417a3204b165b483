import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOperator } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode, encode } from '../../shared/codec.js';
import { execStartReplySchema, type ExecStartReply } from '../../shared/exec-wire.js';
import { signingKeyOf } from '../../shared/signed-document.js';
import { signRequest } from '../../shared/signed-request.js';
import { execRpcSubject } from '../../shared/subjects.js';
import { uniqueName } from '../lib/builders.js';
import { CLI, runCli, runCliWithInput, startCli, type CliResult } from '../lib/cli.js';
import { connectAs, seedOf } from '../lib/fleet-attack.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import type { NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

// Two real agents with `fleet init` credentials, one real nats-server and the local Docker engine:
// h1 allows exec, h2 does not. The coordinator is the CLI, as the admin user unless a test says.
describe('hostwright exec: signed, single-use, admin only, audited (real NATS, real Docker)', () => {
  const runId = uniqueName('hwx');
  const hostIds = [uniqueName('xa'), uniqueName('xb')];
  const [h1, h2] = hostIds as [string, string];
  const project = uniqueName('exec');
  let dir: string;
  let nats: NatsServerHandle;
  let fleet: FleetHarness;
  let admin: NatsConnection;

  // The connection options go before the operands: everything after `exec`'s service is the command's.
  const cli = (args: readonly string[], creds = 'admin.nk'): Promise<CliResult> => runCli([args[0] as string, '--nats', nats.url, '--creds', join(dir, creds), ...args.slice(1)], { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
  const expectCode = (result: CliResult, code: number, what: string): void => assert.equal(result.code, code, `${what} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${agentLogs()}`);
  const agentLogs = () => fleet.agents.map((a) => `--- ${a.hostId} (alive: ${a.alive()})\n${a.output().split('\n').slice(-10).join('\n')}`).join('\n');
  /** A start request as the coordinator would sign it (or not), sent straight to h1's exec subject. */
  const startRequest = async (bytes: Uint8Array): Promise<ExecStartReply> => decode(execStartReplySchema, (await admin.request(execRpcSubject(h1), bytes, { timeout: 10_000 })).data, 'exec reply');
  const body = (argv: string[]) => ({ correlationID: uniqueName('corr'), project, service: 'app', argv, tty: false, stdin: false, who: { as: 'attacker' } });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-exec-'));
    const started = await FleetHarness.withFleetAuth(dir, runId, hostIds, [{ name: 'ro', role: 'reader' }]);
    ({ nats, fleet } = started);
    const { hostArgs } = started;
    await fleet.startAgents([
      { hostId: h1, labels: {}, args: [...hostArgs(h1), '--allow-exec'] },
      { hostId: h2, labels: {}, args: hostArgs(h2) },
    ]);
    const file = join(dir, 'app.yaml');
    await writeFile(file, `project: ${project}\nservices:\n  app:\n    image: hw/busybox:test\n    command: ${QUICK_STOP}\n    stop_grace_period: 1s\n    placement: { hosts: [${h1}, ${h2}] }\n`);
    expectCode(await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 'coordinator.nk'), 0, 'apply');
    admin = await connectAs(nats.url, (await readFile(join(dir, 'admin.nk'), 'utf8')).trim());
  });

  after(async () => {
    await admin?.close();
    await fleet?.cleanup();
    await nats?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes stdout and stderr apart and exits with the command\'s exit code; output beyond the flow-control window arrives whole', async () => {
    const result = await cli(['exec', '--host', h1, 'app', '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 7']);
    expectCode(result, 7, 'exec');
    assert.equal(result.stdout, 'to-out\n');
    assert.equal(result.stderr, 'to-err\n');
    // 5 MB: five times the agent's window, so the agent pauses the engine's stream and resumes it as polls acknowledge.
    const big = await cli(['exec', '--host', h1, `app/1`, '--', 'sh', '-c', 'head -c 5000000 /dev/zero | tr "\\0" x']);
    expectCode(big, 0, 'exec of 5 MB');
    assert.equal(big.stdout.length, 5_000_000);
    assert.match(big.stdout, /^x+$/);
  });

  it('-i sends stdin and closes it at its end', async () => {
    const piped = await runCliWithInput(['exec', '-i', '--host', h1, '--nats', nats.url, '--creds', join(dir, 'admin.nk'), 'app', '--', 'sh', '-c', 'wc -c; echo done'], 'abcdef', { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
    expectCode(piped, 0, 'exec -i');
    assert.match(piped.stdout, /^\s*6\ndone\n$/);
  });

  it('works with a TTY under script: the command sees a terminal, its input and the exit code come back', async () => {
    const command = [process.execPath, CLI, 'exec', '-it', '--host', h1, '--nats', nats.url, '--creds', join(dir, 'admin.nk'), 'app', '--', 'sh'].map((word) => `'${word}'`).join(' ');
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') }, stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, output }));
      // Typed as a person would, a little apart, so the shell has its prompt up first.
      setTimeout(() => child.stdin.write('[ -t 0 ] && echo "tty-$((6*7))"\n'), 1_500);
      setTimeout(() => child.stdin.write('exit 5\n'), 2_500);
      setTimeout(() => child.kill('SIGKILL'), 30_000);
    });
    assert.match(result.output, /tty-42/, result.output);
    assert.equal(result.code, 5, result.output);
  });

  it('without a terminal, Ctrl-C stops exec: the session is closed and it exits 130', async () => {
    const child = startCli(['exec', '--host', h1, '--nats', nats.url, '--creds', join(dir, 'admin.nk'), 'app', '--', 'sh', '-c', 'echo ready; sleep 30'], { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor('the command to print ready', async () => child.output().includes('ready\n'), 20_000, 100);
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    assert.equal(await exited, 130, child.output());
    assert.ok(Date.now() - interruptedAt < 10_000, 'it did not wait for the command');
    assert.match(child.output(), /exec interrupted; the session was closed/);
  });

  it('finds the host from the status, and asks for --host when the service runs on several', async () => {
    const ambiguous = await cli(['exec', 'app', '--', 'true']);
    expectCode(ambiguous, 1, 'exec without --host');
    assert.match(ambiguous.stderr, new RegExp(`runs on (${h1}, ${h2}|${h2}, ${h1}): pass --host`));
    const missing = await cli(['exec', '--host', h1, 'nosuch', '--', 'true']);
    expectCode(missing, 1, 'exec of a missing service');
    assert.match(missing.stderr, /refused the exec: no container of service nosuch on this host/);
  });

  it('an agent without --allow-exec refuses with a clear message', async () => {
    const result = await cli(['exec', '--host', h2, 'app', '--', 'true']);
    expectCode(result, 1, 'exec on h2');
    assert.match(result.stderr, new RegExp(`host ${h2} refused the exec: this agent does not allow exec: start it with --allow-exec`));
  });

  it('a deployer (coordinator.nk) and a reader cannot exec; nor can a host\'s credentials', async () => {
    const deployer = await cli(['exec', '--host', h1, 'app', '--', 'true'], 'coordinator.nk');
    expectCode(deployer, 1, 'exec as deployer');
    assert.match(deployer.stderr, /may not exec|Permissions Violation/i);
    const reader = await cli(['exec', '--host', h1, 'app', '--', 'true'], join('users', 'ro.nk'));
    expectCode(reader, 1, 'exec as reader');
    assert.match(reader.stderr, /may not exec|Permissions Violation/i);
    const host2 = await connectAs(nats.url, await seedOf(dir, h2), `_INBOX_${h2}`);
    try {
      const signed = signRequest(body(['id']), h1, signingKeyOf(new TextEncoder().encode((await readFile(join(dir, 'coordinator-signing.nk'), 'utf8')).trim())), Date.now(), randomBytes(16).toString('hex'));
      await assert.rejects(host2.request(execRpcSubject(h1), signed, { timeout: 2_000 }), /permission|timeout|no responders/i);
    } finally {
      await host2.close();
    }
  });

  it('an unsigned, wrongly signed, replayed, expired or other-host exec is refused, each recorded as a failed event', async () => {
    const seed = (await readFile(join(dir, 'coordinator-signing.nk'), 'utf8')).trim();
    const key = signingKeyOf(new TextEncoder().encode(seed));
    const nonce = () => randomBytes(16).toString('hex');
    const unsigned = await startRequest(encode({ ...body(['id']), seal: { hostId: h1, nonce: nonce(), expiresAt: new Date(Date.now() + 30_000).toISOString() } }));
    assert.equal(unsigned.ok, false);
    assert.match(unsigned.ok ? '' : unsigned.error, /unsigned/);
    const stranger = signingKeyOf(createOperator().getSeed());
    const wrong = await startRequest(signRequest(body(['id']), h1, stranger, Date.now(), nonce()));
    assert.match(wrong.ok ? '' : wrong.error, /signature|signed by|key/i);
    const once = signRequest(body(['true']), h1, key, Date.now(), nonce());
    const first = await startRequest(once);
    assert.equal(first.ok, true, JSON.stringify(first));
    const replay = await startRequest(once);
    assert.match(replay.ok ? '' : replay.error, /replayed: nonce/);
    const expired = await startRequest(signRequest(body(['id']), h1, key, Date.now() - 5 * 60_000, nonce()));
    assert.match(expired.ok ? '' : expired.error, /expired at/);
    const elsewhere = await startRequest(signRequest(body(['id']), h2, key, Date.now(), nonce()));
    assert.match(elsewhere.ok ? '' : elsewhere.error, new RegExp(`for host ${h2}, not ${h1}`));
    const refusals = (await fleet.recordedEvents(h1)).filter((event) => event.type === 'failed' && /^rejected an exec request/.test(event.message));
    assert.ok(refusals.length >= 5, refusals.map((event) => event.message).join('\n'));
  });

  it('every session is an exec event with who, the argv and the exit code, never the output; `events --type exec` shows it', async () => {
    const marker = `secret-output-${randomBytes(4).toString('hex')}`;
    const result = await cli(['exec', '--host', h1, '--as', 'alice', 'app', '--', 'sh', '-c', `echo ${marker}; exit 3`]);
    expectCode(result, 3, 'exec');
    const adminKey = (await readFile(join(dir, 'fleet-auth.json'), 'utf8')).match(/"admin": \{\s*"publicKey": "(U[A-Z2-7]+)"/)?.[1];
    let ended;
    for (let attempt = 0; attempt < 50 && !ended; attempt += 1) {
      const events = await cli(['events', '--host', h1, '--type', 'exec', '--json']);
      expectCode(events, 0, 'events');
      const lines = events.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { message: string; exec?: Record<string, unknown> });
      ended = lines.find((event) => event.exec?.phase === 'ended' && JSON.stringify(event.exec.argv).includes(marker));
      if (!ended) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(ended, 'an ended exec event with the argv');
    const audit = ended.exec as { as: string; natsUser: string; signingKey: string; exitCode: number; bytes: { stdout: number; stderr: number; stdin: number }; container: string; startedAt: string; endedAt: string };
    assert.equal(audit.as, 'alice');
    assert.equal(audit.natsUser, adminKey);
    assert.equal(audit.signingKey, (await readFile(join(dir, 'coordinator-signing.pub'), 'utf8')).trim());
    assert.equal(audit.exitCode, 3);
    assert.equal(audit.bytes.stdout, marker.length + 1);
    assert.equal(audit.bytes.stderr, 0);
    assert.match(audit.container, new RegExp(`${project}-app-1$`));
    assert.ok(Date.parse(audit.endedAt) >= Date.parse(audit.startedAt));
    // The argv is recorded; the output (the marker as the command printed it, with its newline) is not.
    const recorded = JSON.stringify(ended);
    assert.equal(recorded.split(marker).length - 1, 2, `the marker appears only in the argv (message and exec.argv): ${recorded}`);
  });
});
