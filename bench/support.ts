import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { pino } from 'pino';
import { Reconciler } from '../agent/reconciler.js';
import { DockerRuntime } from '../agent/runtime/docker-runtime.js';
import { Journal } from '../agent/store/journal.js';
import { serviceSpecSchema, type ServiceSpec } from '../shared/fleet-spec.js';
import { hostDesiredSchema, type HostDesired } from '../shared/host-desired.js';
import { LABELS } from '../shared/labels.js';

/** Built by deploy/build-test-image.sh; benchmarks never pull. */
export const BENCH_IMAGE = 'hw/busybox:test';
export const BENCH_COMMAND: readonly string[] = ['sleep', '3600'];

/** One engine connection shared by the raw baseline and Hostwright, so both pay the same transport. */
let sharedDocker: Docker | undefined;
export function docker(): Docker {
  sharedDocker ??= new Docker();
  return sharedDocker;
}

/** Names unique per run: the engine outlives benchmark runs and may hold leftovers. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Progress goes to stderr so that stdout carries only the figures (or the one JSON object). */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function benchService(fields: Partial<Record<keyof ServiceSpec, unknown>> = {}): ServiceSpec {
  return serviceSpecSchema.parse({ image: BENCH_IMAGE, command: [...BENCH_COMMAND], stop_timeout: '1s', ...fields });
}

export function benchDesired(hostId: string, project: string, services: Record<string, ServiceSpec>): HostDesired {
  return hostDesiredSchema.parse({ hostId, project, revision: 1, services });
}

/** Aborted on SIGINT/SIGTERM: pools stop taking work, reconcile cycles stop starting actions. */
const interruption = new AbortController();
export const interrupted: AbortSignal = interruption.signal;

/** Thrown once a benchmark has stopped (and cleaned up) after SIGINT/SIGTERM. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/**
 * Runs `worker` over `items` with at most `limit` running at once (a pool of lanes, like the
 * reconciler's). After an interrupt no lane takes a new item (items in flight finish), unless
 * `untilDone` is set: cleanup must run to the end.
 */
export async function runPool<T>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<void>, untilDone = false): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && (untilDone || !interrupted.aborted)) {
      const index = next;
      next += 1;
      await worker(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
}

let interruptHandlerInstalled = false;

/**
 * Runs `body`, then `cleanup` whatever happened. On SIGINT/SIGTERM the work in flight is allowed to
 * finish (nothing new starts), so the cleanup that follows sees every container that was made.
 */
export async function withInterruptCleanup<T>(cleanup: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  installInterruptHandler();
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await body() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  try {
    await cleanup();
  } catch (cleanupError) {
    // Both matter: report the cleanup failure, and keep the benchmark's own error when there was one.
    if (outcome.ok) throw cleanupError;
    process.stderr.write(`bench: cleanup failed too (containers may be left; they are named hwbench-*): ${(cleanupError as Error).message}\n`);
  }
  if (interrupted.aborted) throw new InterruptedError('interrupted', outcome.ok ? {} : { cause: outcome.error });
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** Throws InterruptedError once a signal arrived (between measured steps). */
export function throwIfInterrupted(): void {
  if (interrupted.aborted) throw new InterruptedError('interrupted');
}

/** First SIGINT/SIGTERM: stop starting work and clean up; a second one exits at once. */
export function installInterruptHandler(): void {
  if (interruptHandlerInstalled) return;
  interruptHandlerInstalled = true;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruption.signal.aborted) process.exit(130);
    progress(`${signal}: finishing the calls in flight, then removing benchmark containers (signal again to exit at once)`);
    interruption.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Force-removes every container of a Hostwright project (by its project label); returns how many. */
export async function removeProjectContainers(project: string): Promise<number> {
  return whenEngineReachable(`removing containers of ${project}`, async () => {
    const containers = await docker().listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } });
    await runPool(
      containers,
      8,
      async (container) => {
        await docker().getContainer(container.Id).remove({ force: true }).catch(ignoreNotFound);
      },
      true,
    );
    // Then the project's network and volumes (a network goes only once its containers are gone).
    const networks = await docker().listNetworks({ filters: { label: [`${LABELS.project}=${project}`] } });
    await Promise.all(networks.map((network) => docker().getNetwork(network.Id).remove().catch(ignoreNotFound)));
    const volumes = (await docker().listVolumes({ filters: { label: [`${LABELS.project}=${project}`] } })).Volumes ?? [];
    await Promise.all(volumes.map((volume) => docker().getVolume(volume.Name).remove().catch(ignoreNotFound)));
    return containers.length;
  });
}

/** Removes a network by name; one never created is fine. */
export async function removeNetworkNamed(name: string): Promise<void> {
  await whenEngineReachable(`removing benchmark network ${name}`, () => docker().getNetwork(name).remove().catch(ignoreNotFound));
}

/** Force-removes containers by name; names never created are fine. */
export async function removeContainersNamed(names: readonly string[]): Promise<void> {
  await whenEngineReachable(`removing ${names.length} benchmark container(s)`, () =>
    runPool(
      names,
      8,
      async (name) => {
        await docker().getContainer(name).remove({ force: true }).catch(ignoreNotFound);
      },
      true,
    ),
  );
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE']);

/**
 * Cleanup must survive an engine restart (the engine is shared): when the socket is refused or
 * reset, wait and retry for up to a minute, then give up loudly.
 */
async function whenEngineReachable<T>(what: string, body: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await body();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === undefined || !CONNECTION_ERRORS.has(code) || attempt >= 30) throw error;
      if (attempt === 1) progress(`${what}: the engine is unreachable (${code}); retrying for up to a minute`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

function ignoreNotFound(error: unknown): void {
  if ((error as { statusCode?: number }).statusCode === 404) return;
  // 409 "removal already in progress" means another remove is finishing the job.
  if ((error as { statusCode?: number }).statusCode === 409) return;
  throw error;
}

export interface HostwrightHarness {
  readonly dataDir: string;
  readonly journal: Journal;
  readonly runtime: DockerRuntime;
  readonly reconciler: Reconciler;
  /** A new reconciler over the same journal and runtime (an agent restart: empty inspect cache). */
  freshReconciler(): Reconciler;
  close(): Promise<void>;
}

/** A real journal in a fresh temp dir and a reconciler over the local engine, logging nothing. */
export async function openHostwright(hostId: string, parallelism: number): Promise<HostwrightHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hw-bench-'));
  let journal: Journal;
  try {
    journal = await Journal.open(dataDir);
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const runtime = new DockerRuntime({ docker: docker() });
  const logger = pino({ level: 'silent' });
  const make = () => new Reconciler({ runtime, journal, hostId, logger, parallelism });
  return {
    dataDir,
    journal,
    runtime,
    reconciler: make(),
    freshReconciler: make,
    async close(): Promise<void> {
      await journal.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Fails loudly when the engine is unreachable or the test image is missing (never pulls). */
export async function checkEngine(): Promise<void> {
  try {
    await docker().ping();
  } catch (error) {
    throw new Error(`cannot reach the Docker engine (${(error as Error).message}); is it running and is DOCKER_HOST right?`);
  }
  try {
    await docker().getImage(BENCH_IMAGE).inspect();
  } catch {
    throw new Error(`image ${BENCH_IMAGE} is not present locally; build it with deploy/build-test-image.sh (benchmarks never pull)`);
  }
}

/**
 * Runs `body` on a fresh Hostwright host whose desired state is one service of `replicas`
 * instances; the project's containers and the data dir are removed afterwards, also on Ctrl-C.
 */
export async function withBenchHost<T>(projectPrefix: string, parallelism: number, replicas: number, body: (harness: HostwrightHarness) => Promise<T>): Promise<T> {
  const hostId = uniqueName('bench');
  const project = uniqueName(projectPrefix);
  let opened: HostwrightHarness | undefined;
  return withInterruptCleanup(
    async () => {
      try {
        await removeProjectContainers(project);
      } finally {
        await opened?.close();
      }
    },
    async () => {
      const harness = await openHostwright(hostId, parallelism);
      opened = harness;
      await harness.journal.putDesired(benchDesired(hostId, project, { app: benchService({ replicas }) }));
      return body(harness);
    },
  );
}
