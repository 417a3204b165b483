import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createUser } from '@nats-io/nkeys';
import { encode } from '../../shared/codec.js';
import { hostwrightEventSchema } from '../../shared/events.js';
import { openReport, sealReport, type HostKeys } from '../../shared/host-report.js';
import { signingKeyOf } from '../../shared/signed-document.js';
import { ReplyAssembler, MAX_PLAN_REPLY_PARTS, splitReply } from '../../shared/plan-reply-parts.js';
import { hostRegistrationSchema } from '../../shared/wire.js';

const h1 = signingKeyOf(createUser().getSeed());
const h2 = signingKeyOf(createUser().getSeed());
const keys: HostKeys = { keyOf: (hostId) => ({ h1: h1.publicKey, h2: h2.publicKey })[hostId] };
const registration = (hostId: string) => ({ hostId, labels: { role: 'web' }, agentVersion: '0.1.0', startedAt: 't', heartbeatAt: 't' });
const open = (bytes: Uint8Array, hostId: string, hostKeys: HostKeys | 'none' = keys) => openReport(hostRegistrationSchema, bytes, { hostId, what: `registration key ${hostId}` }, hostKeys === 'none' ? undefined : hostKeys);

describe('host reports (pure): identity from the channel, signature against the recorded key', () => {
  it('a report signed by its host\'s key, on its own key, is verified', () => {
    const report = open(sealReport(encode(registration('h1')), h1), 'h1');
    assert.deepEqual(report.trust, { verdict: 'verified' });
    assert.equal(report.value?.hostId, 'h1');
  });

  it('refuses: another host\'s key, unsigned, tampered, a payload naming another host, a host not in the manifest, not a report', () => {
    const cases: [string, Uint8Array, string, RegExp][] = [
      ['signed by h2 on h1\'s key', sealReport(encode(registration('h1')), h2), 'h1', /not by host h1's key/],
      ['unsigned', encode(registration('h1')), 'h1', /unsigned/],
      ['tampered', (() => { const bytes = sealReport(encode(registration('h1')), h1); bytes[bytes.length - 70] = (bytes[bytes.length - 70] ?? 0) ^ 1; return bytes; })(), 'h1', /signature|not a signed|invalid/],
      ['h1 claiming h2 on its own key', sealReport(encode(registration('h2')), h1), 'h1', /names host h2, but it arrived on registration key h1/],
      ['a host not in the manifest', sealReport(encode(registration('h3')), h1), 'h3', /not in the fleet's auth manifest/],
      ['not a registration', sealReport(encode({ hostId: 'h1' }), h1), 'h1', /invalid/],
      ['over the size limit', new Uint8Array(600 * 1024), 'h1', /over the/],
    ];
    for (const [what, bytes, channel, reason] of cases) {
      const report = open(bytes, channel);
      assert.equal(report.value, undefined, what);
      assert.equal(report.trust.verdict, 'refused', what);
      assert.match(report.trust.verdict === 'refused' ? report.trust.reason : '', reason, what);
      assert.equal(report.hostId, channel, `${what}: the host is the channel's`);
    }
  });

  it('without recorded keys a report is unverified, but a broken signature and a foreign host id are still refused', () => {
    assert.equal(open(encode(registration('h1')), 'h1', 'none').trust.verdict, 'unverified');
    assert.equal(open(sealReport(encode(registration('h1')), h2), 'h1', 'none').trust.verdict, 'unverified');
    assert.equal(open(sealReport(encode(registration('h2')), h1), 'h1', 'none').trust.verdict, 'refused');
  });

  it('an event must agree with its subject\'s project and type', () => {
    const event = { id: 'e1', type: 'applied', severity: 'info', hostId: 'h1', project: 'shop', message: 'm', timestamp: 't', correlationID: 'c' };
    const check = (project: string, type: string) => (value: { project: string; type: string }) => (value.project !== project || value.type !== type ? 'disagrees' : undefined);
    const bytes = sealReport(encode(event), h1);
    assert.equal(openReport(hostwrightEventSchema, bytes, { hostId: 'h1', what: 'event', check: check('shop', 'applied') }, keys).trust.verdict, 'verified');
    assert.equal(openReport(hostwrightEventSchema, bytes, { hostId: 'h1', what: 'event', check: check('shop', 'failed') }, keys).trust.verdict, 'refused');
  });

  it('never throws on any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom('h1', 'h2', 'h3'), (bytes, hostId) => {
      assert.notEqual(open(bytes, hostId).trust.verdict, 'verified');
    }));
  });
});

describe('plan replies in parts (pure)', () => {
  it('any reply splits into parts within the payload that join back to the same bytes, in any order', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 20_000 }), fc.integer({ min: 1200, max: 5000 }), fc.integer(), (reply, maxPayload, seed) => {
      const parts = splitReply(reply, maxPayload);
      if (!parts) return assert.ok(Math.ceil(reply.byteLength / (maxPayload - 1024)) > MAX_PLAN_REPLY_PARTS);
      for (const part of parts) assert.ok(part.byteLength <= maxPayload);
      const order = parts.map((part, i) => ({ part, key: (i * 7919 + seed) % 1000 })).sort((a, b) => a.key - b.key).map((entry) => entry.part);
      const assembler = new ReplyAssembler();
      let whole: Uint8Array | undefined;
      for (const part of order) whole = assembler.add(part);
      assert.deepEqual(Buffer.from(whole ?? []), Buffer.from(reply));
    }));
  });

  it('more parts than allowed is no split; a repeated or disagreeing part is refused', () => {
    assert.equal(splitReply(new Uint8Array(2048 * (MAX_PLAN_REPLY_PARTS + 1)), 2048 + 1024), undefined);
    const parts = splitReply(new Uint8Array(5000), 2024) ?? [];
    const assembler = new ReplyAssembler();
    assembler.add(parts[0] as Uint8Array);
    assert.throws(() => assembler.add(parts[0] as Uint8Array), /twice/);
    assert.throws(() => new ReplyAssembler().add(encode({ nope: 1 })), /invalid/);
  });
});
