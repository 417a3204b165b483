/**
 * How a block names a container this agent does not own. Agents that share one engine (the quick
 * start's, or a test's) see each other's containers: their labels name the owning host, so the
 * message says whose it is rather than calling it nobody's. Labels are claims, not proof: this
 * agent still never touches it.
 */
export function foreignHolderText(name: string, ownerHostId: string | undefined): string {
  return ownerHostId === undefined ? `container ${name} (not managed by Hostwright on this host)` : `container ${name} (owned by Hostwright agent ${ownerHostId})`;
}
