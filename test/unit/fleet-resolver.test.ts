import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAnswerAddresses, decodeQuery, DnsFormatError, DNS_TYPE_AAAA, encodeAnswer, encodeQuery, RCODE } from '../../agent/resolver/dns-wire.js';
import { answerQuery, MAX_ANSWER_ADDRESSES, RESOLVER_TTL_S, type NameSource } from '../../agent/resolver/fleet-names.js';

const SOURCE: NameSource = {
  resolve: (project, name) => {
    if (project !== 'shop') return [];
    if (name === 'api') return [{ address: '10.64.17.2' }, { address: '10.64.33.2' }];
    if (name === 'api-2') return [{ address: '10.64.33.2' }];
    if (name === 'many') return Array.from({ length: 40 }, (_, i) => ({ address: `10.64.17.${i + 2}` }));
    return [];
  },
};
const WEB = { project: 'shop' };

describe('DNS wire format (A queries)', () => {
  it('reads a query and writes an answer a reader gets the addresses and TTL back from', () => {
    const query = decodeQuery(encodeQuery(0x1234, 'API'));
    assert.deepEqual(query, { id: 0x1234, opcode: 0, recursionDesired: true, question: { name: 'api', type: 1, class: 1 } });
    const packet = encodeAnswer({ id: query.id, recursionDesired: true, question: query.question, rcode: RCODE.noError, addresses: ['10.64.17.2', '10.64.33.2'], ttl: 1 });
    assert.deepEqual(decodeAnswerAddresses(packet), { id: 0x1234, rcode: 0, authoritative: true, addresses: ['10.64.17.2', '10.64.33.2'], ttls: [1, 1] });
  });

  it('refuses malformed queries with DnsFormatError, keeping the id when the header was there', () => {
    assert.throws(() => decodeQuery(new Uint8Array(5)), (error: unknown) => error instanceof DnsFormatError && error.id === undefined);
    const twoQuestions = encodeQuery(7, 'api');
    twoQuestions[5] = 2;
    assert.throws(() => decodeQuery(twoQuestions), (error: unknown) => error instanceof DnsFormatError && error.id === 7);
    const cut = encodeQuery(8, 'api').subarray(0, 15);
    assert.throws(() => decodeQuery(cut), /past the message/);
    const pointer = encodeQuery(9, 'api');
    pointer[12] = 0xc0;
    assert.throws(() => decodeQuery(pointer), /compression pointer/);
  });

  it('never throws anything but DnsFormatError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeQuery(bytes);
        } catch (error) {
          assert.ok(error instanceof DnsFormatError, String(error));
        }
      }),
    );
  });
});

describe('the fleet resolver\'s answers', () => {
  it('answers a service name with every healthy instance, TTL 1 s, rotated from one answer to the next', () => {
    const query = decodeQuery(encodeQuery(1, 'api'));
    const first = answerQuery(query, WEB, SOURCE, 0);
    const second = answerQuery(query, WEB, SOURCE, 1);
    assert.equal(first.rcode, RCODE.noError);
    assert.equal(first.ttl, RESOLVER_TTL_S);
    assert.deepEqual(first.addresses, ['10.64.17.2', '10.64.33.2']);
    assert.deepEqual(second.addresses, ['10.64.33.2', '10.64.17.2']);
  });

  it('answers an instance name with that instance only, and caps a long list', () => {
    assert.deepEqual(answerQuery(decodeQuery(encodeQuery(1, 'api-2')), WEB, SOURCE, 5).addresses, ['10.64.33.2']);
    assert.equal(answerQuery(decodeQuery(encodeQuery(1, 'many')), WEB, SOURCE, 3).addresses?.length, MAX_ANSWER_ADDRESSES);
  });

  it('refuses any other name (no recursion: Docker asks the host\'s resolvers next), and no data for AAAA of a known name', () => {
    assert.equal(answerQuery(decodeQuery(encodeQuery(1, 'example.com')), WEB, SOURCE, 0).rcode, RCODE.refused);
    assert.equal(answerQuery(decodeQuery(encodeQuery(1, 'db')), WEB, SOURCE, 0).rcode, RCODE.refused);
    const aaaa = answerQuery(decodeQuery(encodeQuery(1, 'api', DNS_TYPE_AAAA)), WEB, SOURCE, 0);
    assert.equal(aaaa.rcode, RCODE.noError);
    assert.deepEqual(aaaa.addresses, []);
  });

  it('refuses a caller on none of the host\'s project networks, and another project\'s names resolve nothing', () => {
    assert.equal(answerQuery(decodeQuery(encodeQuery(1, 'api')), undefined, SOURCE, 0).rcode, RCODE.refused);
    assert.equal(answerQuery(decodeQuery(encodeQuery(1, 'api')), { project: 'blog' }, SOURCE, 0).rcode, RCODE.refused);
  });

  it('answers NOTIMP to an opcode other than a query', () => {
    const packet = encodeQuery(1, 'api');
    packet[2] = (packet[2] ?? 0) | (4 << 3);
    assert.equal(answerQuery(decodeQuery(packet), WEB, SOURCE, 0).rcode, RCODE.notImp);
  });
});
