import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeImageRef, registryHostOf, registryHostOfAuthKey } from '../../agent/core/images.js';

describe('image references', () => {
  it('names the registry a reference pulls from, as the Docker CLI does', () => {
    assert.equal(registryHostOf('busybox'), 'docker.io');
    assert.equal(registryHostOf('acme/app:1'), 'docker.io');
    assert.equal(registryHostOf('docker.io/acme/app:1'), 'docker.io');
    assert.equal(registryHostOf('index.docker.io/acme/app'), 'docker.io');
    assert.equal(registryHostOf('127.0.0.1:5000/app:1'), '127.0.0.1:5000');
    assert.equal(registryHostOf('localhost/app'), 'localhost');
    assert.equal(registryHostOf('ghcr.io/acme/app@sha256:' + 'a'.repeat(64)), 'ghcr.io');
  });

  it('reads config.json auths keys with or without scheme and path', () => {
    assert.equal(registryHostOfAuthKey('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(registryHostOfAuthKey('https://127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(registryHostOfAuthKey('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(registryHostOfAuthKey('http://ghcr.io/v2/'), 'ghcr.io');
  });

  it('compares digest-pinned references by repository and digest, a tag beside the digest ignored', () => {
    const digest = 'sha256:' + 'b'.repeat(64);
    assert.equal(normalizeImageRef(`docker.io/library/busybox@${digest}`), `busybox@${digest}`);
    assert.equal(normalizeImageRef(`busybox:1.36@${digest}`), `busybox@${digest}`);
    assert.equal(normalizeImageRef(`127.0.0.1:5000/app:1@${digest}`), `127.0.0.1:5000/app@${digest}`);
    assert.equal(normalizeImageRef('127.0.0.1:5000/app'), '127.0.0.1:5000/app:latest');
  });
});
