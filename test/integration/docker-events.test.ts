import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import type { RuntimeEvent } from '../../agent/runtime/runtime-adapter.js';
import { uniqueName } from '../lib/builders.js';
import { docker, removeContainerNamed } from '../lib/docker-harness.js';
import { waitFor } from '../lib/wait.js';

/** A unix-socket proxy in front of the Docker socket whose connections the test can cut. */
async function startProxy(dir: string) {
  const path = join(dir, 'docker.sock');
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection('/var/run/docker.sock');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    cutAll: () => sockets.forEach((socket) => socket.destroy()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('Docker event stream (real Docker)', () => {
  const names: string[] = [];
  after(() => Promise.all(names.map(removeContainerNamed)));

  it('reconnects after the stream is cut, says so, and keeps delivering container events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-events-'));
    const proxy = await startProxy(dir);
    const abort = new AbortController();
    const seen: RuntimeEvent[] = [];
    try {
      const runtime = new DockerRuntime({ docker: new Docker({ socketPath: proxy.path }), reconnectMinMs: 50, reconnectMaxMs: 200 });
      runtime.watchEvents((event) => seen.push(event), abort.signal);
      const first = uniqueName('evt');
      names.push(first);
      // The stream may take a moment to subscribe: create until an event for it arrives.
      const firstContainer = await docker.createContainer({ name: first, Image: 'hw/busybox:test', Cmd: ['true'] });
      await waitFor('an event for the first container', async () => seen.some((e) => e.type === 'container' && e.containerId === firstContainer.id));

      proxy.cutAll();
      await waitFor('a disconnect and a reconnect', async () => seen.some((e) => e.type === 'disconnected') && seen.some((e) => e.type === 'reconnected'));

      const second = uniqueName('evt');
      names.push(second);
      const secondContainer = await docker.createContainer({ name: second, Image: 'hw/busybox:test', Cmd: ['true'] });
      await waitFor('an event for the second container after the reconnect', async () => seen.some((e) => e.type === 'container' && e.containerId === secondContainer.id));
      const reconnectAt = seen.findIndex((e) => e.type === 'reconnected');
      const secondAt = seen.findIndex((e) => e.type === 'container' && e.containerId === secondContainer.id);
      assert.ok(reconnectAt < secondAt, 'the gap is reported before later events, so the loop re-lists');
    } finally {
      abort.abort();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
