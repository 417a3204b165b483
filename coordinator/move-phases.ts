import { compareStrings } from '../shared/compare.js';
import { InvalidInputError } from '../shared/errors.js';
import { hasHealthcheck } from '../shared/fleet-spec.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { StatusReport } from '../shared/wire.js';
import type { HostTarget } from './fleet-targets.js';
import { desiredContentHash } from './placement.js';
import { completedOneShot } from './rollout/rollout-step.js';

/** A service whose instances one apply takes off some hosts and puts on others. */
export interface ServiceMove {
  readonly service: string;
  /** Hosts that run fewer of its instances afterwards (they give), sorted. */
  readonly from: readonly string[];
  /** Hosts that run more of them afterwards (they receive), sorted. */
  readonly to: readonly string[];
}

/**
 * A make-before-break write order. `first` holds every host that changes, with the instances of
 * moved services it gives still kept (a host that only gives is not in it); `second` holds the
 * final documents of the giving hosts, written only once `first`'s receiving hosts run the moved
 * services healthy. Without a move, `first` is every target and `second` is empty.
 */
export interface MovePhases {
  readonly moves: readonly ServiceMove[];
  readonly first: readonly HostTarget[];
  readonly second: readonly HostTarget[];
  /** Per receiving host, the moved services it must run healthy before `second` is written. */
  readonly receiving: ReadonlyMap<string, readonly string[]>;
}

function replicasOf(document: HostDesired | undefined, service: string): number {
  return document?.services[service]?.replicas ?? 0;
}

/** Instances of each service running on each host, as the hosts last reported (a host absent: not known). */
export type RunningInstances = ReadonlyMap<string, Readonly<Record<string, number>>>;

/**
 * Pure: the services whose instances leave some hosts while other hosts must make instances of
 * them. A host must make what it is to run beyond what it runs: its report's count where known
 * (a host told before but blocked runs nothing yet), else what it was told before.
 */
export function serviceMoves(previous: ReadonlyMap<string, HostDesired>, targets: readonly HostTarget[], running: RunningInstances = new Map()): ServiceMove[] {
  const services = new Set<string>();
  for (const target of targets) {
    for (const name of Object.keys(target.document.services)) services.add(name);
    for (const name of Object.keys(previous.get(target.hostId)?.services ?? {})) services.add(name);
  }
  const moves: ServiceMove[] = [];
  for (const service of [...services].sort(compareStrings)) {
    const from: string[] = [];
    const to: string[] = [];
    for (const target of targets) {
      const before = replicasOf(previous.get(target.hostId), service);
      const after = replicasOf(target.document, service);
      const reported = running.get(target.hostId);
      const runs = reported === undefined ? before : (reported[service] ?? 0);
      if (after < before) from.push(target.hostId);
      else if (after > runs) to.push(target.hostId);
    }
    if (from.length > 0 && to.length > 0) moves.push({ service, from: from.sort(compareStrings), to: to.sort(compareStrings) });
  }
  return moves;
}

/**
 * Pure: orders one apply's writes make-before-break. `previous` is what each host was told before
 * (absent: nothing); `targets` are the final documents (fleetTargets); `running` what the hosts
 * reported running.
 */
export function movePhases(previous: ReadonlyMap<string, HostDesired>, targets: readonly HostTarget[], running: RunningInstances = new Map()): MovePhases {
  const moves = serviceMoves(previous, targets, running);
  const receiving = new Map<string, string[]>();
  for (const move of moves) for (const hostId of move.to) receiving.set(hostId, [...(receiving.get(hostId) ?? []), move.service]);
  if (moves.length === 0) return { moves, first: targets, second: [], receiving };
  const first: HostTarget[] = [];
  const second: HostTarget[] = [];
  for (const target of targets) {
    const before = previous.get(target.hostId);
    const given = moves.filter((move) => move.from.includes(target.hostId)).map((move) => move.service);
    if (before === undefined || given.length === 0) {
      first.push(target);
      continue;
    }
    const kept = keepingGiven(before, target.document, given);
    // A host that only gives has nothing to write before the receiving hosts are ready.
    if (desiredContentHash(kept) !== desiredContentHash(before)) first.push({ ...target, document: kept, changed: true });
    second.push(target);
  }
  return { moves, first, second, receiving };
}

/** The final document with the given services' instances as they were: every other change goes ahead. */
function keepingGiven(before: HostDesired, after: HostDesired, given: readonly string[]): HostDesired {
  const services = { ...after.services };
  for (const service of given) {
    const spec = before.services[service];
    if (spec !== undefined) services[service] = spec;
  }
  const sorted = Object.fromEntries(Object.keys(services).sort(compareStrings).map((name) => [name, services[name]])) as HostDesired['services'];
  // The kept services' networks and volumes stay declared (the final document may no longer name them).
  const networks = before.networks === undefined && after.networks === undefined ? undefined : { ...before.networks, ...after.networks };
  const volumes = before.volumes === undefined && after.volumes === undefined ? undefined : { ...before.volumes, ...after.volumes };
  const { networks: _n, volumes: _v, ...rest } = after;
  return { ...rest, services: sorted, ...(networks === undefined ? {} : { networks }), ...(volumes === undefined ? {} : { volumes }), allowEmpty: before.allowEmpty };
}

/**
 * Pure: for a rollout (which writes each host once), the receiving hosts each giving host waits
 * for. A host that both gives and receives moved services (a swap) cannot be ordered so: refused.
 */
export function rolloutMoveOrder(phases: MovePhases): Map<string, string[]> {
  const after = new Map<string, string[]>();
  for (const move of phases.moves) {
    for (const hostId of move.from) after.set(hostId, [...new Set([...(after.get(hostId) ?? []), ...move.to])].sort(compareStrings));
  }
  const both = [...after.keys()].filter((hostId) => phases.receiving.has(hostId));
  if (both.length > 0) {
    const moves = phases.moves.map((move) => `${move.service} ${move.from.join(',')} -> ${move.to.join(',')}`).join('; ');
    throw new InvalidInputError(`rollout: ${both.join(', ')} both give${both.length === 1 ? 's' : ''} and receive${both.length === 1 ? 's' : ''} moved services (${moves}); a rollout writes each host once, so it cannot keep every service running through that. Apply it with \`hostwright apply -f …\` (which writes such a host twice: first with both, then without what it gives), or move one service per rollout`);
  }
  return after;
}

export type ReceivingState = 'ready' | 'waiting' | 'blocked' | 'failed' | 'refused' | 'stale';

/**
 * Pure: whether a receiving host runs its moved services as the written revision asks: applied,
 * every instance of them running and healthy (or without a health check), or a one-shot that
 * completed, as a rollout's gate has it. `blocked` and `failed`
 * are final for this revision; the others may still change.
 */
export function receivingState(
  written: { readonly document: HostDesired },
  services: readonly string[],
  reported: { readonly report: StatusReport | undefined; readonly refused: string | undefined; readonly stale: boolean },
): { state: ReceivingState; detail: string } {
  const { document } = written;
  if (reported.refused !== undefined) return { state: 'refused', detail: `its status report was refused: ${reported.refused}` };
  const project = reported.report?.status.projects.find((p) => p.project === document.project);
  if (project?.rejected?.revision === document.revision) return { state: 'failed', detail: project.rejected.reason };
  if (project === undefined || project.desiredRevision !== document.revision) {
    return reported.stale ? { state: 'stale', detail: 'no heartbeat: the agent is down or cut off' } : { state: 'waiting', detail: 'the agent has not picked up the revision yet' };
  }
  if (project.blocked.length > 0) return { state: 'blocked', detail: project.blocked.map((b) => b.message).join('; ') };
  const counts = services.map((service) => {
    const spec = document.services[service];
    const ready = project.instances.filter((i) => i.service === service && (completedOneShot(document, i) || (i.state === 'running' && (i.health === 'healthy' || (i.health === 'none' && !hasHealthcheck(spec?.healthcheck)))))).length;
    return { service, ready, wanted: spec?.replicas ?? 0 };
  });
  const applied = project.appliedRevision === document.revision && project.converged;
  if (applied && counts.every((c) => c.ready >= c.wanted)) return { state: 'ready', detail: counts.map((c) => `${c.service} ${c.ready}/${c.wanted}`).join(', ') + ' running and healthy' };
  return { state: 'waiting', detail: `${counts.map((c) => `${c.service} ${c.ready}/${c.wanted}`).join(', ')} running and healthy${applied ? '' : `, ${project.pendingActions} pending action(s)`}` };
}

/** `plan --json` and `apply --json`: the same order as data (`acting`: the hosts the apply writes). */
export function moveOrderJson(phases: MovePhases, acting: ReadonlySet<string>): { moves: { service: string; from: string[]; to: string[] }[]; phase1: string[]; phase2: string[] } {
  return {
    moves: phases.moves.map((move) => ({ service: move.service, from: [...move.from], to: [...move.to] })),
    phase1: phases.first.map((t) => t.hostId).filter((hostId) => acting.has(hostId)),
    phase2: phases.second.map((t) => t.hostId),
  };
}
