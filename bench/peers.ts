import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { writeTargets } from '../coordinator/fleet-apply.js';
import { collectPlans } from '../coordinator/fleet-plan.js';
import { desiredFromFleet, openLocalHost, type LocalHost } from '../coordinator/cli/local-host.js';
import { loadFleetFile } from '../coordinator/fleet-file.js';
import { fleetTargets } from '../coordinator/fleet-targets.js';
import { startInProcessFleet, until, type InProcessFleet } from './in-process-fleet.js';
import { median, round } from './stats.js';
import { BENCH_COMMAND, BENCH_IMAGE, docker, progress, removeContainersNamed, removeProjectContainers, runPool, throwIfInterrupted, uniqueName, withInterruptCleanup } from './support.js';

const exec = promisify(execFile);

export interface PeersOptions {
  readonly containers: number;
  readonly parallelism: number;
}

export const SCENARIOS = ['from_nothing', 'no_change', 'one_image_changed'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Seconds per scenario, or why the peer was not measured. */
export type PeerFigures = { readonly seconds: Readonly<Record<Scenario, number>>; readonly ratio_to_raw: Readonly<Record<Scenario, number>> } | { readonly skipped: string };

export interface PeersResult {
  readonly benchmark: 'peers';
  readonly containers: number;
  readonly parallelism: number;
  readonly peers: Readonly<Record<PeerName, PeerFigures>>;
  /** Median of NO_CHANGE_ROUNDS unchanged local applies each: with the two journal writes the path made before, and now. */
  readonly hostwright_local_no_change_ms: { readonly before_ms: number; readonly now_ms: number };
  /** A no-change `hostwright apply --local` as a whole CLI process (Node start-up included). */
  readonly hostwright_local_cli_no_change_s: number;
}

const PEERS = ['raw_dockerode', 'hostwright_local', 'hostwright_agent_nats', 'docker_compose', 'docker_swarm'] as const;
type PeerName = (typeof PEERS)[number];

/** One peer: brings N services up, re-applies them unchanged, then changes one service's image; cleans up after itself. */
interface Peer {
  readonly name: PeerName;
  /** A reason to skip, when the tool is missing and cannot be installed. */
  prepare(): Promise<string | undefined>;
  apply(scenario: Scenario): Promise<void>;
  /** Untimed, after a scenario's timed apply (extra measurements on the state it left). */
  afterTimed?(scenario: Scenario): Promise<void>;
  cleanup(): Promise<void>;
}

/** Unchanged local applies per side for the before/after figure (alternating sides). */
const NO_CHANGE_ROUNDS = 10;

/**
 * N single-replica services converged from nothing, re-applied unchanged, and with one service's
 * image changed, by each peer in turn on the same engine; raw dockerode at Hostwright's
 * parallelism is the lower bound every other figure is divided by.
 */
export async function runPeers(options: PeersOptions): Promise<PeersResult> {
  const run = uniqueName('hwpeers');
  const imageAfter = `hw/busybox:${run}`;
  await docker().getImage(BENCH_IMAGE).tag({ repo: 'hw/busybox', tag: run });
  const dir = await mkdtemp(join(tmpdir(), 'hw-bench-peers-'));
  try {
    const services = Array.from({ length: options.containers }, (_, i) => `s${i + 1}`);
    const context: PeerContext = { run, dir, services, parallelism: options.parallelism, imageAfter };
    let noChange: { before_ms: number; now_ms: number } | undefined;
    const peers: Peer[] = [rawPeer(context), localPeer(context, (figures) => (noChange = figures)), agentPeer(context), composePeer(context), swarmPeer(context)];
    const measured = new Map<PeerName, PeerFigures>();
    for (const peer of peers) {
      throwIfInterrupted();
      measured.set(peer.name, await measure(peer));
    }
    const raw = measured.get('raw_dockerode');
    if (!raw || 'skipped' in raw) throw new Error('the raw dockerode lower bound was not measured');
    const peersOut = {} as Record<PeerName, PeerFigures>;
    for (const [name, figures] of measured) {
      peersOut[name] = 'skipped' in figures ? figures : { seconds: figures.seconds, ratio_to_raw: ratios(figures.seconds, raw.seconds) };
    }
    const cli = await timeLocalCliNoChange(context);
    if (!noChange) throw new Error('the local no-change rounds did not run');
    return { benchmark: 'peers', containers: options.containers, parallelism: options.parallelism, peers: peersOut, hostwright_local_no_change_ms: noChange, hostwright_local_cli_no_change_s: round(cli) };
  } finally {
    await docker().getImage(imageAfter).remove().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

function ratios(seconds: Readonly<Record<Scenario, number>>, raw: Readonly<Record<Scenario, number>>): Record<Scenario, number> {
  return { from_nothing: round(seconds.from_nothing / raw.from_nothing, 2), no_change: round(seconds.no_change / raw.no_change, 2), one_image_changed: round(seconds.one_image_changed / raw.one_image_changed, 2) };
}

async function measure(peer: Peer): Promise<PeerFigures> {
  const skip = await peer.prepare();
  if (skip !== undefined) {
    progress(`peers: ${peer.name} skipped: ${skip}`);
    return { skipped: skip };
  }
  return withInterruptCleanup(
    () => peer.cleanup(),
    async () => {
      const seconds = {} as Record<Scenario, number>;
      for (const scenario of SCENARIOS) {
        throwIfInterrupted();
        const startedAt = performance.now();
        await peer.apply(scenario);
        seconds[scenario] = round((performance.now() - startedAt) / 1000);
        progress(`peers: ${peer.name.padEnd(21)} ${scenario.padEnd(17)} ${seconds[scenario].toFixed(3)} s`);
        await peer.afterTimed?.(scenario);
      }
      return { seconds, ratio_to_raw: { from_nothing: 0, no_change: 0, one_image_changed: 0 } };
    },
  );
}

interface PeerContext {
  readonly run: string;
  readonly dir: string;
  readonly services: readonly string[];
  readonly parallelism: number;
  readonly imageAfter: string;
}

function imageOf(context: PeerContext, scenario: Scenario, service: string): string {
  return scenario === 'one_image_changed' && service === context.services[0] ? context.imageAfter : BENCH_IMAGE;
}

/** The lower bound: the engine calls a tool cannot avoid, at Hostwright's parallelism. */
function rawPeer(context: PeerContext): Peer {
  const prefix = `${context.run}-raw`;
  const names = context.services.map((service) => `${prefix}-${service}`);
  const start = async (name: string, image: string) => {
    const container = await docker().createContainer({ name, Image: image, Cmd: [...BENCH_COMMAND] });
    await container.start();
  };
  return {
    name: 'raw_dockerode',
    prepare: async () => undefined,
    async apply(scenario) {
      if (scenario === 'from_nothing') {
        await runPool(names, context.parallelism, (name) => start(name, BENCH_IMAGE));
      } else if (scenario === 'no_change') {
        // Knowing there is nothing to do takes one list and a comparison.
        const listed = await docker().listContainers({ all: true, filters: { name: [prefix] } });
        if (listed.filter((c) => c.State === 'running').length !== names.length) throw new Error('raw: a container is not running');
      } else {
        const name = names[0] as string;
        // The same 1 s stop timeout the other peers are given (the command ignores SIGTERM, as many do).
        await docker().getContainer(name).stop({ t: 1 });
        await docker().getContainer(name).remove();
        await start(name, context.imageAfter);
      }
    },
    cleanup: () => removeContainersNamed(names),
  };
}

async function writeFleetFile(context: PeerContext, project: string, scenario: Scenario): Promise<string> {
  const services = context.services.map((service) => `  ${service}:\n    image: ${imageOf(context, scenario, service)}\n    command: [${BENCH_COMMAND.map((part) => JSON.stringify(part)).join(', ')}]\n    stop_timeout: 1s\n`);
  const path = join(context.dir, `${project}-${scenario}.yaml`);
  await writeFile(path, `project: ${project}\nservices:\n${services.join('')}`);
  return path;
}

/**
 * `hostwright apply --local -f fleet.yaml`, in this process: what the CLI command does after parsing
 * its options. `before` is the path as it was: both journal writes (fsync'd) even when nothing changed.
 */
async function localApply(host: LocalHost, file: string, before = false): Promise<void> {
  const fleet = await loadFleetFile(file);
  const { document, changed } = await desiredFromFleet(host, fleet, { hostId: host.hostId });
  if (changed || before) await host.journal.putDesired(document);
  if (before || (await host.journal.rejectedRevisions()).has(document.project)) await host.journal.setRejected({ project: document.project });
  const report = await host.reconciler.runCycle({ explicit: true });
  if (report.failed || report.blocks.length > 0 || !report.status?.projects.every((p) => p.converged)) throw new Error(`hostwright local: the apply did not converge (${report.results.filter((r) => r.outcome === 'failed').map((r) => r.message).join('; ')})`);
  if (!changed && report.results.length > 0) throw new Error(`hostwright local: an unchanged apply ran ${report.results.length} action(s)`);
}

/** Unchanged applies alternating between the path before and now; the median of each. */
async function localNoChangeBeforeAfter(host: LocalHost, file: string, rounds: number): Promise<{ before_ms: number; now_ms: number }> {
  const before: number[] = [];
  const now: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    for (const old of i % 2 === 0 ? [true, false] : [false, true]) {
      const startedAt = performance.now();
      await localApply(host, file, old);
      (old ? before : now).push(performance.now() - startedAt);
    }
  }
  return { before_ms: round(median(before), 1), now_ms: round(median(now), 1) };
}

function localPeer(context: PeerContext, onNoChange: (figures: { before_ms: number; now_ms: number }) => void): Peer {
  const project = `${context.run}-local`;
  const dataDir = join(context.dir, 'local');
  let host: LocalHost | undefined;
  return {
    name: 'hostwright_local',
    async prepare() {
      host = await openLocalHost({ dataDir, hostId: `${context.run}-local`, parallel: String(context.parallelism) }, pino({ level: 'silent' }));
      return undefined;
    },
    async apply(scenario) {
      if (!host) throw new Error('not prepared');
      await localApply(host, await writeFleetFile(context, project, scenario));
    },
    async afterTimed(scenario) {
      if (scenario !== 'no_change' || !host) return;
      onNoChange(await localNoChangeBeforeAfter(host, await writeFleetFile(context, project, scenario), NO_CHANGE_ROUNDS));
    },
    async cleanup() {
      await removeProjectContainers(project);
      await host?.close();
    },
  };
}

/** The same no-change apply as a `hostwright apply --local` process, to show what Node's start-up adds. */
async function timeLocalCliNoChange(context: PeerContext): Promise<number> {
  const project = `${context.run}-cli`;
  const dataDir = join(context.dir, 'cli');
  const cli = fileURLToPath(new URL('../cli/hostwright.js', import.meta.url));
  const args = ['apply', '--local', '--data-dir', dataDir, '--host-id', project, '--parallel', String(context.parallelism), '--json', '-f'];
  return withInterruptCleanup(
    async () => {
      await removeProjectContainers(project);
    },
    async () => {
      const file = await writeFleetFile(context, project, 'from_nothing');
      await exec(process.execPath, [cli, ...args, file], { maxBuffer: 64 * 1024 * 1024 });
      const startedAt = performance.now();
      await exec(process.execPath, [cli, ...args, file], { maxBuffer: 64 * 1024 * 1024 });
      const seconds = (performance.now() - startedAt) / 1000;
      progress(`peers: hostwright apply --local as a CLI process, no change: ${seconds.toFixed(3)} s`);
      return seconds;
    },
  );
}

/** One real agent (real Docker, its own journal) behind a real nats-server; the CLI's apply path, then wait for its status. */
function agentPeer(context: PeerContext): Peer {
  const project = `${context.run}-nats`;
  let fleet: InProcessFleet | undefined;
  return {
    name: 'hostwright_agent_nats',
    async prepare() {
      fleet = await startInProcessFleet(`${context.run}-n`, 1, context.parallelism);
      return undefined;
    },
    async apply(scenario) {
      if (!fleet) throw new Error('not prepared');
      const { client, hosts } = fleet;
      const file = await loadFleetFile(await writeFleetFile(context, project, scenario));
      const correlationID = client.newCorrelationID();
      const targets = fleetTargets(file, hosts, await client.desiredOf(project), correlationID);
      const plans = await collectPlans(client, targets, correlationID, 30_000);
      const written = await writeTargets(client, plans);
      // Nothing written: the host's plan had no changes, as `hostwright apply` reports "Already converged".
      if (written.length === 0) return;
      const revision = written[0]?.document.revision;
      const hostId = fleet.hostIds[0] as string;
      const watcher = await client.connection.status.watch({ key: hostId });
      for await (const entry of watcher) {
        if (entry.operation !== 'PUT') continue;
        const state = client.openStatus(entry.value, entry.key).value?.status.projects.find((p) => p.project === project);
        if (state !== undefined && state.appliedRevision === revision && state.converged) break;
      }
      watcher.stop();
    },
    async cleanup() {
      await fleet?.close(project);
    },
  };
}

async function hasCommand(command: string, args: readonly string[]): Promise<boolean> {
  try {
    await exec(command, [...args]);
    return true;
  } catch {
    return false;
  }
}

/** One compose/stack file for both peers (format 3 is what `docker stack deploy` reads). */
async function writeComposeFile(context: PeerContext, name: string, scenario: Scenario): Promise<string> {
  const services = context.services.map((service) => `  ${service}:\n    image: ${imageOf(context, scenario, service)}\n    command: [${BENCH_COMMAND.map((part) => JSON.stringify(part)).join(', ')}]\n    stop_grace_period: 1s\n`);
  const path = join(context.dir, `${name}-${scenario}.yml`);
  await writeFile(path, `version: "3.7"\nservices:\n${services.join('')}`);
  return path;
}

function composePeer(context: PeerContext): Peer {
  const project = `${context.run}-compose`.replace(/[^a-z0-9]/g, '');
  return {
    name: 'docker_compose',
    async prepare() {
      if (await hasCommand('docker-compose', ['version'])) return undefined;
      progress('peers: docker-compose is missing; installing the Debian package (apt-get install docker-compose)');
      try {
        await exec('apt-get', ['install', '-y', '-qq', 'docker-compose'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 });
      } catch (error) {
        return `docker-compose is not installed and apt-get install docker-compose failed: ${(error as Error).message.split('\n')[0] ?? ''}`;
      }
      return (await hasCommand('docker-compose', ['version'])) ? undefined : 'docker-compose is not installed and could not be installed';
    },
    async apply(scenario) {
      await exec('docker-compose', ['-p', project, '-f', await writeComposeFile(context, project, scenario), 'up', '-d'], { maxBuffer: 64 * 1024 * 1024 });
    },
    async cleanup() {
      const file = await writeComposeFile(context, project, 'from_nothing');
      await exec('docker-compose', ['-p', project, '-f', file, 'down', '-t', '1'], { maxBuffer: 64 * 1024 * 1024 }).catch((error: unknown) => progress(`peers: docker-compose down failed: ${(error as Error).message}`));
    },
  };
}

/** A stack of N single-replica services on this engine; the swarm is initialised on loopback (and left) only if it was not one. */
function swarmPeer(context: PeerContext): Peer {
  const stack = `${context.run}-swarm`;
  let initiated = false;
  const tasksConverged = async (scenario: Scenario): Promise<boolean> => {
    const services = await docker().listServices({ filters: { label: [`com.docker.stack.namespace=${stack}`] } });
    if (services.length !== context.services.length) return false;
    const tasks = await docker().listTasks({ filters: { 'desired-state': ['running'] } });
    return services.every((service) => {
      const name = (service.Spec?.Name ?? '').slice(stack.length + 1);
      const wanted = imageOf(context, scenario, name);
      return tasks.some((task) => task.ServiceID === service.ID && task.Status?.State === 'running' && (task.Spec?.ContainerSpec?.Image ?? '').split('@')[0] === wanted);
    });
  };
  return {
    name: 'docker_swarm',
    async prepare() {
      const info = (await docker().info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
      const state = info.Swarm?.LocalNodeState ?? 'inactive';
      if (state === 'active') return info.Swarm?.ControlAvailable ? undefined : 'the engine is a swarm worker, not a manager';
      if (state !== 'inactive') return `the engine's swarm state is "${state}"`;
      try {
        await exec('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
        initiated = true;
        progress('peers: initialised a single-node swarm on 127.0.0.1 (left again afterwards)');
        return undefined;
      } catch (error) {
        return `docker swarm init failed: ${(error as Error).message.split('\n')[0] ?? ''}`;
      }
    },
    async apply(scenario) {
      const file = await writeComposeFile(context, stack, scenario);
      await exec('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', file, stack], { maxBuffer: 64 * 1024 * 1024 });
      await until(() => tasksConverged(scenario), 600_000, `swarm stack ${stack} to run every service`);
    },
    async cleanup() {
      await exec('docker', ['stack', 'rm', stack]).catch((error: unknown) => progress(`peers: docker stack rm failed: ${(error as Error).message}`));
      // Stack removal is asynchronous: wait for its containers and network to go before leaving the swarm.
      await until(async () => (await docker().listContainers({ all: true, filters: { label: [`com.docker.stack.namespace=${stack}`] } })).length === 0, 120_000, 'the stack containers to be removed').catch(() => undefined);
      await until(async () => (await docker().listNetworks({ filters: { label: [`com.docker.stack.namespace=${stack}`] } })).length === 0, 60_000, 'the stack network to be removed').catch(() => undefined);
      if (initiated) await exec('docker', ['swarm', 'leave', '--force']).catch((error: unknown) => progress(`peers: docker swarm leave failed: ${(error as Error).message}`));
    },
  };
}

export function peersRows(result: PeersResult): [string, string][] {
  const rows: [string, string][] = [
    ['containers / parallelism (raw and Hostwright)', `${result.containers} / ${result.parallelism}`],
    ['peer: from nothing | no change | one image changed', 'seconds (ratio to raw)'],
  ];
  for (const name of PEERS) {
    const figures = result.peers[name];
    if ('skipped' in figures) {
      rows.push([`  ${name}`, `skipped: ${figures.skipped}`]);
      continue;
    }
    rows.push([`  ${name}`, SCENARIOS.map((s) => `${figures.seconds[s].toFixed(3)} (${figures.ratio_to_raw[s].toFixed(2)}x)`).join(' | ')]);
  }
  rows.push([`hostwright local no change, median of ${NO_CHANGE_ROUNDS}: before / now`, `${result.hostwright_local_no_change_ms.before_ms} ms / ${result.hostwright_local_no_change_ms.now_ms} ms`]);
  rows.push(['hostwright apply --local as a CLI process, no change', `${result.hostwright_local_cli_no_change_s.toFixed(3)} s`]);
  return rows;
}
