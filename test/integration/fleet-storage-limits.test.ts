import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { FleetStorageTamperedError, InvalidInputError } from '../../shared/errors.js';
import { connectFleet, setupFleet } from '../../shared/nats-connection.js';
import { DEFAULT_STORAGE_LIMITS, parseStorageLimits } from '../../shared/stream-replicas.js';
import { BUCKETS, EVENTS_STREAM, eventSubject } from '../../shared/subjects.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

const logger = pino({ level: 'silent' });
const MIB = 2 ** 20;
const STREAMS = { events: EVENTS_STREAM, desired: `KV_${BUCKETS.desired}`, hosts: `KV_${BUCKETS.hosts}`, status: `KV_${BUCKETS.status}`, rollouts: `KV_${BUCKETS.rollouts}` };

// The coordinator sets byte limits (and the stream's age limit) where it creates the stream and the buckets, and `fleet setup` where they exist (real nats-server).
describe('fleet storage limits (real nats-server)', () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.cleanup();
  });

  it('creates the stream and every bucket with their limits; refuses a changed limit, which `fleet setup` restores', async () => {
    const limits = parseStorageLimits('events=64m,events-age=7d,desired=32m,hosts=2m,status=8m,rollouts=4m');
    const fleet = await connectFleet({ servers: server.url, name: 'limits-test', logger, waitOnFirstConnect: false, storageLimits: limits });
    try {
      const info = async (stream: string) => (await fleet.jsm.streams.info(stream)).config;
      assert.equal((await info(STREAMS.events)).max_bytes, 64 * MIB);
      assert.equal((await info(STREAMS.events)).max_age, 7 * 24 * 3600 * 1e9);
      assert.equal((await info(STREAMS.events)).discard, 'old', 'the oldest events go first');
      assert.equal((await info(STREAMS.desired)).max_bytes, 32 * MIB);
      assert.equal((await info(STREAMS.hosts)).max_bytes, 2 * MIB);
      assert.equal((await info(STREAMS.status)).max_bytes, 8 * MIB);
      assert.equal((await info(STREAMS.rollouts)).max_bytes, 4 * MIB);
      for (const bucket of [STREAMS.desired, STREAMS.hosts, STREAMS.status, STREAMS.rollouts]) assert.equal((await info(bucket)).discard, 'new', `${bucket}: a full bucket refuses the write`);

      for (const stream of Object.values(STREAMS)) {
        const config = await info(stream);
        assert.equal(config.deny_delete, true, `${stream}: nothing deletes a message`);
        assert.equal(config.deny_purge, true, `${stream}: nothing purges`);
        assert.equal(config.allow_rollup_hdrs ?? false, false, `${stream}: no rollup purges other keys`);
      }

      // A stream left without limits (an older coordinator made it), one loosened and one tightened by hand: the coordinator
      // changes none of them and refuses to run, naming each; `fleet setup` sets them, and a second run changes nothing.
      await fleet.jsm.streams.update(STREAMS.events, { ...(await info(STREAMS.events)), max_bytes: -1, max_age: 0 });
      await fleet.jsm.streams.update(STREAMS.status, { ...(await info(STREAMS.status)), max_bytes: 512 * MIB });
      await fleet.jsm.streams.update(STREAMS.hosts, { ...(await info(STREAMS.hosts)), max_bytes: 1 * MIB });
      await assert.rejects(connectFleet({ servers: server.url, name: 'limits-test-2', logger, waitOnFirstConnect: false, storageLimits: limits }), (error: unknown) => {
        assert.ok(error instanceof FleetStorageTamperedError, String(error));
        assert.match(error.message, /HW_EVENTS max_bytes: expected 67108864, found -1/);
        assert.match(error.message, /HW_EVENTS max_age: expected 604800000000000, found 0/);
        assert.match(error.message, /KV_hw_status max_bytes: expected 8388608, found 536870912/);
        assert.match(error.message, /KV_hw_hosts max_bytes: expected 2097152, found 1048576/);
        assert.match(error.message, /hostwright fleet setup/);
        return true;
      });
      assert.equal((await info(STREAMS.events)).max_bytes, -1, 'the coordinator changed nothing');
      const setup = await setupFleet({ servers: server.url, name: 'limits-setup', logger, waitOnFirstConnect: false, storageLimits: limits });
      assert.deepEqual(
        setup.map((result) => `${result.stream} ${result.outcome}`),
        ['HW_EVENTS updated', 'KV_hw_desired unchanged', 'KV_hw_hosts updated', 'KV_hw_status updated', 'KV_hw_rollouts unchanged'],
      );
      assert.equal((await info(STREAMS.events)).max_bytes, 64 * MIB);
      assert.equal((await info(STREAMS.events)).max_age, 7 * 24 * 3600 * 1e9);
      assert.equal((await info(STREAMS.status)).max_bytes, 8 * MIB);
      assert.equal((await info(STREAMS.hosts)).max_bytes, 2 * MIB);
      const again = await setupFleet({ servers: server.url, name: 'limits-setup-2', logger, waitOnFirstConnect: false, storageLimits: limits });
      assert.ok(again.every((result) => result.outcome === 'unchanged'), JSON.stringify(again));
      const accepted = await connectFleet({ servers: server.url, name: 'limits-test-3', logger, waitOnFirstConnect: false, storageLimits: limits });
      await accepted.close();
    } finally {
      await fleet.close();
    }
  });

  it('fleet setup on an empty server creates every stream and bucket as the coordinator checks them; a second run changes nothing', async () => {
    const empty = await startNatsServer();
    try {
      const options = { servers: empty.url, name: 'setup-test', logger, waitOnFirstConnect: false } as const;
      assert.deepEqual((await setupFleet(options)).map((result) => `${result.stream} ${result.outcome}`), Object.values(STREAMS).map((stream) => `${stream} created`));
      assert.deepEqual((await setupFleet(options)).map((result) => result.outcome), ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
      const fleet = await connectFleet(options);
      await fleet.close();
    } finally {
      await empty.cleanup();
    }
  });

  it('past the byte limit, the stream drops its oldest events and a bucket refuses the write', async () => {
    const tiny = await startNatsServer();
    try {
      const limits = { ...DEFAULT_STORAGE_LIMITS, eventsMaxBytes: 64 * 1024, hostsMaxBytes: 16 * 1024 };
      const fleet = await connectFleet({ servers: tiny.url, name: 'limits-full', logger, waitOnFirstConnect: false, storageLimits: limits });
      try {
        const payload = new Uint8Array(1024).fill(7);
        for (let i = 0; i < 200; i += 1) await fleet.js.publish(eventSubject('h1', 'p', 'applied'), payload, { msgID: randomUUID() });
        const state = (await fleet.jsm.streams.info(EVENTS_STREAM)).state;
        assert.ok(state.bytes <= 64 * 1024, `the stream holds ${state.bytes} bytes`);
        assert.equal(state.last_seq, 200, 'the newest event was taken');
        assert.ok(state.first_seq > 1, 'the oldest events were dropped');

        let refused: unknown;
        try {
          for (let i = 0; i < 100; i += 1) await fleet.hosts.put(`host${i}`, payload);
        } catch (error) {
          refused = error;
        }
        assert.ok(refused instanceof Error, 'a full bucket refuses a write');
        assert.deepEqual(await fleet.hosts.get('host0').then((entry) => entry?.value.length), 1024, 'nothing stored was lost');
      } finally {
        await fleet.close();
      }
    } finally {
      await tiny.cleanup();
    }
  });

  it('parses HOSTWRIGHT_STORAGE_LIMITS, defaults for what it leaves out, an error naming a bad entry', () => {
    assert.deepEqual(parseStorageLimits(undefined), DEFAULT_STORAGE_LIMITS);
    assert.deepEqual(parseStorageLimits('events=2g'), { ...DEFAULT_STORAGE_LIMITS, eventsMaxBytes: 2 * 1024 * MIB });
    assert.throws(() => parseStorageLimits('event=2g'), (error: unknown) => error instanceof InvalidInputError && /unknown limit "event"/.test(error.message));
    assert.throws(() => parseStorageLimits('events-age=soon'), (error: unknown) => error instanceof InvalidInputError && /events-age=soon is not a duration/.test(error.message));
    assert.throws(() => parseStorageLimits('desired=0m'), (error: unknown) => error instanceof InvalidInputError && /desired must be more than 0/.test(error.message));
  });
});
