import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EXEC_SUBJECTS, HOST_REPLY_WINDOW, accountsConfig, adminPermissions, logsReaderPublish, rolePermissions, coordinatorPermissions, hostAccount, hostImports, hostPermissions, withHost, withoutHost, type FleetAuthManifest } from '../../coordinator/nats-auth.js';

const key = (prefix: 'U' | 'O', fill: string) => `${prefix}${fill.repeat(55)}`;
const manifest: FleetAuthManifest = { schema: 'hostwright.fleet-auth/v1', coordinator: { publicKey: key('U', 'C') }, signingPublicKey: key('O', 'S'), hosts: [] };
const hostIdArb = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/);

describe('NATS permissions (pure)', () => {
  it('a host\'s allow lists name only its own keys, events, RPC subject and inbox', () => {
    fc.assert(
      fc.property(hostIdArb, hostIdArb, (hostId, other) => {
        fc.pre(hostId !== other);
        const permissions = hostPermissions(hostId);
        // The one exception: every host reads the endpoint records (addresses, no secrets) of the
        // services its projects use, whichever host published them; it writes only its own.
        assert.ok(permissions.subscribe.includes('hw.endpoints.>'));
        assert.ok(permissions.publish.filter((subject) => subject.startsWith('$KV.hw_endpoints.')).every((subject) => subject === `$KV.hw_endpoints.${hostId}.>`));
        for (const subject of [...permissions.publish, ...permissions.subscribe.filter((subject) => subject !== 'hw.endpoints.>')]) {
          assert.ok(!subject.split('.').includes(other), `${subject} names ${other}`);
          assert.ok(!/^\$JS\.(API\.)?>$/.test(subject), subject);
          // Wildcards only where the host's own id bounds them.
          if (subject.includes('>') || subject.includes('*')) assert.ok(subject.includes(hostId), subject);
        }
        assert.ok(!permissions.publish.some((subject) => subject.startsWith('$KV.hw_desired')), 'no desired-state write');
      }),
    );
  });

  it('the coordinator may not write host status, registry or events', () => {
    const { publish } = coordinatorPermissions(['a']);
    for (const forbidden of ['$KV.hw_status.>', '$KV.hw_hosts.>', 'hw.events.>', '$JS.>', '$JS.API.>']) assert.ok(!publish.includes(forbidden), forbidden);
  });

  it('the coordinator may change, purge or delete no stream and delete no consumer but the hosts\' feeds; the admin user only creates and updates the streams', () => {
    const { publish } = coordinatorPermissions(['a', 'b']);
    for (const subject of publish) assert.doesNotMatch(subject, /^\$JS\.API\.(STREAM\.(UPDATE|DELETE|PURGE|MSG\.DELETE)|ACCOUNT)/, subject);
    assert.deepEqual(
      publish.filter((subject) => subject.startsWith('$JS.API.CONSUMER.DELETE.')),
      ['$JS.API.CONSUMER.DELETE.KV_hw_desired.hw_host_a', '$JS.API.CONSUMER.DELETE.KV_hw_desired.hw_host_b'],
    );
    const admin = adminPermissions();
    assert.ok(admin.publish.includes('$JS.API.STREAM.UPDATE.HW_EVENTS'));
    for (const subject of admin.publish) assert.match(subject, /^\$JS\.API\.(INFO|STREAM\.(CREATE|UPDATE|INFO)\.(HW_EVENTS|KV_hw_[a-z]+))$/, subject);
    const withAdmin = accountsConfig({ ...withHost(manifest, 'a', key('U', 'A')), admin: { publicKey: key('U', 'Z') } });
    assert.match(withAdmin, /# admin \(fleet setup\)\n {6}\{\n {8}nkey: "UZ+"/);
    assert.doesNotMatch(accountsConfig(withHost(manifest, 'a', key('U', 'A'))), /# admin/);
  });

  it('the accounts config quotes every subject, has no authorization block, and does not depend on the order hosts were added', () => {
    const ab = withHost(withHost(manifest, 'a', key('U', 'A')), 'b', key('U', 'B'));
    const ba = withHost(withHost(manifest, 'b', key('U', 'B')), 'a', key('U', 'A'));
    assert.equal(accountsConfig(ab), accountsConfig(ba));
    const text = accountsConfig(ab);
    assert.match(text, /^accounts \{/m);
    assert.doesNotMatch(text, /^\s*authorization/m);
    assert.doesNotMatch(text, /[[\s,]\$/, 'an unquoted $ would be read as a variable');
    assert.equal(accountsConfig(withoutHost(ab, 'b')), accountsConfig(withHost(manifest, 'a', key('U', 'A'))));
  });

  it('a host answers plan, retry and pull requests only on its own subjects; the pull export waits as long as a host may answer', () => {
    const { subscribe, responses } = hostPermissions('a');
    for (const rpc of ['plan', 'retry', 'pull']) assert.ok(subscribe.includes(`hw.rpc.a.${rpc}`), rpc);
    assert.ok(responses >= 1);
    assert.ok(coordinatorPermissions([]).publish.includes('hw.rpc.*.pull'));
    const text = accountsConfig(withHost(manifest, 'a', key('U', 'A')));
    assert.ok(text.includes(`{ service: "hw.rpc.a.pull", accounts: ["HOSTWRIGHT"], response_threshold: ${JSON.stringify(HOST_REPLY_WINDOW)} }`), text);
    assert.ok(text.includes(`allow_responses: { max: ${responses}, expires: ${JSON.stringify(HOST_REPLY_WINDOW)} }`));
  });

  it('rotating a host replaces its key instead of adding a second user', () => {
    const rotated = withHost(withHost(manifest, 'a', key('U', 'A')), 'a', key('U', 'Z'));
    assert.deepEqual(rotated.hosts, [{ hostId: 'a', publicKey: key('U', 'Z') }]);
  });

  it('every host has an account of its own: its user, its imports of its own subjects only, and its plan subject exported to the fleet', () => {
    const text = accountsConfig(withHost(withHost(manifest, 'a', key('U', 'A')), 'b', key('U', 'B')));
    for (const [hostId, other] of [['a', 'b'], ['b', 'a']] as const) {
      const block = text.slice(text.indexOf(`"${hostAccount(hostId)}": {`), text.indexOf(`"${hostAccount(other)}": {`) > text.indexOf(`"${hostAccount(hostId)}": {`) ? text.indexOf(`"${hostAccount(other)}": {`) : undefined);
      assert.match(block, new RegExp(`nkey: "${key('U', hostId.toUpperCase())}"`));
      assert.doesNotMatch(block, /jetstream/);
      for (const entry of hostImports(hostId)) {
        assert.ok(block.includes(`subject: ${JSON.stringify(entry.subject)}`), `${hostId} imports ${entry.subject}`);
        // The fleet exports it to this host's account alone.
        assert.ok(text.includes(`{ service: ${JSON.stringify(entry.subject)}, accounts: [${JSON.stringify(hostAccount(hostId))}]`), `export of ${entry.subject}`);
      }
      assert.ok(!block.split('\n').some((line) => line.includes('subject:') && line.split('"').some((part) => part.split('.').includes(other))), `${hostId}'s account names ${other}`);
    }
    // The host publishes only what it imports; JetStream API subjects only under its own prefix.
    for (const subject of hostPermissions('a').publish) assert.ok(!subject.startsWith('$JS.API'), subject);
    assert.deepEqual(hostPermissions('a').publish, hostImports('a').map((entry) => entry.local));
  });
});

describe('roles (pure)', () => {
  const hosts = ['a', 'b'];
  it('a reader reads and may not write a bucket, ask a host to act, exec or set up streams; it may read logs', () => {
    const { publish } = rolePermissions('reader', hosts);
    const reads = publish.filter((subject) => !logsReaderPublish().includes(subject));
    for (const subject of reads) assert.match(subject, /^\$JS\.API\.(INFO|STREAM\.INFO\.|CONSUMER\.(CREATE|INFO)\.|CONSUMER\.MSG\.NEXT\.HW_EVENTS\.|DIRECT\.GET\.|STREAM\.MSG\.GET\.)/, subject);
    assert.ok(publish.includes('$JS.API.DIRECT.GET.KV_hw_status.>'));
    assert.deepEqual(publish.filter((subject) => subject.startsWith('hw.')), ['hw.rpc.*.logs'], 'of the hosts\' subjects, only logs');
  });

  it('a deployer is the coordinator: it writes desired state and asks for plans, retries and pulls, but may not exec or set up streams', () => {
    const { publish } = rolePermissions('deployer', hosts);
    assert.deepEqual(publish, coordinatorPermissions(hosts).publish);
    for (const subject of [...EXEC_SUBJECTS, '$JS.API.STREAM.UPDATE.HW_EVENTS']) assert.ok(!publish.includes(subject), subject);
  });

  it('an admin has the deployer\'s permissions, exec on every host, and stream setup', () => {
    const admin = rolePermissions('admin', hosts).publish;
    for (const subject of [...coordinatorPermissions(hosts).publish, ...adminPermissions().publish, 'hw.rpc.*.exec', 'hw.rpc.*.exec.io']) assert.ok(admin.includes(subject), subject);
  });

  it('each host imports exec from its own account only, and users of a role get their block', () => {
    const text = accountsConfig({ ...withHost(withHost(manifest, 'a', key('U', 'A')), 'b', key('U', 'B')), users: [{ name: 'ro', role: 'reader', publicKey: key('U', 'R') }] });
    assert.ok(text.includes('{ service: { account: "HOST_a", subject: "hw.rpc.a.exec" } }'), text);
    assert.ok(text.includes('{ service: { account: "HOST_b", subject: "hw.rpc.b.exec.io" } }'), text);
    assert.ok(hostPermissions('a').subscribe.includes('hw.rpc.a.exec') && !hostPermissions('a').subscribe.some((subject) => subject.includes('.b.')));
    assert.match(text, /# user ro \(role reader\)\n {6}\{\n {8}nkey: "UR+"/);
  });
});
