import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { runFleetAgent } from '../agent/fleet/fleet-agent.js';
import { FleetClient } from '../coordinator/fleet-client.js';
import type { HostInfo } from '../coordinator/placement.js';
import { startNatsServer } from '../test/lib/nats-server.js';
import { testSigner } from '../test/lib/signing.js';
import type { DesiredSigner } from '../coordinator/signing-key.js';
import { removeProjectContainers } from './support.js';

export interface InProcessFleet {
  readonly client: FleetClient;
  readonly hostIds: readonly string[];
  readonly hosts: readonly HostInfo[];
  /** The coordinator key the agents pin (its seed signs what a `hostwright` process writes to them). */
  readonly signer: DesiredSigner;
  /** The nats-server's URL. */
  readonly natsUrl: string;
  /** Stops the agents and the server, removes the project's containers and the data dirs. */
  close(project: string): Promise<void>;
}

/** A real nats-server and `count` real agents (pinning a fresh coordinator key the client signs with) in this process (own journal and name prefix each), registered. */
export async function startInProcessFleet(run: string, count: number, parallelism = 4): Promise<InProcessFleet> {
  const nats = await startNatsServer();
  const abort = new AbortController();
  const dirs: string[] = [];
  const agents: Promise<void>[] = [];
  const hostIds = Array.from({ length: count }, (_, i) => `${run}-h${i + 1}`);
  let client: FleetClient | undefined;
  const signer = testSigner();
  const close = async (project: string) => {
    abort.abort();
    await Promise.allSettled(agents);
    await client?.close().catch(() => undefined);
    await removeProjectContainers(project);
    await nats.cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  };
  try {
    // The coordinator creates the buckets and the stream first; agents only bind to them.
    const connected = await FleetClient.connect(nats.url, pino({ level: 'silent' }), {}, signer);
    client = connected;
    for (const hostId of hostIds) {
      const dataDir = await mkdtemp(join(tmpdir(), 'hw-bench-fleet-'));
      dirs.push(dataDir);
      agents.push(runFleetAgent({ hostId, labels: {}, natsUrl: nats.url, trust: { kind: 'pinned', coordinatorKey: signer.publicKey }, dataDir, namePrefix: `${hostId}-`, parallelism, resyncMs: 60_000, heartbeatMs: 1_000, metricsAddr: undefined, logger: pino({ level: 'silent' }), signal: abort.signal }));
    }
    await until(async () => (await connected.hosts()).filter((h) => hostIds.includes(h.hostId)).length === count, 30_000, 'agents to register');
    const hosts = (await connected.hosts()).filter((h) => hostIds.includes(h.hostId)).map((h) => ({ hostId: h.hostId, labels: h.labels }));
    return { client: connected, hostIds, hosts, signer, natsUrl: nats.url, close };
  } catch (error) {
    await close(run);
    throw error;
  }
}

export async function until(check: () => Promise<boolean | undefined>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
