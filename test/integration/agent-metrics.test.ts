import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { runFleetAgent } from '../../agent/fleet/fleet-agent.js';
import { JOURNAL_LEVEL_OPTIONS } from '../../agent/store/journal.js';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { uniqueName } from '../lib/builders.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';
import { testSigner } from '../lib/signing.js';

// The agent's /metrics and /healthz, served while it runs against a real nats-server and Docker.
describe('agent metrics endpoint', () => {
  let nats: NatsServerHandle | undefined;
  let dataDir: string | undefined;
  after(async () => {
    await nats?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves Prometheus metrics for cycles, actions, drift, outbox and NATS, and a health check', async () => {
    nats = await startNatsServer();
    // The coordinator creates the buckets and the stream; an agent only binds to them.
    await (await FleetClient.connect(nats.url, pino({ level: 'silent' }))).close();
    dataDir = await mkdtemp(join(tmpdir(), 'hw-metrics-'));
    const port = await freePort();
    const abort = new AbortController();
    const hostId = uniqueName('hm');
    const agent = runFleetAgent({ hostId, labels: {}, natsUrl: nats.url, trust: { kind: 'pinned', coordinatorKey: testSigner().publicKey }, dataDir, namePrefix: `${hostId}-`, parallelism: 2, resyncMs: 1_000, heartbeatMs: 1_000, metricsAddr: `127.0.0.1:${port}`, logger: pino({ level: 'silent' }), signal: abort.signal });
    try {
      const metrics = await waitFor('a cycle counted and NATS connected', async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /hostwright_cycles_total\{result="ok"\} [1-9]/.test(text) && /hostwright_nats_connected 1/.test(text) ? text : undefined;
      });
      for (const name of ['hostwright_cycle_duration_seconds_bucket', 'hostwright_outbox_depth', 'hostwright_drift_instances{kind="missing"}']) assert.ok(metrics.includes(name), name);
      // LevelDB's own memory estimate, read at the scrape: a memtable at least, and within the journal's block cache and write buffers.
      const journalMemory = Number(/^hostwright_journal_memory_bytes (\d+)$/m.exec(metrics)?.[1] ?? Number.NaN);
      assert.ok(journalMemory > 0 && journalMemory <= JOURNAL_LEVEL_OPTIONS.cacheSize + 2 * JOURNAL_LEVEL_OPTIONS.writeBufferSize, `hostwright_journal_memory_bytes ${journalMemory}`);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      const body = (await health.json()) as { ok: boolean; lastCycleAt: string | null };
      assert.equal(body.ok, true);
      assert.ok(body.lastCycleAt);
      assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
    } finally {
      abort.abort();
      await agent;
    }
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'the endpoint closes with the agent');
  });
  it('stops cleanly when told to stop while still starting (before NATS answered)', { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-early-stop-'));
    const abort = new AbortController();
    const hostId = uniqueName('hs');
    try {
      // A port nothing listens on: the agent is still trying to connect when the stop comes.
      const agent = runFleetAgent({ hostId, labels: {}, natsUrl: `nats://127.0.0.1:${await freePort()}`, trust: { kind: 'unsigned-allowed' }, dataDir: dir, namePrefix: `${hostId}-`, parallelism: 1, resyncMs: 60_000, heartbeatMs: 1_000, metricsAddr: undefined, logger: pino({ level: 'silent' }), signal: abort.signal });
      abort.abort();
      const started = Date.now();
      await agent;
      assert.ok(Date.now() - started < 15_000, 'the stop did not wait for NATS');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
