// One fleet agent for the soak (bench/soak.ts), in its own process so that the soak can SIGKILL it: the
// real agent over real NATS, Docker and LevelDB, with the retention rules compressed as the soak asks.
// Prints one JSON line per retention pass, and one with its memory figures every memoryEveryMs, on
// stdout; SIGTERM stops it as an agent stops.
import { pino } from 'pino';
import { runFleetAgent } from '../agent/fleet/fleet-agent.js';
import type { RetentionPolicy } from '../agent/store/retention.js';

export interface SoakAgentConfig {
  readonly hostId: string;
  readonly natsUrl: string;
  readonly coordinatorKey: string;
  readonly dataDir: string;
  readonly policy: RetentionPolicy;
  readonly retentionIntervalMs: number;
  readonly memoryEveryMs: number;
}

/** process.memoryUsage() in bytes: the V8 heap (total committed, used), memory V8 objects hold outside it, RSS. */
export interface SoakAgentMemory {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

const text = process.argv[2];
if (text === undefined) throw new Error('usage: soak-agent <config JSON>');
const config = JSON.parse(text) as SoakAgentConfig;
const abort = new AbortController();
process.on('SIGTERM', () => abort.abort());
process.on('SIGINT', () => abort.abort());
setInterval(() => {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  const memory: SoakAgentMemory = { rss, heapTotal, heapUsed, external, arrayBuffers };
  process.stdout.write(`${JSON.stringify({ memory })}\n`);
}, config.memoryEveryMs).unref();
await runFleetAgent({
  hostId: config.hostId,
  labels: {},
  natsUrl: config.natsUrl,
  trust: { kind: 'pinned', coordinatorKey: config.coordinatorKey },
  dataDir: config.dataDir,
  namePrefix: `${config.hostId}-`,
  parallelism: 4,
  resyncMs: 30_000,
  heartbeatMs: 1_000,
  metricsAddr: undefined,
  logger: pino({ level: process.env.HW_SOAK_LOG ?? 'warn' }, pino.destination(2)),
  signal: abort.signal,
  retention: { policy: config.policy, intervalMs: config.retentionIntervalMs, onPass: (report, levelMemoryBytes) => process.stdout.write(`${JSON.stringify({ pass: report, levelMemoryBytes })}\n`) },
});
