import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

// Containers of a project spread over hosts get the fleet resolver first in their `dns:`. It answers
// only the fleet's names and REFUSES the rest, which makes Docker's embedded DNS ask the next
// server: the host's own resolvers, listed after it, so internet names resolve as they did before.

/** resolv.conf holds three servers at most; the fleet resolver takes one of them. */
const MAX_UPSTREAM = 2;

/** Pure: the resolvers a resolv.conf names that a container can reach (not the host's loopback). */
export function upstreamResolvers(resolvConf: string): string[] {
  const servers = resolvConf
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((address): address is string => address !== undefined && isIP(address) !== 0 && !isLoopback(address));
  return [...new Set(servers)].slice(0, MAX_UPSTREAM);
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * The host's resolvers, read once at start: /etc/resolv.conf, or systemd-resolved's list of the
 * real servers when the first names only its loopback stub (as Docker itself does). None found:
 * the fleet resolver alone, and names outside the fleet do not resolve (docs/networking.md).
 */
export function readHostUpstreamResolvers(files: readonly string[] = ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']): string[] {
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const found = upstreamResolvers(text);
    if (found.length > 0) return found;
  }
  return [];
}
