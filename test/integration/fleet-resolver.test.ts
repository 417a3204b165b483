import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { decodeAnswerAddresses, encodeQuery, RCODE } from '../../agent/resolver/dns-wire.js';
import { FleetResolver } from '../../agent/resolver/fleet-resolver.js';
import type { NameSource } from '../../agent/resolver/fleet-names.js';

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
    assert.equal((await ask(resolver.port, 'api')).rcode, RCODE.nxDomain);
  });

  it('keeps answering after garbage: FORMERR with the id when there was one', async () => {
    const garbage = encodeQuery(77, 'api');
    garbage[5] = 3;
    const formErr = await ask(resolver.port, 'api', 77, garbage);
    assert.deepEqual([formErr.id, formErr.rcode], [77, RCODE.formErr]);
    endpoints.set('api', ['10.64.17.2']);
    assert.deepEqual((await ask(resolver.port, 'api')).addresses, ['10.64.17.2']);
  });

  it('says NXDOMAIN to a name outside the fleet: it forwards nothing', async () => {
    const answer = await ask(resolver.port, 'example.com');
    assert.equal(answer.rcode, RCODE.nxDomain);
    assert.deepEqual(answer.addresses, []);
  });
});
