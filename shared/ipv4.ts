// IPv4 addresses and prefixes as numbers: the mesh's address plan is arithmetic on these.

/** An IPv4 prefix: its first address as an unsigned 32-bit number and its length. */
export interface Ipv4Prefix {
  readonly base: number;
  readonly length: number;
}

const ADDRESS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as a number; undefined when it is not a dotted quad of 0-255. */
export function parseIpv4(text: string): number | undefined {
  const match = ADDRESS.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1).map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** `a.b.c.d/n` with no host bits set; undefined otherwise. */
export function parsePrefix(text: string): Ipv4Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const base = parseIpv4(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (base === undefined || !/^\d{1,2}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  if (length > 32 || base % prefixSize(length) !== 0) return undefined;
  return { base, length };
}

export function formatPrefix(prefix: Ipv4Prefix): string {
  return `${formatIpv4(prefix.base)}/${prefix.length}`;
}

/** How many addresses a prefix of this length holds. */
export function prefixSize(length: number): number {
  return 2 ** (32 - length);
}

export function prefixContains(outer: Ipv4Prefix, inner: Ipv4Prefix): boolean {
  return inner.length >= outer.length && inner.base >= outer.base && inner.base + prefixSize(inner.length) <= outer.base + prefixSize(outer.length);
}

export function prefixesOverlap(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  return a.base < b.base + prefixSize(b.length) && b.base < a.base + prefixSize(a.length);
}

/** The `index`th prefix of `length` inside `outer` (0-based); undefined past its end. */
export function subPrefix(outer: Ipv4Prefix, length: number, index: number): Ipv4Prefix | undefined {
  if (length < outer.length || index < 0 || index >= 2 ** (length - outer.length)) return undefined;
  return { base: outer.base + index * prefixSize(length), length };
}
