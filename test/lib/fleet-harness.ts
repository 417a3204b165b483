/**
 * Starts fleet agents as real CLI child processes (`hostwright agent --nats ...`), one per simulated
 * host, all sharing the local Docker engine: each has its own host id (containers labelled
 * io.hostwright.host=<id>), its own container name prefix and its own data dir. An agent can be
 * connected through its own TCP proxy so a test can cut it off from NATS.
 *
 * Each fleet has its own coordinator signing key pair: agents pin its public key (--coordinator-key)
 * and CLI commands that write desired state sign with its seed (`cliEnv`: HOSTWRIGHT_SIGNING_KEY).
 *
 * cleanup() stops every agent (SIGTERM, then SIGKILL), closes the proxies, removes the agents'
 * containers (label io.hostwright.host=<id> AND the agent's name prefix) and the temp dirs. Agents
 * still running when the test process exits are SIGKILLed by a process 'exit' hook.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlSocketPath } from '../../agent/control-server.js';
import { createOperator } from '@nats-io/nkeys';
import { SIGNING_PUBLIC_FILE, SIGNING_SEED_FILE } from '../../coordinator/signing-key.js';
import { hostwrightEventSchema, type HostwrightEvent } from '../../shared/events.js';
import { LABELS } from '../../shared/labels.js';
import { killOnExit } from './child-reaper.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { runCli, startCli, type CliResult } from './cli.js';
import { docker, removeHostObjects } from './docker-harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { waitFor } from './wait.js';

export interface AgentSpec {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Connect through a TCP proxy the test can cut() and heal(). */
  readonly proxied?: boolean;
  /** Extra agent flags (e.g. this host's --creds and --tls-ca, --metrics-addr) and environment (e.g. DOCKER_HOST for another engine). */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** A data dir the test prepared (e.g. on a small tmpfs); a fresh temp dir when omitted. */
  readonly dataDir?: string;
}

export interface FleetAgent {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly dataDir: string;
  /** Container names of this agent start with it. */
  readonly namePrefix: string;
  readonly proxy: TcpProxy | undefined;
  /** The current process (a new one after restart()). */
  readonly process: ChildProcess & { output: () => string };
  /** When the current process was launched (its registration's startedAt is later). */
  readonly launchedAt: number;
  /** Output of earlier processes of this agent (before restarts) and of the current one. */
  output(): string;
  alive(): boolean;
}

interface HostsJson {
  readonly schema: string;
  readonly hosts: { hostId: string; labels: Record<string, string>; startedAt: string; heartbeatAt: string; stale: boolean }[];
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves with the exit code (null when killed by a signal). */
function exited(child: ChildProcess): Promise<number | null> {
  if (!isAlive(child)) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

class Agent implements FleetAgent {
  process: ChildProcess & { output: () => string };
  launchedAt = 0;
  earlierOutput = '';

  constructor(
    readonly hostId: string,
    readonly labels: Readonly<Record<string, string>>,
    readonly dataDir: string,
    readonly namePrefix: string,
    readonly proxy: TcpProxy | undefined,
    private readonly natsUrl: string,
    private readonly coordinatorKeyFile: string,
    private readonly extra: Pick<AgentSpec, 'args' | 'env'> = {},
  ) {
    this.process = this.launch();
  }

  launch(): ChildProcess & { output: () => string } {
    this.launchedAt = Date.now();
    const labels = Object.entries(this.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
    const child = startCli(['agent', '--nats', this.proxy?.url ?? this.natsUrl, '--coordinator-key', this.coordinatorKeyFile, '--host-id', this.hostId, '--data-dir', this.dataDir, '--name-prefix', this.namePrefix, ...labels, '--resync', '3s', '--heartbeat', '1s', '--log-level', 'info', ...(this.extra.args ?? [])], { ...this.extra.env });
    killOnExit(child);
    this.process = child;
    return child;
  }

  output(): string {
    return this.earlierOutput + this.process.output();
  }

  alive(): boolean {
    return isAlive(this.process);
  }
}

export class FleetHarness {
  readonly #agents = new Map<string, Agent>();
  readonly #dirs: string[] = [];

  /** The coordinator's signing seed file (coordinator-signing.nk) of this fleet. */
  readonly signingKeyFile: string;
  /** The public key every agent of this fleet pins. */
  readonly coordinatorKey: string;
  readonly #keyFile: string;

  private constructor(
    /** The NATS server's own URL (agents started with proxied connect through their proxy instead). */
    readonly natsUrl: string,
    private readonly natsPort: number,
    /** Unique per run: part of every agent's container name prefix. */
    readonly runId: string,
    /** Extra arguments of the harness's own coordinator commands (`hosts`), e.g. `--creds`. */
    private readonly cliArgs: readonly string[],
  ) {
    const keyDir = mkdtempSync(join(tmpdir(), 'hw-fleet-keys-'));
    this.#dirs.push(keyDir);
    const keys = createOperator();
    this.signingKeyFile = join(keyDir, SIGNING_SEED_FILE);
    this.#keyFile = join(keyDir, SIGNING_PUBLIC_FILE);
    this.coordinatorKey = keys.getPublicKey();
    writeFileSync(this.signingKeyFile, `${new TextDecoder().decode(keys.getSeed())}\n`, { mode: 0o600 });
    writeFileSync(this.#keyFile, `${this.coordinatorKey}\n`);
  }

  static create(nats: { readonly url: string; readonly port: number }, runId: string, options: { readonly cliArgs?: readonly string[] } = {}): FleetHarness {
    return new FleetHarness(nats.url, nats.port, runId, options.cliArgs ?? []);
  }

  /**
   * A fleet with credentials as `fleet init` makes them in `dir`: one NATS user per host, the
   * coordinator's user (the harness's CLI runs as it), the named users with their roles, and a
   * nats-server started on the accounts it wrote. `hostArgs` are an agent's credential flags.
   */
  static async withFleetAuth(dir: string, runId: string, hostIds: readonly string[], users: readonly { readonly name: string; readonly role: string }[] = []): Promise<{ readonly nats: NatsServerHandle; readonly fleet: FleetHarness; hostArgs(hostId: string): string[] }> {
    const init = await runCli(['fleet', 'init', '--dir', dir, ...hostIds.flatMap((hostId) => ['--host', hostId])]);
    assert.equal(init.code, 0, init.stderr);
    for (const user of users) {
      const added = await runCli(['fleet', 'add-user', user.name, '--role', user.role, '--dir', dir]);
      assert.equal(added.code, 0, added.stderr);
    }
    const nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
    const fleet = FleetHarness.create(nats, runId, { cliArgs: ['--creds', join(dir, 'coordinator.nk')] });
    return { nats, fleet, hostArgs: (hostId) => ['--creds', join(dir, 'hosts', `${hostId}.nk`), '--coordinator-key', join(dir, 'coordinator-signing.pub')] };
  }

  /** Environment for CLI commands that write desired state: they sign with this fleet's key. */
  get cliEnv(): Record<string, string> {
    return { HOSTWRIGHT_SIGNING_KEY: this.signingKeyFile };
  }

  /** The last lines of every agent's output, for the message of a failed assertion. */
  agentTails(lines = 10): string {
    return this.agents.map((a) => `--- ${a.hostId} (alive: ${a.alive()})\n${a.output().split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  /**
   * Runs a coordinator command against this fleet's server, signing with its key, and asserts its
   * exit code; a wrong one fails with the command's output and the agents' last lines.
   */
  async cli(args: readonly string[], expectCode: number): Promise<CliResult> {
    const result = await runCli([...args, '--nats', this.natsUrl], this.cliEnv);
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${this.agentTails()}`);
    return result;
  }

  agent(hostId: string): FleetAgent {
    const agent = this.#agents.get(hostId);
    if (!agent) throw new Error(`no agent ${hostId}`);
    return agent;
  }

  get agents(): FleetAgent[] {
    return [...this.#agents.values()];
  }

  /** Starts the agents and waits until `hosts --json` lists every one of them as freshly registered. */
  async startAgents(specs: readonly AgentSpec[], timeoutMs = 30_000): Promise<FleetAgent[]> {
    const started: Agent[] = [];
    for (const spec of specs) {
      if (this.#agents.has(spec.hostId)) throw new Error(`agent ${spec.hostId} already started`);
      const dataDir = await mkdtemp(join(tmpdir(), `hw-fleet-${spec.hostId}-`));
      this.#dirs.push(dataDir);
      const proxy = spec.proxied ? await startTcpProxy(this.natsPort) : undefined;
      const agent = new Agent(spec.hostId, spec.labels, spec.dataDir ?? dataDir, `${this.runId}-${spec.hostId}-`, proxy, this.natsUrl, this.#keyFile, spec);
      this.#agents.set(spec.hostId, agent);
      started.push(agent);
    }
    await this.waitRegistered(started, timeoutMs);
    return started;
  }

  /** SIGTERM; resolves with the exit code once the process has exited. */
  async stop(hostId: string, timeoutMs = 20_000): Promise<number | null> {
    const agent = this.#agents.get(hostId);
    if (!agent) throw new Error(`no agent ${hostId}`);
    const done = exited(agent.process);
    agent.process.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      agent.process.kill('SIGKILL');
      await done;
      throw new Error(`agent ${hostId} did not exit within ${timeoutMs} ms of SIGTERM:\n${tail(agent.output())}`);
    }
    return result;
  }

  /** Starts a stopped agent again with the same data dir, labels and proxy; waits for its new registration. */
  async restart(hostId: string, timeoutMs = 30_000): Promise<FleetAgent> {
    const agent = this.#agents.get(hostId);
    if (!agent) throw new Error(`no agent ${hostId}`);
    if (agent.alive()) throw new Error(`agent ${hostId} is still running`);
    agent.earlierOutput += `${agent.process.output()}\n--- restarted ---\n`;
    agent.launch();
    await this.waitRegistered([agent], timeoutMs);
    return agent;
  }

  /** Every agent is listed by `hosts --json`, registered by its current process, and not stale. */
  async waitRegistered(agents: readonly FleetAgent[], timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `${agents.map((a) => a.hostId).join(', ')} registered (hosts --json)`,
      async () => {
        for (const agent of agents) {
          if (!agent.alive()) throw new Error(`agent ${agent.hostId} exited (code ${agent.process.exitCode}):\n${tail(agent.output())}`);
        }
        const result = await runCli(['hosts', '--json', '--nats', this.natsUrl, ...this.cliArgs]);
        if (result.code !== 0) throw new Error(`hosts --json exited ${result.code}: ${result.stderr}`);
        const { hosts } = JSON.parse(result.stdout) as HostsJson;
        return agents.every((agent) => {
          const host = hosts.find((h) => h.hostId === agent.hostId);
          return host !== undefined && !host.stale && Date.parse(host.startedAt) >= agent.launchedAt - 1_000;
        });
      },
      timeoutMs,
      250,
    );
  }

  /** The events an agent recorded in its journal, read through its control socket (GET /v1/events, NDJSON). */
  async recordedEvents(hostId: string): Promise<HostwrightEvent[]> {
    const agent = this.agent(hostId);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: controlSocketPath(agent.dataDir), path: '/v1/events?after=0' }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => (response.statusCode === 200 ? resolve(text) : reject(new Error(`${hostId}: control socket answered ${response.statusCode}: ${text}`))));
        response.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    return body
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => hostwrightEventSchema.parse(JSON.parse(line)));
  }

  /** This agent's containers: its host label and its name prefix (other runs' look-alikes are left alone). */
  async containersOf(hostId: string) {
    const agent = this.agent(hostId);
    const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.host}=${hostId}`] } });
    return listed.filter((c) => c.Names.some((name) => name.replace(/^\//, '').startsWith(agent.namePrefix)));
  }

  /** Stops every agent, closes proxies, removes the agents' containers and the temp dirs; never throws. */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(
      [...this.#agents.values()].map(async (agent) => {
        if (!agent.alive()) return;
        await this.stop(agent.hostId, 10_000).catch((error: unknown) => errors.push(error));
      }),
    );
    for (const agent of this.#agents.values()) {
      await agent.proxy?.close().catch((error: unknown) => errors.push(error));
      const containers = await this.containersOf(agent.hostId).catch(() => []);
      await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
      // Then its project networks and volumes (labelled with its host id, unique per run).
      await removeHostObjects(agent.hostId).catch(() => undefined);
    }
    for (const dir of this.#dirs.splice(0)) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    if (errors.length > 0) process.stderr.write(`fleet harness cleanup: ${errors.map(String).join('\n')}\n`);
  }
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}
