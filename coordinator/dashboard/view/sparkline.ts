import type { HostCycle, HostCycleTuple } from './dashboard-types.js';

/** A sparkline's geometry: the polyline of cycle durations and a mark for each cycle that found drift. */
export interface Sparkline {
  /** SVG path data (`M x y L x y …`); empty without cycles. */
  readonly path: string;
  readonly driftMarks: readonly { readonly x: number; readonly y: number; readonly drift: number }[];
  /** The longest cycle drawn, for the title. */
  readonly maxMs: number;
  readonly lastMs: number | undefined;
}

/**
 * Cycle durations scaled into a `width` × `height` box (y grows down, 1 px margin), oldest on the
 * left; one cycle alone is a flat line. Pure: the same cycles give the same path.
 */
export function sparkline(cycles: readonly HostCycle[], width: number, height: number): Sparkline {
  if (cycles.length === 0) return { path: '', driftMarks: [], maxMs: 0, lastMs: undefined };
  const durations = cycles.map((cycle) => (Number.isFinite(cycle.durationMs) && cycle.durationMs > 0 ? cycle.durationMs : 0));
  const maxMs = Math.max(...durations);
  const margin = 1;
  const span = height - 2 * margin;
  const step = cycles.length === 1 ? 0 : (width - 2 * margin) / (cycles.length - 1);
  const point = (index: number): { x: number; y: number } => ({
    x: round(margin + index * step),
    y: round(maxMs === 0 ? height - margin : height - margin - (durations[index]! / maxMs) * span),
  });
  const points = durations.map((_, index) => point(index));
  if (points.length === 1) points.push({ x: round(width - margin), y: points[0]!.y });
  const path = points.map((p, index) => `${index === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' ');
  const driftMarks = cycles.flatMap((cycle, index) => (cycle.drift > 0 ? [{ ...point(index), drift: cycle.drift }] : []));
  return { path, driftMarks, maxMs, lastMs: durations[durations.length - 1] };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Pure: the fleet view's cycle tuples as the sparkline draws them. */
export function cyclesOfTuples(tuples: readonly HostCycleTuple[]): HostCycle[] {
  return tuples.map(([at, durationMs, drift]) => ({ at: new Date(at).toISOString(), durationMs, drift }));
}
