import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetFileError } from '../lib/fleet-file-error.js';
import { parseFleetFile } from '../../coordinator/fleet-file.js';
import { desiredForHost } from '../../coordinator/placement.js';
import { STRICT_HOST_POLICY, policyRefusals } from '../../agent/core/host-policy.js';
import { attachmentsOf, wantedResources } from '../../agent/core/resources.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { toDockerCreateOptions } from '../../agent/runtime/docker-container.js';
import { runtimeConfigOf } from '../../shared/fleet-spec.js';
import { service } from '../lib/builders.js';

const lines = (...rows: string[]) => `${rows.join('\n')}\n`;
const withVolumes = (...entries: string[]) => lines('project: p', 'services:', '  db:', '    image: x', '    volumes:', ...entries.map((entry) => `      - ${entry}`), 'volumes:', '  data: {}');


describe('long-syntax volumes entries', () => {
  it('accepts compose\'s long syntax next to the short one', () => {
    const fleet = parseFleetFile(withVolumes('data:/short', '{type: volume, source: data, target: /data, read_only: true, volume: {nocopy: true}}', '{type: bind, source: /srv/www, target: /www, bind: {create_host_path: false}}', '{type: tmpfs, target: /cache, tmpfs: {size: 64m, mode: 0o1777}}'), 'fleet.yaml');
    assert.equal(fleet.services.db?.volumes.length, 4);
    assert.deepEqual(fleet.services.db?.volumes[1], { type: 'volume', source: 'data', target: '/data', read_only: true, volume: { nocopy: true } });
  });

  it('refuses a bad entry with its path and line', () => {
    assert.equal(fleetFileError(withVolumes('data:/ok', '{type: volume, target: /data}')), 'fleet.yaml:7:9 services.db.volumes[1].source: type volume needs a source naming a volume declared in the top-level volumes:');
    assert.match(fleetFileError(withVolumes('{type: bind, source: relative/path, target: /x}')), /^fleet\.yaml:6:\d+ services\.db\.volumes\[0\]\.source: type bind needs an absolute host path/);
    assert.match(fleetFileError(withVolumes('{type: tmpfs, source: data, target: /x}')), /^fleet\.yaml:6:\d+ services\.db\.volumes\[0\]\.source: type tmpfs takes no source/);
    assert.match(fleetFileError(withVolumes('{type: volume, source: data, target: relative}')), /^fleet\.yaml:6:\d+ services\.db\.volumes\[0\]\.target: expected an absolute path in the container/);
    assert.match(fleetFileError(withVolumes('{type: volume, source: data, target: /x, bind: {create_host_path: false}}')), /^fleet\.yaml:6:\d+ services\.db\.volumes\[0\]\.bind: bind options need type: bind/);
    assert.match(fleetFileError(withVolumes('{type: nfs, target: /x}')), /^fleet\.yaml:6:\d+ services\.db\.volumes\[0\]\.type: expected type volume, bind or tmpfs/);
    assert.match(fleetFileError(withVolumes('{type: tmpfs, target: /x, tmpfs: {size: 64mb3}}')), /^fleet\.yaml:6:\d+ services\.db\.volumes\[0\]\.tmpfs\.size: expected a size/);
    assert.match(fleetFileError(withVolumes('{type: volume, source: other, target: /x}')), /^fleet\.yaml:6:\d+ services\.db\.volumes\[0\]\.source: volume other is not declared/);
    assert.match(fleetFileError(withVolumes('42')), /^fleet\.yaml:6:\d+ services\.db\.volumes\[0\]: expected "volume:\/path" or a mapping with type and target/);
  });

  it('a named volume in long syntax is an owned project volume: placed, created and mounted by its engine name', () => {
    const fleet = parseFleetFile(withVolumes('{type: volume, source: data, target: /data}'), 'fleet.yaml');
    const document = desiredForHost(fleet, { hostId: 'h1', labels: {} }, { revision: 1 });
    assert.deepEqual(document.volumes, { data: {} });
    assert.deepEqual(wantedResources(document, 'hw-').filter((r) => r.kind === 'volume').map((r) => `${r.name} external=${String(r.external)}`), ['hw-p_data external=false']);
    const attach = attachmentsOf(document, 'db', 1, 'hw-');
    assert.deepEqual(attach.volumes, { data: 'hw-p_data' });
    const options = toDockerCreateOptions({ name: 'hw-p-db-1', config: runtimeConfigOf(document.services.db!), env: {}, identityLabels: {}, attach });
    assert.deepEqual(options.HostConfig?.Binds, []);
    assert.deepEqual(options.HostConfig?.Mounts, [{ Target: '/data', Type: 'volume', Source: 'hw-p_data' }]);
  });

  it('maps each type to Docker: a bind Docker may create as a bind string, one it may not and tmpfs as Mounts', () => {
    const config = runtimeConfigOf(service({ volumes: ['/srv/a:/a:ro', { type: 'bind', source: '/srv/b', target: '/b', read_only: true, bind: { propagation: 'rslave' } }, { type: 'bind', source: '/srv/c', target: '/c', bind: { create_host_path: false } }, { type: 'tmpfs', target: '/t', tmpfs: { size: '1m', mode: 0o700 } }] }));
    const options = toDockerCreateOptions({ name: 'x', config, env: {}, identityLabels: {} });
    assert.deepEqual(options.HostConfig?.Binds, ['/srv/a:/a:ro', '/srv/b:/b:ro,rslave']);
    assert.deepEqual(options.HostConfig?.Mounts, [
      { Target: '/c', Type: 'bind', Source: '/srv/c' },
      { Target: '/t', Type: 'tmpfs', Source: '', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o700 } },
    ]);
  });

  it('the host policy checks the host path of a long-syntax bind too', () => {
    assert.match(policyRefusals('db', service({ volumes: [{ type: 'bind', source: '/etc', target: '/host-etc' }] }), STRICT_HOST_POLICY).join(), /the bind mount of host path \/etc is refused/);
    assert.deepEqual(policyRefusals('db', service({ volumes: [{ type: 'tmpfs', target: '/t' }] }), STRICT_HOST_POLICY), []);
  });

  it('leaves the spec hash of short-syntax services as it was, and a long entry changes it', () => {
    // The hash of this service before long syntax existed (Hostwright at 2c5fd39).
    assert.equal(specHashOf(service({ volumes: ['data:/data', '/srv/x:/x:ro'] })), '79798ccdf8c025ed98cfe985d457a0f7');
    assert.notEqual(specHashOf(service({ volumes: [{ type: 'volume', source: 'data', target: '/data' }] })), specHashOf(service({ volumes: ['data:/data'] })));
  });
});
