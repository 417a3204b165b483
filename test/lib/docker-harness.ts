import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { pino } from 'pino';
import { LABELS } from '../../shared/labels.js';
import { Reconciler, type ReconcilerOptions } from '../../agent/reconciler.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import { Journal } from '../../agent/store/journal.js';
import { LOCAL_HOST_POLICY } from '../../agent/core/host-policy.js';
import { uniqueName } from './builders.js';

export const docker = new Docker();

/**
 * A real journal in a fresh temp dir and a reconciler over the real Docker engine, as a host
 * whose id starts with `name` and is unique per run (the engine is shared with other agents), or
 * the host id given in options (the same host opened again). Its host policy is local mode's
 * (everything allowed) unless options give one.
 */
export async function openHarness(name: string, options: Partial<ReconcilerOptions> = {}) {
  const hostId = options.hostId ?? uniqueName(name);
  const dataDir = await mkdtemp(join(tmpdir(), 'hw-test-'));
  const journal = await Journal.open(dataDir);
  const runtime = new DockerRuntime({ docker });
  const logger = pino({ level: process.env.HW_TEST_LOG ?? 'silent' });
  const reconciler = new Reconciler({ runtime, journal, logger, policy: LOCAL_HOST_POLICY, ...options, hostId });
  return {
    hostId,
    dataDir,
    journal,
    runtime,
    reconciler,
    async reopen(): Promise<Reconciler> {
      return new Reconciler({ runtime, journal, logger, policy: LOCAL_HOST_POLICY, ...options, hostId });
    },
    async close(): Promise<void> {
      await journal.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Containers of one project on the engine, whoever made them. */
export async function projectContainers(project: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } });
}

/** Removes a project's containers, then its networks and volumes, whoever made them. */
export async function removeProject(project: string): Promise<void> {
  await removeLabelled(`${LABELS.project}=${project}`);
}

/** Removes what one host's agent made on the engine: its containers, then its networks and volumes. */
export async function removeHostObjects(hostId: string, engine: Docker = docker): Promise<void> {
  await removeLabelled(`${LABELS.host}=${hostId}`, engine);
}

async function removeLabelled(label: string, engine: Docker = docker): Promise<void> {
  const filters = { label: [label] };
  const containers = await engine.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => engine.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  const networks = await engine.listNetworks({ filters });
  await Promise.all(networks.map((n) => engine.getNetwork(n.Id).remove().catch(() => undefined)));
  const volumes = (await engine.listVolumes({ filters })).Volumes ?? [];
  await Promise.all(volumes.map((v) => engine.getVolume(v.Name).remove().catch(() => undefined)));
}

/** Networks and volumes of one project on the engine, by name. */
export async function projectResources(project: string): Promise<{ networks: string[]; volumes: string[] }> {
  const filters = { label: [`${LABELS.project}=${project}`] };
  const networks = (await docker.listNetworks({ filters })).map((n) => n.Name).sort();
  const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name).sort();
  return { networks, volumes };
}

export async function removeContainerNamed(name: string): Promise<void> {
  await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
}
