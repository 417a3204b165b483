import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamClient } from '@nats-io/jetstream';
import { pino } from 'pino';
import { OutboxPublisher } from '../../agent/fleet/outbox-publisher.js';
import { Journal } from '../../agent/store/journal.js';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { EVENTS_STREAM } from '../../shared/subjects.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

function event(message: string) {
  return { id: randomUUID(), type: 'applied' as const, severity: 'info' as const, hostId: 'h1', project: 'p', message, timestamp: new Date().toISOString(), correlationID: randomUUID() };
}

// The outbox publisher (real nats-server, real LevelDB journal).
describe('outbox publisher', () => {
  let server: NatsServerHandle;
  let client: FleetClient;
  let dir: string;
  before(async () => {
    server = await startNatsServer();
    client = await FleetClient.connect(server.url, pino({ level: 'silent' }));
    dir = await mkdtemp(join(tmpdir(), 'hw-outbox-pub-'));
  });
  after(async () => {
    await client?.close().catch(() => undefined);
    await server?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes an event written while a flush runs within 250 ms, not at its 5 s idle wake-up', async () => {
    const journal = await Journal.open(dir);
    const stop = new AbortController();
    const first = event('first');
    const during = event('written while the first was being published');
    const { js } = client.connection;
    // The real JetStream client; the first publish writes the second event before it returns, as a
    // reconcile cycle does when its next result lands while the publisher waits for an ack.
    const publishing: Pick<JetStreamClient, 'publish'> = {
      publish: async (...args: Parameters<JetStreamClient['publish']>) => {
        const ack = await js.publish(...args);
        if (args[2]?.msgID === first.id) await journal.appendEvents([during]);
        return ack;
      },
    };
    const publisher = new OutboxPublisher(publishing as JetStreamClient, journal, pino({ level: 'silent' }));
    const running = publisher.run(stop.signal);
    try {
      const streamed = async () => (await client.connection.jsm.streams.info(EVENTS_STREAM)).state.messages;
      const before = await streamed();
      const writtenAt = Date.now();
      await journal.appendEvents([first]);
      await waitFor('both events in the stream', async () => (await streamed()) >= before + 2, 10_000, 20);
      const tookMs = Date.now() - writtenAt;
      assert.ok(tookMs < 1_500, `both events reached the stream after ${tookMs} ms`);
      // The stream holds a message a moment before its acknowledgement reaches the publisher.
      await waitFor('the publisher to have both acknowledged', async () => publisher.published === 2 && (await journal.outboxDepth()) === 0, 2_000, 20);
    } finally {
      stop.abort();
      await running;
      await journal.close();
    }
  });
});
