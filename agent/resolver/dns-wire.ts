import { formatIpv4, parseIpv4 } from '../../shared/ipv4.js';

// Pure: the part of the DNS wire format (RFC 1035) the fleet resolver needs: one question in,
// A records out. Anything else is answered with an error code, never parsed further.

export const DNS_TYPE_A = 1;
export const DNS_TYPE_AAAA = 28;
export const DNS_CLASS_IN = 1;
export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

const HEADER_BYTES = 12;
const MAX_NAME_BYTES = 255;

export class DnsFormatError extends Error {
  override name = 'DnsFormatError';
  /** The query's id when the header could be read: the error answer carries it. */
  constructor(message: string, readonly id: number | undefined) {
    super(message);
  }
}

export interface DnsQuestion {
  /** Lowercase, without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface DnsQuery {
  readonly id: number;
  readonly opcode: number;
  readonly recursionDesired: boolean;
  readonly question: DnsQuestion;
}

export interface DnsAnswer {
  readonly id: number;
  readonly recursionDesired: boolean;
  readonly rcode: Rcode;
  /** Echoed back; absent only in a FORMERR to a query whose question could not be read. */
  readonly question?: DnsQuestion;
  /** A records for the question's name. */
  readonly addresses?: readonly string[];
  readonly ttl?: number;
}

/** Reads a query with exactly one question (no compression in it, as queries have none). */
export function decodeQuery(packet: Uint8Array): DnsQuery {
  if (packet.length < HEADER_BYTES) throw new DnsFormatError(`a DNS message has a 12-byte header, got ${packet.length} bytes`, undefined);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const id = view.getUint16(0);
  const flags = view.getUint16(2);
  if ((flags & 0x8000) !== 0) throw new DnsFormatError('a response, not a query', id);
  const questions = view.getUint16(4);
  if (questions !== 1) throw new DnsFormatError(`expected one question, got ${questions}`, id);
  const labels: string[] = [];
  let offset = HEADER_BYTES;
  let nameBytes = 0;
  for (;;) {
    const length = packet[offset];
    if (length === undefined) throw new DnsFormatError('the question\'s name runs past the message', id);
    offset += 1;
    if (length === 0) break;
    if (length > 63) throw new DnsFormatError('a label longer than 63 bytes, or a compression pointer in a question', id);
    if (offset + length > packet.length) throw new DnsFormatError('a label runs past the message', id);
    nameBytes += length + 1;
    if (nameBytes > MAX_NAME_BYTES) throw new DnsFormatError('a name longer than 255 bytes', id);
    labels.push(new TextDecoder().decode(packet.subarray(offset, offset + length)).toLowerCase());
    offset += length;
  }
  if (offset + 4 > packet.length) throw new DnsFormatError('the question has no type and class', id);
  return { id, opcode: (flags >> 11) & 0xf, recursionDesired: (flags & 0x0100) !== 0, question: { name: labels.join('.'), type: view.getUint16(offset), class: view.getUint16(offset + 2) } };
}

/** The response: the question echoed, then one A record per address (its name a pointer to the question's). */
export function encodeAnswer(answer: DnsAnswer): Uint8Array {
  const question = answer.question === undefined ? new Uint8Array(0) : encodeQuestion(answer.question);
  const addresses = answer.question === undefined ? [] : (answer.addresses ?? []);
  const packet = new Uint8Array(HEADER_BYTES + question.length + addresses.length * 16);
  const view = new DataView(packet.buffer);
  view.setUint16(0, answer.id);
  // QR, AA (the resolver is the authority for fleet names), RD echoed; RA never: it does not recurse.
  view.setUint16(2, 0x8000 | 0x0400 | (answer.recursionDesired ? 0x0100 : 0) | answer.rcode);
  view.setUint16(4, answer.question === undefined ? 0 : 1);
  view.setUint16(6, addresses.length);
  packet.set(question, HEADER_BYTES);
  let offset = HEADER_BYTES + question.length;
  for (const address of addresses) {
    const value = parseIpv4(address);
    if (value === undefined) throw new RangeError(`not an IPv4 address: ${address}`);
    view.setUint16(offset, 0xc000 | HEADER_BYTES);
    view.setUint16(offset + 2, DNS_TYPE_A);
    view.setUint16(offset + 4, DNS_CLASS_IN);
    view.setUint32(offset + 6, answer.ttl ?? 0);
    view.setUint16(offset + 10, 4);
    view.setUint32(offset + 12, value);
    offset += 16;
  }
  return packet;
}

function encodeQuestion(question: DnsQuestion): Uint8Array {
  const labels = question.name === '' ? [] : question.name.split('.').map((label) => new TextEncoder().encode(label));
  const bytes = new Uint8Array(labels.reduce((sum, label) => sum + label.length + 1, 0) + 5);
  let offset = 0;
  for (const label of labels) {
    bytes[offset++] = label.length;
    bytes.set(label, offset);
    offset += label.length;
  }
  bytes[offset++] = 0;
  new DataView(bytes.buffer).setUint16(offset, question.type);
  new DataView(bytes.buffer).setUint16(offset + 2, question.class);
  return bytes;
}

/** Reads a response's rcode and A records (for tests and the benchmark; the resolver never reads responses). */
export function decodeAnswerAddresses(packet: Uint8Array): { id: number; rcode: number; authoritative: boolean; addresses: string[]; ttls: number[] } {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const flags = view.getUint16(2);
  const answers = view.getUint16(6);
  let offset = HEADER_BYTES;
  if (view.getUint16(4) === 1) {
    while (packet[offset] !== 0) offset += (packet[offset] ?? 0) + 1;
    offset += 5;
  }
  const addresses: string[] = [];
  const ttls: number[] = [];
  for (let i = 0; i < answers; i++) {
    offset += 2;
    const type = view.getUint16(offset);
    ttls.push(view.getUint32(offset + 4));
    const length = view.getUint16(offset + 8);
    if (type === DNS_TYPE_A && length === 4) addresses.push(formatIpv4(view.getUint32(offset + 10)));
    offset += 10 + length;
  }
  return { id: view.getUint16(0), rcode: flags & 0xf, authoritative: (flags & 0x0400) !== 0, addresses, ttls };
}

/** A query for `name` (tests, the benchmark and the e2e's checks). */
export function encodeQuery(id: number, name: string, type = DNS_TYPE_A): Uint8Array {
  const question = encodeQuestion({ name, type, class: DNS_CLASS_IN });
  const packet = new Uint8Array(HEADER_BYTES + question.length);
  const view = new DataView(packet.buffer);
  view.setUint16(0, id);
  view.setUint16(2, 0x0100);
  view.setUint16(4, 1);
  packet.set(question, HEADER_BYTES);
  return packet;
}
