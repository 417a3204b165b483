import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Status } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer } from '../lib/nats-server.js';
import type { NatsServerHandle } from '../lib/nats-server.js';
import { startTcpProxy } from '../lib/tcp-proxy.js';
import type { TcpProxy } from '../lib/tcp-proxy.js';
import { waitFor } from '../lib/wait.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Closes connections that are still open; never throws (for after hooks). */
async function closeAll(connections: NatsConnection[]): Promise<void> {
  for (const nc of connections.splice(0)) {
    if (!nc.isClosed()) await nc.close().catch(() => undefined);
  }
}

describe('nats-server harness (real nats-server)', () => {
  let server: NatsServerHandle;
  let second: NatsServerHandle | undefined;
  const connections: NatsConnection[] = [];

  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await closeAll(connections);
    await second?.cleanup();
    await server?.cleanup();
  });

  it('starts on loopback with JetStream and a monitor endpoint', async () => {
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    assert.match(server.monitorUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.pid > 0);
    const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { server_name?: string; jetstream?: { config?: { store_dir?: string } } };
    assert.equal(varz.server_name, `hw-test-${server.port}`);
    assert.ok(varz.jetstream?.config?.store_dir?.startsWith(server.storeDir), `store dir ${varz.jetstream?.config?.store_dir}`);
    assert.match(server.output(), /Server is ready/);
  });

  it('a second server in the same process gets different ports', async () => {
    second = await startNatsServer();
    assert.notEqual(second.port, server.port);
    assert.notEqual(second.monitorUrl, server.monitorUrl);
    assert.notEqual(second.storeDir, server.storeDir);
    await second.cleanup();
    second = undefined;
  });

  it('publish/subscribe round trip', async () => {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    const sub = nc.subscribe('hw.test.echo', { max: 1 });
    const received = (async () => {
      for await (const msg of sub) return decoder.decode(msg.data);
      return undefined;
    })();
    await nc.flush();
    nc.publish('hw.test.echo', encoder.encode('hello'));
    assert.equal(await received, 'hello');
    await nc.close();
  });

  it('JetStream dedups by msgID and the stream survives kill -9 + restart on the same store dir', async () => {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'HW_HARNESS', subjects: ['hw.harness.>'] });
    const js = jetstream(nc);
    const first = await js.publish('hw.harness.a', encoder.encode('one'), { msgID: 'msg-1' });
    assert.equal(first.duplicate, false);
    assert.equal(first.seq, 1);
    const again = await js.publish('hw.harness.a', encoder.encode('one'), { msgID: 'msg-1' });
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, 1);
    assert.equal((await jsm.streams.info('HW_HARNESS')).state.messages, 1);
    await nc.close();

    const pidBefore = server.pid;
    await server.kill9();
    await assert.rejects(fetch(`${server.monitorUrl}/healthz`), 'monitor still answers after kill9');
    await server.restart();
    assert.notEqual(server.pid, pidBefore);

    const nc2 = await connect({ servers: server.url });
    connections.push(nc2);
    const jsm2 = await jetstreamManager(nc2);
    const info = await jsm2.streams.info('HW_HARNESS');
    assert.equal(info.state.messages, 1);
    const stored = await jsm2.streams.getMessage('HW_HARNESS', { seq: 1 });
    assert.ok(stored);
    assert.equal(decoder.decode(stored.data), 'one');
    await nc2.close();
  });

  it('stop() then restart() keeps the port', async () => {
    const port = server.port;
    await server.stop();
    await server.restart();
    assert.equal(server.port, port);
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    const jsm = await jetstreamManager(nc);
    assert.equal((await jsm.streams.info('HW_HARNESS')).state.messages, 1);
    await nc.close();
  });
});

describe('tcp proxy (real nats-server)', () => {
  let server: NatsServerHandle;
  let proxy: TcpProxy;
  const connections: NatsConnection[] = [];

  before(async () => {
    server = await startNatsServer();
    proxy = await startTcpProxy(server.port);
  });
  after(async () => {
    await closeAll(connections);
    await proxy?.close();
    await server?.cleanup();
  });

  it('a client through the proxy sees a disconnect on cut() and reconnects after heal()', async () => {
    assert.equal(proxy.url, `nats://127.0.0.1:${proxy.port}`);
    const nc = await connect({ servers: proxy.url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    connections.push(nc);
    const events: Status[] = [];
    void (async () => {
      for await (const status of nc.status()) events.push(status);
    })();
    const direct = await connect({ servers: server.url });
    connections.push(direct);

    // Round trip through the proxy works.
    const sub = nc.subscribe('hw.proxy.>');
    const subjects: string[] = [];
    void (async () => {
      for await (const msg of sub) subjects.push(msg.subject);
    })();
    await nc.flush();
    direct.publish('hw.proxy.before', encoder.encode('x'));
    await waitFor('message through the proxy', async () => subjects.includes('hw.proxy.before'), 5_000, 20);

    await proxy.cut();
    assert.equal(proxy.isCut, true);
    await waitFor('disconnect status', async () => events.some((e) => e.type === 'disconnect'), 5_000, 20);
    // While cut, reconnect attempts are refused: nothing gets through.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(proxy.connections, 0);
    assert.equal(events.some((e) => e.type === 'reconnect'), false);

    await proxy.heal();
    await waitFor('reconnect status', async () => events.some((e) => e.type === 'reconnect'), 10_000, 20);
    assert.equal(proxy.connections, 1);
    // The subscription is re-established: messages flow again.
    await nc.flush();
    direct.publish('hw.proxy.after', encoder.encode('y'));
    await waitFor('message after heal', async () => subjects.includes('hw.proxy.after'), 5_000, 20);
    await closeAll(connections);
  });
});
