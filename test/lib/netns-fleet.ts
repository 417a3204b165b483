/**
 * A fleet of REAL separate hosts on one machine: each host is a Linux network namespace with its
 * own dockerd (own data root, exec root, pid file, socket, docker0 subnet and address pools, its
 * own iptables) and a real agent process inside it, joined by a veth pair to a bridge in the root
 * namespace. NATS listens on the bridge's root-side address, so every host reaches it as a remote
 * machine would; a host whose link is cut is cut off from NATS and from every other host.
 *
 * Address plan of one run (R picked per run among 10.200-249 with no route on this machine):
 *   bridge hwnf<run>b        10.R.0.1/24 (NATS), host i's veth end 10.R.0.(10+i)/24
 *   host i's containers      10.R.(16i).0/20: docker0 10.R.(16i).1/24, address pool 10.R.(16i+8).0/21 in /24s
 * so no two engines' subnets overlap and each host's containers sit in one routable /20.
 *
 * Processes enter a namespace with `nsenter --net=` (not `ip netns exec`, which remounts /sys and
 * hides the cgroups dockerd needs). The root namespace gets one iptables rule per run, letting
 * frames between the bridge's ports through FORWARD. Everything a run creates is named hwnf<run>… and lives under
 * /tmp/hwnf-<run>/ with an owner file holding the test process's pid: cleanup() removes it all,
 * even after a failed test, and sweepStaleNetnsFleets() removes what killed runs left (only runs
 * whose owner process is gone, so parallel runs are left alone).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { killOnExit } from './child-reaper.js';
import { CLI, runCli, type CliResult } from './cli.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const PREFIX = 'hwnf';
const ROOT = '/tmp';
const TEST_IMAGE = 'hw/busybox:test';

export interface NetnsFleetOptions {
  /** Host ids, one host each (h1, h2, ... when omitted). */
  readonly hostIds?: readonly string[];
  /** How many hosts when hostIds is omitted. */
  readonly hosts?: number;
  /** Agent labels per host id. */
  readonly labels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Extra agent flags for every host. */
  readonly agentArgs?: readonly string[];
  /** Start the agents (default true); false gives engines and links only. */
  readonly agents?: boolean;
  /** Extra agent flags for one host (after agentArgs), e.g. its own address. */
  readonly hostAgentArgs?: (host: NetnsHost) => readonly string[];
}

export interface NetnsHost {
  readonly hostId: string;
  /** 1-based. */
  readonly index: number;
  /** The network namespace's name (/var/run/netns/<netns>). */
  readonly netns: string;
  /** This host's address on the fleet bridge. */
  readonly address: string;
  /** The root-side end of this host's veth pair (cutLink sets it down). */
  readonly veth: string;
  /** The /20 this host's containers get their addresses from. */
  readonly containerRange: string;
  readonly dir: string;
  readonly dataDir: string;
  /** DOCKER_HOST of this host's engine. */
  readonly dockerHost: string;
  readonly docker: Docker;
  /** Container names of this host's agent start with it. */
  readonly namePrefix: string;
  /** Agent output across restarts. */
  agentOutput(): string;
  engineOutput(): string;
  agentAlive(): boolean;
}

interface Child {
  process: ChildProcess;
  output: string;
}

function alive(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

function exited(child: ChildProcess): Promise<void> {
  if (!alive(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Spawns a command inside a network namespace; output kept. */
function spawnIn(netns: string, command: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Child {
  const child = spawn('nsenter', [`--net=/var/run/netns/${netns}`, '--', command, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  const handle: Child = { process: child, output: '' };
  const keep = (chunk: Buffer) => {
    handle.output = (handle.output + chunk.toString()).slice(-64_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return handle;
}

/** SIGTERM, then SIGKILL after graceMs; resolves once exited. */
async function stopChild(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!alive(child)) return;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

class Host implements NetnsHost {
  engine: Child | undefined;
  agent: Child | undefined;
  earlierAgentOutput = '';
  earlierEngineOutput = '';
  readonly docker: Docker;

  constructor(
    readonly hostId: string,
    readonly index: number,
    readonly netns: string,
    readonly address: string,
    readonly veth: string,
    readonly containerRange: string,
    readonly bip: string,
    readonly pool: string,
    readonly dir: string,
    readonly namePrefix: string,
  ) {
    this.docker = new Docker({ socketPath: join(dir, 'docker.sock') });
  }

  get dataDir(): string {
    return join(this.dir, 'agent');
  }

  get dockerHost(): string {
    return `unix://${join(this.dir, 'docker.sock')}`;
  }

  agentOutput(): string {
    return this.earlierAgentOutput + (this.agent?.output ?? '');
  }

  engineOutput(): string {
    return this.earlierEngineOutput + (this.engine?.output ?? '');
  }

  agentAlive(): boolean {
    return alive(this.agent?.process);
  }

  async startEngine(): Promise<void> {
    if (this.engine) this.earlierEngineOutput += `${this.engine.output}\n--- restarted ---\n`;
    // iptables stay on: each namespace has its own tables, so this engine's rules touch no other.
    const args = ['--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'), '--pidfile', join(this.dir, 'docker.pid'), '-H', this.dockerHost, `--bip=${this.bip}`, '--default-address-pool', `base=${this.pool},size=24`, '--iptables=true', '--ip6tables=false'];
    const engine = spawnIn(this.netns, 'dockerd', args);
    this.engine = engine;
    await waitFor(`the engine of ${this.hostId} answers`, async () => {
      if (!alive(engine.process)) throw new Error(`dockerd of ${this.hostId} exited:\n${engine.output.slice(-2_000)}`);
      return (await this.docker.ping().catch(() => undefined)) !== undefined;
    }, 60_000, 200);
  }

  startAgent(natsUrl: string, fleetDir: string, labels: Readonly<Record<string, string>>, extra: readonly string[]): void {
    if (this.agent) this.earlierAgentOutput += `${this.agent.output}\n--- restarted ---\n`;
    const labelArgs = Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
    const args = [CLI, 'agent', '--nats', natsUrl, '--creds', join(fleetDir, 'hosts', `${this.hostId}.nk`), '--coordinator-key', join(fleetDir, 'coordinator-signing.pub'), '--host-id', this.hostId, '--data-dir', this.dataDir, '--name-prefix', this.namePrefix, ...labelArgs, '--resync', '3s', '--heartbeat', '1s', '--log-level', 'info', ...extra];
    this.agent = spawnIn(this.netns, process.execPath, args, { DOCKER_HOST: this.dockerHost });
  }
}

/** An unused 10.R.0.0/16 for this run: no route or address of this machine falls in it. */
async function pickRange(): Promise<number> {
  const routes = (await run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout + (await run('ip', ['-4', 'addr'])).stdout;
  const candidates = Array.from({ length: 50 }, (_, i) => 200 + i).filter((r) => !routes.includes(`10.${r}.`));
  if (candidates.length === 0) throw new Error('no free 10.200-249.0.0/16 range for a netns fleet on this machine');
  return candidates[Math.floor(Math.random() * candidates.length)]!;
}

export class NetnsFleet {
  readonly #hosts = new Map<string, Host>();
  #nats: NatsServerHandle | undefined;
  #cleanedUp = false;
  #hostAgentArgs: ((host: NetnsHost) => readonly string[]) | undefined;

  private constructor(
    /** Unique per run: in every name this run creates. */
    readonly runId: string,
    readonly dir: string,
    readonly bridge: string,
    /** The bridge's root-side address (NATS listens on it). */
    readonly gateway: string,
    private readonly agentArgs: readonly string[],
    private readonly labels: Readonly<Record<string, Readonly<Record<string, string>>>>,
  ) {}

  /** `fleet init`'s directory: coordinator.nk, coordinator-signing.nk, hosts/<id>.nk. */
  get fleetDir(): string {
    return join(this.dir, 'fleet');
  }

  get nats(): NatsServerHandle {
    if (!this.#nats) throw new Error('the netns fleet has no NATS server');
    return this.#nats;
  }

  get hosts(): NetnsHost[] {
    return [...this.#hosts.values()];
  }

  host(hostId: string): NetnsHost {
    return this.#host(hostId);
  }

  #host(hostId: string): Host {
    const host = this.#hosts.get(hostId);
    if (!host) throw new Error(`no host ${hostId} in this netns fleet`);
    return host;
  }

  /** Environment and credentials of coordinator CLI commands (they sign with this fleet's key). */
  get cliEnv(): Record<string, string> {
    return { HOSTWRIGHT_SIGNING_KEY: join(this.fleetDir, 'coordinator-signing.nk') };
  }

  /** Runs a coordinator command against this fleet's NATS with the coordinator's credentials. */
  cli(args: readonly string[]): Promise<CliResult> {
    return runCli([...args, '--nats', this.nats.url, '--creds', join(this.fleetDir, 'coordinator.nk')], this.cliEnv);
  }

  /**
   * Sweeps stale runs, then builds the bridge, N namespaces with engines (in parallel), NATS on the
   * bridge with `fleet init` credentials, and (unless agents: false) an agent per host, waiting until
   * every host is registered. Anything half-built is torn down before the error is thrown.
   */
  static async start(options: NetnsFleetOptions = {}): Promise<NetnsFleet> {
    await sweepStaleNetnsFleets();
    const hostIds = options.hostIds ?? Array.from({ length: options.hosts ?? 3 }, (_, i) => `h${i + 1}`);
    const runId = randomBytes(3).toString('hex').slice(0, 5);
    const dir = join(ROOT, `${PREFIX}-${runId}`);
    // The owner file first: a sweeper in a parallel run must never take a run still being built.
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'owner'), `${process.pid}\n`);
    const r = await pickRange();
    const fleet = new NetnsFleet(runId, dir, `${PREFIX}${runId}b`, `10.${r}.0.1`, options.agentArgs ?? [], options.labels ?? {});
    fleet.#hostAgentArgs = options.hostAgentArgs;
    try {
      await run('ip', ['link', 'add', fleet.bridge, 'type', 'bridge']);
      await run('ip', ['addr', 'add', `${fleet.gateway}/24`, 'dev', fleet.bridge]);
      await run('ip', ['link', 'set', fleet.bridge, 'up']);
      // Bridged frames pass the root namespace's iptables FORWARD chain (br_netfilter), whose policy
      // the machine's own engine sets to DROP: let this bridge's hosts reach each other.
      await run('iptables', ['-w', '-I', 'FORWARD', '1', ...forwardRule(fleet.bridge)]);
      hostIds.forEach((hostId, i) => {
        const index = i + 1;
        const third = 16 * index;
        const host = new Host(hostId, index, `${PREFIX}-${runId}-${index}`, `10.${r}.0.${10 + index}`, `${PREFIX}${runId}h${index}`, `10.${r}.${third}.0/20`, `10.${r}.${third}.1/24`, `10.${r}.${third + 8}.0/21`, join(dir, `h${index}`), `${runId}-${hostId}-`);
        fleet.#hosts.set(hostId, host);
      });
      const image = join(dir, 'image.tar');
      await run('docker', ['save', '-o', image, TEST_IMAGE]);
      await Promise.all(fleet.hosts.map((host) => fleet.#buildHost(host as Host, image)));
      const init = await runCli(['fleet', 'init', '--dir', fleet.fleetDir, ...hostIds.flatMap((hostId) => ['--host', hostId])]);
      if (init.code !== 0) throw new Error(`fleet init exited ${init.code}: ${init.stderr}`);
      fleet.#nats = await startNatsServer({ host: fleet.gateway, include: join(fleet.fleetDir, 'accounts.conf') });
      if (options.agents !== false) {
        for (const host of fleet.#hosts.values()) fleet.#launchAgent(host);
        await fleet.waitRegistered(hostIds);
      }
      return fleet;
    } catch (error) {
      await fleet.cleanup();
      throw error;
    }
  }

  async #buildHost(host: Host, image: string): Promise<void> {
    await mkdir(host.dataDir, { recursive: true });
    await run('ip', ['netns', 'add', host.netns]);
    await run('ip', ['-n', host.netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns]);
    await run('ip', ['link', 'set', host.veth, 'master', this.bridge, 'up']);
    await run('ip', ['-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', host.netns, 'link', 'set', 'eth0', 'up']);
    await host.startEngine();
    await run('docker', ['-H', host.dockerHost, 'load', '-q', '-i', image]);
  }

  #launchAgent(host: Host): void {
    host.startAgent(this.nats.url, this.fleetDir, this.labels[host.hostId] ?? {}, [...this.agentArgs, ...(this.#hostAgentArgs?.(host) ?? [])]);
  }

  /** Every given host is listed by `hosts --json` as not stale, registered after its agent's (re)start. */
  async waitRegistered(hostIds: readonly string[] = [...this.#hosts.keys()], timeoutMs = 45_000): Promise<void> {
    const since = Date.now() - 60_000;
    await waitFor(`${hostIds.join(', ')} registered`, async () => {
      for (const hostId of hostIds) {
        const host = this.#host(hostId);
        if (!host.agentAlive()) throw new Error(`agent ${hostId} exited:\n${host.agentOutput().slice(-3_000)}`);
      }
      const hosts = await this.hostsJson();
      return hostIds.every((hostId) => hosts.some((h) => h.hostId === hostId && !h.stale && Date.parse(h.startedAt) >= since));
    }, timeoutMs, 300);
  }

  /** `hosts --json`'s rows. */
  async hostsJson(): Promise<{ hostId: string; stale: boolean; startedAt: string; heartbeatAt: string }[]> {
    const result = await this.cli(['hosts', '--json']);
    if (result.code !== 0) throw new Error(`hosts --json exited ${result.code}: ${result.stderr}`);
    return (JSON.parse(result.stdout) as { hosts: { hostId: string; stale: boolean; startedAt: string; heartbeatAt: string }[] }).hosts;
  }

  /** The host's link down: it loses NATS and every other host until restoreLink. */
  async cutLink(hostId: string): Promise<void> {
    await run('ip', ['link', 'set', this.#host(hostId).veth, 'down']);
  }

  async restoreLink(hostId: string): Promise<void> {
    await run('ip', ['link', 'set', this.#host(hostId).veth, 'up']);
  }

  /**
   * SIGKILL the host's dockerd and its containerd, as when the engine crashes: containers keep
   * running under their shims, and the engine finds them again when restarted.
   */
  async killEngine(hostId: string): Promise<void> {
    const host = this.#host(hostId);
    const engine = host.engine?.process;
    if (!alive(engine)) return;
    const containerd = Number((await readFile(join(host.dir, 'exec', 'containerd', 'containerd.pid'), 'utf8').catch(() => '')).trim());
    const done = exited(engine);
    engine.kill('SIGKILL');
    if (Number.isInteger(containerd) && containerd > 0) killPid(containerd);
    await done;
    await waitFor(`the containerd of ${hostId} to exit`, async () => !(containerd > 0 && pidAlive(containerd)), 10_000, 50);
  }

  /** Start the host's dockerd again on the same dirs and socket; waits until it answers. */
  async restartEngine(hostId: string): Promise<void> {
    const host = this.#host(hostId);
    if (alive(host.engine?.process)) throw new Error(`the engine of ${hostId} is still running`);
    await host.startEngine();
  }

  async stopAgent(hostId: string): Promise<void> {
    await stopChild(this.#host(hostId).agent?.process, 15_000);
  }

  async restartAgent(hostId: string): Promise<void> {
    const host = this.#host(hostId);
    if (host.agentAlive()) throw new Error(`the agent of ${hostId} is still running`);
    this.#launchAgent(host);
    await this.waitRegistered([hostId]);
  }

  /** Runs a command in the host's namespace (not in a container), e.g. to reach a container address. */
  async execIn(hostId: string, command: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
    return run('nsenter', [`--net=/var/run/netns/${this.#host(hostId).netns}`, '--', command, ...args]);
  }

  /** Tears everything down; never throws; safe to call twice. */
  async cleanup(): Promise<void> {
    if (this.#cleanedUp) return;
    this.#cleanedUp = true;
    await Promise.all([...this.#hosts.values()].map((host) => stopChild(host.agent?.process, 10_000)));
    await Promise.all(
      [...this.#hosts.values()].map(async (host) => {
        // Containers first, through the engine, so none outlives it.
        const containers = await host.docker.listContainers({ all: true }).catch(() => []);
        await Promise.all(containers.map((c) => host.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
        await stopChild(host.engine?.process, 20_000);
      }),
    );
    await this.#nats?.cleanup().catch(() => undefined);
    await removeRun(this.runId);
  }
}

/** The one iptables rule a run adds (FORWARD between its bridge's ports). */
function forwardRule(bridge: string): string[] {
  return ['-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
}

/** Every pid in a namespace (agents, dockerd, containerd and its shims). */
async function pidsIn(netns: string): Promise<number[]> {
  const out = await run('ip', ['netns', 'pids', netns]).catch(() => ({ stdout: '' }));
  return out.stdout.split('\n').filter((line) => line.trim() !== '').map(Number);
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills the processes of containers an engine of this run created that are still running (cgroup v1 or v2). */
async function killContainers(runDir: string): Promise<void> {
  const hostDirs = (await readdir(runDir).catch(() => [])).filter((name) => /^h\d+$/.test(name));
  for (const hostDir of hostDirs) {
    const ids = await readdir(join(runDir, hostDir, 'data', 'containers')).catch(() => []);
    for (const id of ids) {
      for (const procs of [`/sys/fs/cgroup/pids/docker/${id}/cgroup.procs`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/cgroup.procs`, `/sys/fs/cgroup/docker/${id}/cgroup.procs`]) {
        const text = await readFile(procs, 'utf8').catch(() => '');
        for (const pid of text.split('\n').filter((line) => line !== '').map(Number)) killPid(pid);
      }
    }
  }
}

/** Removes everything of one run: processes in its namespaces, containers, mounts, namespaces, links, dirs. */
async function removeRun(runId: string): Promise<void> {
  const runDir = join(ROOT, `${PREFIX}-${runId}`);
  const namespaces = (await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }))).stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${PREFIX}-${runId}-`));
  for (const netns of namespaces) {
    for (const pid of await pidsIn(netns)) killPid(pid);
  }
  await killContainers(runDir);
  await waitFor('the processes of the netns fleet to exit', async () => {
    for (const netns of namespaces) if ((await pidsIn(netns)).some(pidAlive)) return false;
    return true;
  }, 15_000, 100).catch(() => undefined);
  await run('sh', ['-c', `grep -o " ${runDir}/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]).catch(() => undefined);
  for (const netns of namespaces) await run('ip', ['netns', 'del', netns]).catch(() => undefined);
  // Deleting a namespace deletes its veth ends and with them the pairs; the bridge is the run's last link.
  const bridge = `${PREFIX}${runId}b`;
  await run('ip', ['link', 'del', bridge]).catch(() => undefined);
  while (await run('iptables', ['-w', '-D', 'FORWARD', ...forwardRule(bridge)]).then(() => true, () => false));
  await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Removes what killed runs left: namespaces, bridges, FORWARD rules and dirs named hwnf… whose run's owner process
 * is gone (or that have no owner file). Runs of live processes, this machine's other tests, are left alone.
 */
export async function sweepStaleNetnsFleets(): Promise<string[]> {
  const runs = new Set<string>();
  for (const line of (await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }))).stdout.split('\n')) {
    const match = new RegExp(`^${PREFIX}-([0-9a-f]{5})-\\d+`).exec(line);
    if (match) runs.add(match[1]!);
  }
  for (const line of (await run('ip', ['-o', 'link', 'show', 'type', 'bridge']).catch(() => ({ stdout: '' }))).stdout.split('\n')) {
    const match = new RegExp(`: ${PREFIX}([0-9a-f]{5})b[:@]`).exec(line);
    if (match) runs.add(match[1]!);
  }
  for (const line of (await run('iptables', ['-w', '-S', 'FORWARD']).catch(() => ({ stdout: '' }))).stdout.split('\n')) {
    const match = new RegExp(`-i ${PREFIX}([0-9a-f]{5})b `).exec(line);
    if (match) runs.add(match[1]!);
  }
  for (const name of await readdir(ROOT).catch(() => [])) {
    const match = new RegExp(`^${PREFIX}-([0-9a-f]{5})$`).exec(name);
    if (match) runs.add(match[1]!);
  }
  const swept: string[] = [];
  for (const runId of runs) {
    const ownerFile = join(ROOT, `${PREFIX}-${runId}`, 'owner');
    const owner = existsSync(ownerFile) ? Number((await readFile(ownerFile, 'utf8').catch(() => '')).trim()) : NaN;
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    // A run dir without its owner file yet may be one a parallel run is creating this instant.
    const made = (await stat(join(ROOT, `${PREFIX}-${runId}`)).catch(() => undefined))?.mtimeMs;
    if (!existsSync(ownerFile) && made !== undefined && Date.now() - made < 60_000) continue;
    await removeRun(runId);
    swept.push(runId);
  }
  return swept;
}
