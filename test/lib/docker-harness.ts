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

export async function removeProject(project: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

export async function removeContainerNamed(name: string): Promise<void> {
  await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
}
