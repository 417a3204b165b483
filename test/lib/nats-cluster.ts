/**
 * Test harness for a REAL 3-node nats-server JetStream cluster on 127.0.0.1: each node has its own
 * free client, route and monitor ports and temp store dir (see nats-server.ts). The nodes start
 * together, since a clustered node is healthy only once a quorum elected a meta leader.
 */
import { waitFor } from './wait.js';
import { freePort, startNatsServer, type NatsServerHandle } from './nats-server.js';

export interface NatsClusterHandle {
  readonly nodes: readonly NatsServerHandle[];
  /** Every node's client URL, comma-separated, as the agent and the CLI take it. */
  readonly urls: string;
  /** Waits until every running node knows the JetStream meta leader (after start or a node's restart). */
  waitMetaLeader(timeoutMs?: number): Promise<void>;
  /**
   * Until every node's /healthz says its JetStream streams and consumers are current: what an
   * operator waits for after restarting a node, before touching the next (a stream whose restarted
   * replica is still catching up has no quorum to spare).
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the temp dirs. */
  cleanup(): Promise<void>;
}

export async function startNatsCluster(size = 3, clusterName = 'hw-test'): Promise<NatsClusterHandle> {
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  while (clientPorts.length < size) {
    const port = await freePort();
    if (!clientPorts.includes(port) && !routePorts.includes(port)) clientPorts.push(port);
  }
  while (routePorts.length < size) {
    const port = await freePort();
    if (!clientPorts.includes(port) && !routePorts.includes(port)) routePorts.push(port);
  }
  const routes = routePorts.map((port) => `nats-route://127.0.0.1:${port}`).join(', ');
  const settled = await Promise.allSettled(
    clientPorts.map((port, index) =>
      startNatsServer({ port, config: [`cluster {`, `  name: ${clusterName}`, `  listen: 127.0.0.1:${routePorts[index]}`, `  routes: [${routes}]`, `}`].join('\n') }),
    ),
  );
  const nodes = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure) {
    await Promise.all(nodes.map((node) => node.cleanup()));
    throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
  }
  const waitMetaLeader = async (timeoutMs = 30_000): Promise<void> => {
    await waitFor(
      'JetStream meta leader known to every node',
      async () => {
        const leaders = await Promise.all(nodes.map(async (node) => metaLeader(node)));
        return leaders.every((leader) => leader !== undefined);
      },
      timeoutMs,
      200,
    );
  };
  const waitHealthy = async (timeoutMs = 60_000): Promise<void> => {
    await waitFor('every node reports its JetStream assets current (/healthz)', async () => (await Promise.all(nodes.map(healthy))).every(Boolean), timeoutMs, 250);
  };
  await waitMetaLeader();
  return {
    nodes,
    waitMetaLeader,
    waitHealthy,
    urls: nodes.map((node) => node.url).join(','),
    cleanup: async () => {
      await Promise.all(nodes.map((node) => node.cleanup()));
    },
  };
}

async function metaLeader(node: NatsServerHandle): Promise<string | undefined> {
  const response = await fetch(`${node.monitorUrl}/jsz`, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) return undefined;
  const jsz = (await response.json()) as { meta_cluster?: { leader?: string } };
  return jsz.meta_cluster?.leader || undefined;
}

async function healthy(node: NatsServerHandle): Promise<boolean> {
  const response = await fetch(`${node.monitorUrl}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  return response?.ok === true;
}
