import type { MovePhases, ServiceMove } from '../../move-phases.js';
import { printable } from './printable.js';

function hostList(hostIds: readonly string[]): string {
  return hostIds.map((hostId) => printable(hostId)).join(', ');
}

function moveText(move: ServiceMove): string {
  return `${printable(move.service)} (${hostList(move.from)} -> ${hostList(move.to)})`;
}

/** `plan` and `apply`: the make-before-break order of a fleet change that moves services ('' without a move). */
export function renderMoveOrder(phases: MovePhases, acting: ReadonlySet<string>): string {
  if (phases.moves.length === 0) return '';
  const first = phases.first.map((t) => t.hostId).filter((hostId) => acting.has(hostId));
  const receiving = [...phases.receiving.keys()];
  return [
    `Moves: ${phases.moves.map(moveText).join(', ')}`,
    `  phase 1: ${first.length > 0 ? hostList(first) : '(nothing)'} (the giving hosts keep their instances of the moved services)`,
    `  phase 2: ${hostList(phases.second.map((t) => t.hostId))}, once ${hostList(receiving)} run${receiving.length === 1 ? 's' : ''} the moved services healthy`,
  ].join('\n');
}

/** `apply`: the giving hosts were not written because a receiving host did not take the moved services. */
export function heldLine(held: readonly string[], phases: MovePhases, why: readonly string[]): string {
  const services = phases.moves.filter((move) => move.from.some((hostId) => held.includes(hostId))).map((move) => printable(move.service));
  return `Phase 2 not written: ${hostList(held)} keep${held.length === 1 ? 's' : ''} ${services.join(', ')} running, since ${why.map((reason) => printable(reason)).join('; ')}. Fix that and apply again.`;
}
