import type { DrainPlan } from '../../drain.js';
import { printable } from './printable.js';

/** `hosts drain`: the moves and the services left, one line each (what --dry-run shows, and a run before it writes). */
export function renderDrainPlan(plan: DrainPlan, force: boolean, resumed: boolean): string {
  const host = printable(plan.hostId);
  const head = `${resumed ? 'Resuming the drain of' : 'Drain of'} ${host}: ${plan.moves.length} service(s) move, ${plan.left.length} can run nowhere else${plan.left.length > 0 ? (force ? ' (stopped: --force)' : ' (left running)') : ''}`;
  if (plan.moves.length === 0 && plan.left.length === 0) return `${head}: the host runs nothing.`;
  const moves = plan.moves.map((move) => `  move   ${printable(move.project)}/${printable(move.service)}: ${move.instances} instance(s) -> ${Object.entries(move.to).map(([hostId, replicas]) => `${printable(hostId)} (${replicas} replica(s) after)`).join(', ')}`);
  const left = plan.left.map((entry) => `  ${force ? 'stop' : 'leave'}  ${printable(entry.project)}/${printable(entry.service)}: ${entry.instances} instance(s): ${printable(entry.reason)}`);
  return [head, ...moves, ...left].join('\n');
}

/** What a deadline (or a held move) leaves on the drained host. */
export function remainingLine(hostId: string, remaining: readonly { readonly project: string; readonly service: string; readonly instances: number }[]): string {
  return `${printable(hostId)} still runs ${remaining.map((entry) => `${printable(entry.project)}/${printable(entry.service)} (${entry.instances})`).join(', ')}: run \`hostwright hosts drain ${printable(hostId)}\` again to resume.`;
}
