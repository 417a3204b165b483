import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { createUser } from '@nats-io/nkeys';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { FleetNotSetUpError, FleetStorageTamperedError, InvalidInputError } from '../../shared/errors.js';
import { connectFleet, setupFleet } from '../../shared/nats-connection.js';
import { DEFAULT_STORAGE_LIMITS, parseStorageLimits } from '../../shared/stream-replicas.js';
import { BUCKETS, EVENTS_STREAM, eventSubject } from '../../shared/subjects.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

const logger = pino({ level: 'silent' });
const MIB = 2 ** 20;
const STREAMS = { events: EVENTS_STREAM, desired: `KV_${BUCKETS.desired}`, hosts: `KV_${BUCKETS.hosts}`, status: `KV_${BUCKETS.status}`, rollouts: `KV_${BUCKETS.rollouts}`, hostctl: `KV_${BUCKETS.hostctl}`, endpoints: `KV_${BUCKETS.endpoints}` };

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
        ['HW_EVENTS updated', 'KV_hw_desired unchanged', 'KV_hw_hosts updated', 'KV_hw_status updated', 'KV_hw_rollouts unchanged', 'KV_hw_hostctl unchanged', 'KV_hw_endpoints unchanged'],
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
      assert.deepEqual((await setupFleet(options)).map((result) => result.outcome), Object.values(STREAMS).map(() => 'unchanged'));
      const fleet = await connectFleet(options);
      await fleet.close();
    } finally {
      await empty.cleanup();
    }
  });

  it('a desired bucket set up by 0.2.0 (16 revisions per key, 512 MiB): every command says to run fleet setup, which raises both and keeps the values', async () => {
    const older = await startNatsServer();
    try {
      const options = { servers: older.url, name: 'history-upgrade-test', logger, waitOnFirstConnect: false } as const;
      const fleet = await connectFleet(options);
      try {
        await fleet.desired.put('h1.web', new Uint8Array([7]));
        const config = (await fleet.jsm.streams.info(STREAMS.desired)).config;
        await fleet.jsm.streams.update(STREAMS.desired, { ...config, max_msgs_per_subject: 16, max_bytes: 512 * MIB });
      } finally {
        await fleet.close();
      }
      await assert.rejects(connectFleet(options), (error: unknown) => {
        assert.ok(error instanceof FleetNotSetUpError, String(error));
        assert.match(error.message, /set up by an earlier version of Hostwright/);
        assert.match(error.message, /KV_hw_desired max_msgs_per_subject: expected 64, found 16/);
        assert.match(error.message, /Run `hostwright fleet setup --nats URL --creds admin\.nk` once/);
        return true;
      });
      const setup = await setupFleet(options);
      assert.deepEqual(setup.find((result) => result.stream === STREAMS.desired)?.outcome, 'updated');
      const upgraded = await connectFleet(options);
      try {
        assert.equal((await upgraded.jsm.streams.info(STREAMS.desired)).config.max_msgs_per_subject, 64);
        assert.deepEqual([...((await upgraded.desired.get('h1.web'))?.value ?? [])], [7], 'what the bucket held is kept');
      } finally {
        await upgraded.close();
      }
    } finally {
      await older.cleanup();
    }
  });

  it('a fleet an earlier version made (rollups allowed on the desired bucket, no deny flags on buckets): refused until fleet setup brings it up to date', async () => {
    const old = await startNatsServer();
    try {
      const options = { servers: old.url, name: 'upgrade-test', logger, waitOnFirstConnect: false } as const;
      // What the earlier coordinator made: nats.js KV buckets (rollups allowed) with the limits, hosts' buckets without rollups, and the event stream.
      const nc = await connect({ servers: old.url });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: EVENTS_STREAM, subjects: ['hw.events.>'], duplicate_window: 3600e9, max_age: DEFAULT_STORAGE_LIMITS.eventsMaxAgeMs * 1e6, max_bytes: DEFAULT_STORAGE_LIMITS.eventsMaxBytes, deny_delete: true, deny_purge: true });
        const kvm = new Kvm(jetstream(nc));
        await kvm.create(BUCKETS.desired, { history: 16, max_bytes: DEFAULT_STORAGE_LIMITS.desiredMaxBytes });
        await kvm.create(BUCKETS.rollouts, { history: 8, max_bytes: DEFAULT_STORAGE_LIMITS.rolloutsMaxBytes });
        for (const [bucket, maxBytes] of [[BUCKETS.hosts, DEFAULT_STORAGE_LIMITS.hostsMaxBytes], [BUCKETS.status, DEFAULT_STORAGE_LIMITS.statusMaxBytes]] as const) {
          await kvm.create(bucket, { history: 1, max_bytes: maxBytes });
          await jsm.streams.update(`KV_${bucket}`, { ...(await jsm.streams.info(`KV_${bucket}`)).config, allow_rollup_hdrs: false });
        }
        await (await kvm.open(BUCKETS.desired)).put('h1.web', new Uint8Array([1]));
      } finally {
        await nc.close();
      }
      await assert.rejects(connectFleet(options), (error: unknown) => error instanceof FleetStorageTamperedError && /KV_hw_desired allow_rollup_hdrs: expected false, found true/.test(error.message) && /KV_hw_status deny_purge: expected true, found false/.test(error.message));
      const setup = await setupFleet(options);
      assert.deepEqual(setup.map((result) => `${result.stream} ${result.outcome}`), ['HW_EVENTS unchanged', 'KV_hw_desired updated', 'KV_hw_hosts updated', 'KV_hw_status updated', 'KV_hw_rollouts updated', 'KV_hw_hostctl unchanged', 'KV_hw_endpoints unchanged']);
      const fleet = await connectFleet(options);
      try {
        assert.deepEqual([...((await fleet.desired.get('h1.web'))?.value ?? [])], [1], 'what the bucket held is kept');
      } finally {
        await fleet.close();
      }
    } finally {
      await old.cleanup();
    }
  });

  it('credentials that may not create a missing stream: the coordinator says to run fleet setup with the admin credentials', async () => {
    const user = createUser();
    const dir = await mkdtemp(join(tmpdir(), 'hw-no-create-'));
    const restricted = await startNatsServer({ config: `authorization {\n  users: [{ nkey: ${JSON.stringify(user.getPublicKey())}, permissions: { publish: { deny: ["$JS.API.STREAM.CREATE.>"] } } }]\n}` });
    try {
      const credsFile = join(dir, 'user.nk');
      await writeFile(credsFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
      await assert.rejects(connectFleet({ servers: restricted.url, name: 'no-create', logger, waitOnFirstConnect: false, access: { credsFile } }), (error: unknown) => error instanceof FleetNotSetUpError && /the fleet's stream HW_EVENTS does not exist and these NATS credentials may not create it: run `hostwright fleet setup --nats URL --creds admin\.nk`/.test(error.message));
    } finally {
      await restricted.cleanup();
      await rm(dir, { recursive: true, force: true });
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
