import { DNS_CLASS_IN, DNS_TYPE_A, RCODE, type DnsAnswer, type DnsQuery } from './dns-wire.js';

// Pure: what the fleet resolver answers. It knows only the fleet's names, as compose gives them,
// for the project of the container asking; it never recurses. Any other name is REFUSED: Docker's
// embedded DNS then asks the next server of the container's `dns:`, the host's own resolvers.

/** Answers carry this TTL (seconds): a withdrawn endpoint leaves clients' caches within it. */
export const RESOLVER_TTL_S = 1;
/** At most this many A records per answer (a classic 512-byte UDP answer); the rotation shares the rest. */
export const MAX_ANSWER_ADDRESSES = 16;

/** Where names come from: the endpoint registry's reader (agent/fleet/endpoint-registry.ts) fits it. */
export interface NameSource {
  /** Healthy instances `name` reaches in `project` (service, `<service>-<n>`, `<project>-<service>-<n>`, aliases), on `network` when given. */
  resolve(project: string, name: string, network?: string): readonly { readonly address: string }[];
}

/** Who asks: the project network the query's source address is on. */
export interface Caller {
  readonly project: string;
  readonly network?: string;
}

/** The answer to one query; `rotation` (a counter) turns the address list so successive answers share the load. */
export function answerQuery(query: DnsQuery, caller: Caller | undefined, source: NameSource, rotation: number): DnsAnswer {
  const base = { id: query.id, recursionDesired: query.recursionDesired, question: query.question };
  if (query.opcode !== 0) return { ...base, rcode: RCODE.notImp };
  // Only containers on this host's project networks may ask, and only about the internet class.
  if (caller === undefined || query.question.class !== DNS_CLASS_IN) return { ...base, rcode: RCODE.refused };
  const addresses = [...new Set(source.resolve(caller.project, query.question.name, caller.network).map((endpoint) => endpoint.address))];
  if (addresses.length === 0) return { ...base, rcode: RCODE.refused };
  // A name we know with no record of the asked type (AAAA, say): no data, which is not NXDOMAIN.
  if (query.question.type !== DNS_TYPE_A) return { ...base, rcode: RCODE.noError, addresses: [] };
  const turn = rotation % addresses.length;
  const rotated = [...addresses.slice(turn), ...addresses.slice(0, turn)].slice(0, MAX_ANSWER_ADDRESSES);
  return { ...base, rcode: RCODE.noError, addresses: rotated, ttl: RESOLVER_TTL_S };
}
