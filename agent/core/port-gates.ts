import type { Action } from '../../shared/actions.js';
import { compareStrings } from '../../shared/compare.js';
import { parsePortMapping } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import type { GateBlock } from '../../shared/host-status.js';
import type { HeldPort } from './snapshot.js';
import { foreignHolderText } from './holders.js';

// Host ports a plan would bind twice: Docker finds out only at start ("port is already
// allocated"), after the old instance may be gone; the gate finds out in `plan`.

/** One fixed host port a desired service publishes. */
interface Binding {
  readonly project: string;
  readonly service: string;
  readonly ip: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly text: string;
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::', '']);

/** Two bindings of one port and protocol collide when their addresses are equal or either is every address. */
function overlaps(a: { ip: string; port: number; protocol: string }, b: { ip: string; port: number; protocol: string }): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || ANY_ADDRESS.has(a.ip) || ANY_ADDRESS.has(b.ip));
}

function bindingText(binding: { ip: string; port: number; protocol: string }): string {
  return `${ANY_ADDRESS.has(binding.ip) ? '0.0.0.0' : binding.ip}:${binding.port}/${binding.protocol}`;
}

/**
 * Pure: `port-conflict` blocks, for the projects whose plan creates or starts an instance that
 * binds a host ip:port another desired instance on this host binds (in any project), or that a
 * running container Hostwright does not own holds.
 */
export function portConflicts(desired: readonly HostDesired[], actions: readonly Action[], foreignPorts: readonly HeldPort[]): GateBlock[] {
  const bindings: Binding[] = [];
  for (const document of [...desired].sort((a, b) => compareStrings(a.project, b.project))) {
    for (const service of Object.keys(document.services).sort(compareStrings)) {
      const spec = document.services[service];
      if (spec === undefined || spec.replicas === 0) continue;
      for (const text of spec.ports) {
        const mapping = parsePortMapping(text);
        if (mapping.hostPort !== undefined) bindings.push({ project: document.project, service, ip: mapping.hostIp ?? '0.0.0.0', port: mapping.hostPort, protocol: mapping.protocol, text });
      }
    }
  }
  if (bindings.length === 0) return [];
  // The services this plan brings up: only they can fail to bind.
  const starting = new Set<string>();
  for (const action of actions) if (action.kind === 'create' || action.kind === 'start') starting.add(`${action.key.project}\u0000${action.key.service}`);
  const starts = (binding: Binding) => starting.has(`${binding.project}\u0000${binding.service}`);
  const blocks: GateBlock[] = [];
  const byPort = new Map<string, Binding[]>();
  for (const binding of bindings) {
    const group = byPort.get(`${binding.port}/${binding.protocol}`);
    if (group) group.push(binding);
    else byPort.set(`${binding.port}/${binding.protocol}`, [binding]);
  }
  for (const group of byPort.values()) {
    for (let i = 0; i < group.length; i += 1) {
      for (let j = i + 1; j < group.length; j += 1) {
        const [a, b] = [group[i] as Binding, group[j] as Binding];
        if (!overlaps(a, b)) continue;
        const message = `${a.project}/${a.service} ("${a.text}") and ${b.project}/${b.service} ("${b.text}") bind the same host port ${a.port}/${a.protocol} on this host; give one of them another port or host address`;
        for (const side of [a, b]) if (starts(side)) blocks.push({ project: side.project, gate: 'port-conflict', message });
      }
    }
  }
  for (const binding of bindings) {
    if (!starts(binding)) continue;
    for (const held of foreignPorts) {
      if (!overlaps(binding, held)) continue;
      blocks.push({ project: binding.project, gate: 'port-conflict', message: `${binding.project}/${binding.service} binds host port "${binding.text}", which ${held.ownerHostId === undefined ? `container ${held.holder} (not owned by Hostwright)` : foreignHolderText(held.holder, held.ownerHostId)} already holds (${bindingText(held)}); stop it or choose another port` });
    }
  }
  return blocks;
}
