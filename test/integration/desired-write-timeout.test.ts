import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { decode } from '../../shared/codec.js';
import { hostDesiredSchema, type HostDesired } from '../../shared/host-desired.js';
import { verifySignedDocument } from '../../shared/signed-document.js';
import { desiredKey } from '../../shared/subjects.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { testSigner } from '../lib/signing.js';
import { startTcpProxy, type TcpProxy } from '../lib/tcp-proxy.js';
import { waitFor } from '../lib/wait.js';

// A compare-and-set write of desired state whose answer never comes may still have landed. The
// coordinator (behind a proxy that holds the server's replies) must neither report a conflict for
// its own write nor write twice, and must still refuse when someone else wrote meanwhile.
describe('desired-state write that times out (real nats-server, replies held by a proxy)', () => {
  const signer = testSigner();
  let server: NatsServerHandle;
  let proxy: TcpProxy;
  let direct: FleetClient;
  let proxied: FleetClient;
  before(async () => {
    server = await startNatsServer();
    direct = await FleetClient.connect(server.url, pino({ level: 'silent' }), {}, signer);
    proxy = await startTcpProxy(server.port);
    proxied = await FleetClient.connect(proxy.url, pino({ level: 'silent' }), {}, signer);
  });
  after(async () => {
    await proxied?.close().catch(() => undefined);
    await direct?.close().catch(() => undefined);
    await proxy?.close();
    await server?.cleanup();
  });

  /** The document a key holds, its signature checked; what the writer stamps (signing time, author, schema and agent versions) left out. */
  const storedDocument = (value: Uint8Array | undefined): Omit<HostDesired, 'signedAt' | 'author' | 'schemaVersion' | 'minAgentVersion'> => {
    const { signedAt: _signedAt, author: _author, schemaVersion: _schema, minAgentVersion: _agent, ...document } = decode(hostDesiredSchema, verifySignedDocument(value ?? new Uint8Array(), signer.publicKey), 'stored desired state');
    return document;
  };

  /** Holds the replies until the write has landed and its 5 s answer timeout has passed, then lets them through. */
  async function writeWithRepliesHeld(document: ReturnType<typeof desired>, expectedRevision: number, meanwhile: () => Promise<void> = async () => undefined) {
    const key = desiredKey(document.hostId, document.project);
    proxy.holdReplies();
    const writing = proxied.writeDesired(document, expectedRevision).then(
      (revision) => ({ revision, error: undefined }),
      (error: unknown) => ({ revision: undefined, error }),
    );
    await waitFor('the held write to land on the server', async () => ((await direct.connection.desired.get(key))?.revision ?? 0) > expectedRevision, 10_000, 20);
    await meanwhile();
    // The client's JetStream answer timeout is 5 s; release after it has fired, within its re-read.
    await sleep(6_000);
    proxy.releaseReplies();
    return writing;
  }

  it('a write that landed counts as written, once', { timeout: 60_000 }, async () => {
    const project = uniqueName('cas');
    const first = desired(project, { web: service() });
    const created = await proxied.writeDesired(first, 0);
    const second = { ...first, revision: 2 };
    const result = await writeWithRepliesHeld(second, created);
    assert.equal(result.error, undefined, `no error: ${String(result.error)}`);
    const key = desiredKey(first.hostId, project);
    const stored = await direct.connection.desired.get(key);
    assert.equal(result.revision, stored?.revision);
    assert.deepEqual(storedDocument(stored?.value), second, 'the key holds exactly the document written');
    const history = [];
    for await (const entry of await direct.connection.desired.history({ key })) history.push(entry.revision);
    assert.equal(history.length, 2, `one create and one update, not a second copy: ${history.join(', ')}`);
  });

  it('another writer landing meanwhile is still a conflict', { timeout: 60_000 }, async () => {
    const project = uniqueName('cas');
    const first = desired(project, { web: service() });
    const created = await proxied.writeDesired(first, 0);
    const key = desiredKey(first.hostId, project);
    const result = await writeWithRepliesHeld({ ...first, revision: 2 }, created, async () => {
      const current = await direct.connection.desired.get(key);
      await direct.writeDesired({ ...first, revision: 3, services: { api: service() } }, current?.revision ?? 0);
    });
    assert.ok(result.error instanceof Error, 'the write is refused');
    assert.match(result.error.message, /changed since it was read \(another write landed while ours timed out\)/);
    const stored = await direct.connection.desired.get(key);
    assert.deepEqual(storedDocument(stored?.value), { ...first, revision: 3, services: { api: service() } }, 'the other writer\'s value stays');
  });
});
