import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { FleetReportWatch } from '../../coordinator/report-watch.js';
import { encode } from '../../shared/codec.js';
import type { HostRegistration, StatusReport } from '../../shared/wire.js';
import { uniqueName } from '../lib/builders.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

function statusOf(hostId: string, desiredRevision: number): StatusReport {
  const at = new Date().toISOString();
  return { hostId, reportedAt: at, agentVersion: '0.0.0', outboxDepth: 0, status: { hostId, observedAt: at, projects: [{ project: 'shop', desiredRevision, converged: false, pendingActions: 1, instances: [], blocked: [], unowned: [] }] } };
}

function registrationOf(hostId: string, heartbeatAt: string): HostRegistration {
  return { hostId, labels: {}, agentVersion: '0.0.0', startedAt: heartbeatAt, heartbeatAt };
}

// A real nats-server: the watch sees the status and hosts buckets as the agents write them.
describe('FleetReportWatch: waits follow the status and hosts buckets by KV watch', () => {
  let server: NatsServerHandle;
  let client: FleetClient;
  const h1 = uniqueName('h1');
  const h2 = uniqueName('h2');

  before(async () => {
    server = await startNatsServer();
    client = await FleetClient.connect(server.url, pino({ level: 'silent' }));
  });
  after(async () => {
    await client?.close();
    await server?.cleanup();
  });

  it('reads what the buckets hold when it opens, then each change as it comes, without waiting for its fallback read', { timeout: 30_000 }, async () => {
    await client.connection.status.put(h1, encode(statusOf(h1, 1)));
    await client.connection.hosts.put(h1, encode(registrationOf(h1, '2026-01-01T00:00:00.000Z')));
    const watch = await FleetReportWatch.open(client);
    try {
      assert.equal(watch.statusOf(h1)?.value?.status.projects[0]?.desiredRevision, 1);
      assert.deepEqual(watch.heartbeatOf(h1), { heartbeatAt: '2026-01-01T00:00:00.000Z' });
      assert.equal(watch.statusOf(h2), undefined);

      // A wait of a minute that a change ends: the test's timeout (30 s) fails it if only a timer woke it.
      const woken = watch.next(60_000);
      await client.connection.status.put(h2, encode(statusOf(h2, 7)));
      await woken;
      for (let i = 0; i < 20 && watch.statusOf(h2) === undefined; i += 1) await watch.next(60_000);
      assert.equal(watch.statusOf(h2)?.value?.status.projects[0]?.desiredRevision, 7);
      assert.deepEqual(watch.statusReports().map((report) => report.hostId).sort(), [h1, h2].sort());

      const beat = watch.next(60_000);
      await client.connection.hosts.put(h1, encode({ ...registrationOf(h1, '2026-01-01T00:00:05.000Z'), heartbeatMs: 20_000 }));
      await beat;
      assert.deepEqual(watch.heartbeatOf(h1), { heartbeatAt: '2026-01-01T00:00:05.000Z', heartbeatMs: 20_000 }, 'the period the host announced, which its staleness follows');

      // A deleted status is gone from the watch too.
      const gone = watch.next(60_000);
      await client.connection.status.delete(h2);
      await gone;
      assert.equal(watch.statusOf(h2), undefined);
    } finally {
      watch.stop();
    }
  });

  it('wakes after maxMs without a change, and at once when its signal aborts', { timeout: 30_000 }, async () => {
    const watch = await FleetReportWatch.open(client);
    try {
      const before = watch.statusReports().length;
      await watch.next(50);
      assert.equal(watch.statusReports().length, before, 'nothing changed');
      const abort = new AbortController();
      const waiting = watch.next(60_000, abort.signal);
      abort.abort();
      await waiting;
    } finally {
      watch.stop();
    }
  });
});
