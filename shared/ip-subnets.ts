// IPv4 and IPv6 addresses and subnets as a project network's `ipam.config` gives them, and the
// containment check that a gateway and a fixed address must pass. Pure.

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export type IpFamily = 4 | 6;

/** True for a dotted IPv4 address such as 172.28.0.10. */
export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

/** The address as a number (IPv4: 32 bits, IPv6: 128 bits), or undefined when it is not one of the family. */
export function addressValue(text: string, family: IpFamily): bigint | undefined {
  if (family === 4) return isIpv4(text) ? text.split('.').reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n) : undefined;
  return ipv6Value(text);
}

function ipv6Value(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (const [index, piece] of pieces.entries()) {
      // An IPv4 tail (::ffff:10.0.0.1) is the last two groups.
      if (index === pieces.length - 1 && piece.includes('.')) {
        const v4 = addressValue(piece, 4);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) groups.push(parseInt(piece, 16));
      else return undefined;
    }
    return groups;
  };
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail].reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** The family of an address, or undefined when it is neither. */
export function addressFamily(text: string): IpFamily | undefined {
  if (isIpv4(text)) return 4;
  return ipv6Value(text) === undefined ? undefined : 6;
}

/** A subnet in CIDR form: its family, base and prefix length; undefined when malformed. */
export function parseSubnet(text: string): { family: IpFamily; base: bigint; bits: number } | undefined {
  const [address, bits, extra] = text.split('/');
  if (extra !== undefined || address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return undefined;
  const family = addressFamily(address);
  if (family === undefined || Number(bits) > (family === 4 ? 32 : 128)) return undefined;
  return { family, base: addressValue(address, family) as bigint, bits: Number(bits) };
}

/** True when `address` lies inside the CIDR `subnet` (both of one family). */
export function subnetContains(subnet: string, address: string): boolean {
  const parsed = parseSubnet(subnet);
  if (parsed === undefined) return false;
  const value = addressValue(address, parsed.family);
  if (value === undefined) return false;
  const width = parsed.family === 4 ? 32n : 128n;
  const shift = width - BigInt(parsed.bits);
  return parsed.base >> shift === value >> shift;
}
