import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { setMaxListeners } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { z } from 'zod';
import { runFleetAgent } from '../agent/fleet/fleet-agent.js';
import { HollowRuntime, hollowLatency } from './hollow-runtime.js';

/** What the scale benchmark passes to one worker process (argv[2], JSON). */
export const hollowWorkerSchema = z.object({
  natsUrl: z.string(),
  /** The public key the agents pin; the benchmark's coordinator signs with its seed. */
  coordinatorKey: z.string(),
  hostIds: z.array(z.string()),
  images: z.array(z.string()),
  mutationMs: z.number().nonnegative(),
  heartbeatMs: z.number().positive(),
  resyncMs: z.number().positive(),
});
export type HollowWorker = z.infer<typeof hollowWorkerSchema>;

/**
 * A worker process of hollow agents: the real fleet agent (journal in LevelDB, NATS, loop,
 * outbox) once per host id, each over its own in-memory runtime. Prints "ready" once every agent
 * started; SIGTERM stops them all and removes their data dirs.
 */
async function runWorker(worker: HollowWorker): Promise<void> {
  const abort = new AbortController();
  // Every agent listens on the one stop signal.
  setMaxListeners(0, abort.signal);
  process.once('SIGTERM', () => abort.abort());
  process.once('SIGINT', () => abort.abort());
  const root = await mkdtemp(join(tmpdir(), 'hw-bench-hollow-'));
  const logger = pino({ level: 'silent' });
  let ready = 0;
  const agents = worker.hostIds.map(async (hostId, index) => {
    const dataDir = join(root, String(index));
    await mkdir(dataDir);
    return runFleetAgent({
      hostId,
      labels: { hollow: 'true' },
      natsUrl: worker.natsUrl,
      trust: { kind: 'pinned', coordinatorKey: worker.coordinatorKey },
      dataDir,
      namePrefix: `${hostId}-`,
      parallelism: 4,
      resyncMs: worker.resyncMs,
      heartbeatMs: worker.heartbeatMs,
      metricsAddr: undefined,
      logger,
      signal: abort.signal,
      runtime: new HollowRuntime(hollowLatency(worker.mutationMs), worker.images),
      onReady: () => {
        ready += 1;
        if (ready === worker.hostIds.length) process.stdout.write('ready\n');
      },
    });
  });
  const results = await Promise.allSettled(agents);
  await rm(root, { recursive: true, force: true });
  const failed = results.filter((result) => result.status === 'rejected');
  if (failed.length > 0) {
    process.stderr.write(`hollow worker: ${failed.length} agent(s) failed: ${String((failed[0] as PromiseRejectedResult).reason)}\n`);
    process.exitCode = 1;
  }
}

await runWorker(hollowWorkerSchema.parse(JSON.parse(process.argv[2] ?? '{}')));
