import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { promisify } from 'node:util';
import { decodeAnswerAddresses, decodeQuery, encodeAnswer, encodeQuery, RCODE } from '../../agent/resolver/dns-wire.js';
import { FleetResolver } from '../../agent/resolver/fleet-resolver.js';
import type { NameSource } from '../../agent/resolver/fleet-names.js';
import { TEST_IMAGE, uniqueName } from '../lib/builders.js';
import { inside } from '../lib/container-exec.js';
import { docker } from '../lib/docker-harness.js';

/** One UDP query to 127.0.0.1:port; the decoded answer. */
async function ask(port: number, name: string, id = 42, raw?: Uint8Array): Promise<ReturnType<typeof decodeAnswerAddresses>> {
  const socket = createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer for ${name}`)), 2_000);
      socket.once('message', (message) => {
        clearTimeout(timer);
        resolve(decodeAnswerAddresses(message));
      });
      socket.send(raw ?? encodeQuery(id, name), port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

describe('the fleet resolver over real UDP', () => {
  let resolver: FleetResolver;
  const endpoints = new Map<string, string[]>([['api', ['10.64.17.2', '10.64.33.2']]]);
  const source: NameSource = { resolve: (project, name) => (project === 'shop' ? (endpoints.get(name) ?? []).map((address) => ({ address })) : []) };

  before(async () => {
    resolver = await FleetResolver.start({ address: '127.0.0.1', port: 0, source, callerOf: (address) => (address === '127.0.0.1' ? { project: 'shop' } : undefined) });
  });

  after(async () => {
    await resolver?.close();
  });

  it('answers from the source as it is at each query: a withdrawn instance is gone from the next answer', async () => {
    const both = await ask(resolver.port, 'api');
    assert.equal(both.rcode, RCODE.noError);
    assert.deepEqual([...both.addresses].sort(), ['10.64.17.2', '10.64.33.2']);
    assert.deepEqual(both.ttls, [1, 1]);
    endpoints.set('api', ['10.64.17.2']);
    assert.deepEqual((await ask(resolver.port, 'api')).addresses, ['10.64.17.2']);
    endpoints.delete('api');
    assert.equal((await ask(resolver.port, 'api')).rcode, RCODE.refused);
  });

  it('keeps answering after garbage: FORMERR with the id when there was one', async () => {
    const garbage = encodeQuery(77, 'api');
    garbage[5] = 3;
    const formErr = await ask(resolver.port, 'api', 77, garbage);
    assert.deepEqual([formErr.id, formErr.rcode], [77, RCODE.formErr]);
    endpoints.set('api', ['10.64.17.2']);
    assert.deepEqual((await ask(resolver.port, 'api')).addresses, ['10.64.17.2']);
  });

  it('refuses a name outside the fleet: it forwards nothing itself', async () => {
    const answer = await ask(resolver.port, 'example.com');
    assert.equal(answer.rcode, RCODE.refused);
    assert.deepEqual(answer.addresses, []);
  });
});

const execFileAsync = promisify(execFile);

// The resolver refuses names outside the fleet so that Docker's embedded DNS asks the next server
// of the container's `dns:` (the host's own resolvers, agent/resolver/host-upstream.ts). This runs a
// real container on a user-defined network against the fleet resolver and a stand-in "host
// resolver", both on addresses of a veth made for the test (198.18.0.0/15, the benchmarking range).
describe('a container whose dns: is the fleet resolver, then the host\'s resolver (real Docker)', () => {
  const octet = 10 + Math.floor(Math.random() * 240);
  const fleetAddress = `198.18.${octet}.1`;
  const upstreamAddress = `198.18.${octet}.2`;
  const link = `hwrs${octet}`;
  const networkName = uniqueName('hw-resolver-net');
  let fleet: FleetResolver | undefined;
  let upstream: Socket | undefined;
  let containerId: string | undefined;
  const asked: string[] = [];

  before(async () => {
    await execFileAsync('ip', ['link', 'add', `${link}a`, 'type', 'veth', 'peer', 'name', `${link}b`]);
    for (const address of [fleetAddress, upstreamAddress]) await execFileAsync('ip', ['addr', 'add', `${address}/32`, 'dev', `${link}a`]);
    await execFileAsync('ip', ['link', 'set', `${link}a`, 'up']);
    fleet = await FleetResolver.start({ address: fleetAddress, port: 53, source: { resolve: (_project, name) => (name === 'api' ? [{ address: '10.64.17.2' }] : []) }, callerOf: () => ({ project: 'shop' }) });
    // The stand-in host resolver answers every A query with one address, and notes what it was asked.
    const server = createSocket('udp4');
    upstream = server;
    server.on('message', (message, remote) => {
      const query = decodeQuery(message);
      asked.push(query.question.name);
      server.send(encodeAnswer({ id: query.id, recursionDesired: query.recursionDesired, rcode: RCODE.noError, question: query.question, addresses: ['192.0.2.77'], ttl: 1 }), remote.port, remote.address);
    });
    await new Promise<void>((resolve) => server.bind(53, upstreamAddress, resolve));
    await docker.createNetwork({ Name: networkName, Labels: { 'hw.test': 'fleet-resolver' } });
    const container = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '300'], Labels: { 'hw.test': 'fleet-resolver' }, HostConfig: { NetworkMode: networkName, Dns: [fleetAddress, upstreamAddress], AutoRemove: false } });
    containerId = container.id;
    await container.start();
  });

  after(async () => {
    if (containerId !== undefined) await docker.getContainer(containerId).remove({ force: true }).catch(() => undefined);
    await docker.getNetwork(networkName).remove().catch(() => undefined);
    await fleet?.close();
    upstream?.close();
    await execFileAsync('ip', ['link', 'del', `${link}a`]).catch(() => undefined);
  });

  it('resolves a fleet name from the fleet resolver and any other name from the host\'s resolver', async () => {
    const id = containerId as string;
    const fleetName = await inside(id, 'nslookup -type=a api');
    assert.match(fleetName.output, /10\.64\.17\.2/, fleetName.output);
    assert.doesNotMatch(fleetName.output, /192\.0\.2\.77/, 'a fleet name is not asked of the host resolver');
    const outside = await inside(id, 'nslookup -type=a outside.example');
    assert.match(outside.output, /192\.0\.2\.77/, outside.output);
    assert.ok(asked.some((name) => name.startsWith('outside.example')), `the host resolver was asked: ${asked.join(', ')}`);
    assert.ok(!asked.some((name) => name === 'api' || name.startsWith('api.')), `the host resolver was not asked for api: ${asked.join(', ')}`);
  });
});
