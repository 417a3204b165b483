import type { RolloutHostState, RolloutView } from './dashboard-types.js';

/** A rollout drawn over time: one lane per host, grouped by wave; each bar from written to finished (or now). */
export interface RolloutTimeline {
  readonly width: number;
  readonly height: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly lanes: readonly TimelineLane[];
  /** Each wave's span across its hosts' bars, behind them. */
  readonly waves: readonly { readonly wave: number; readonly x: number; readonly width: number; readonly y: number; readonly height: number }[];
  /** Time axis ticks: x and seconds since the start. */
  readonly ticks: readonly { readonly x: number; readonly label: string }[];
}

export interface TimelineLane {
  readonly hostId: string;
  readonly wave: number;
  readonly y: number;
  readonly state: RolloutHostState;
  /** Absent while the host has not started. */
  readonly bar?: { readonly x: number; readonly width: number; readonly healthyX?: number };
}

export interface TimelineLayout {
  readonly width: number;
  readonly laneHeight: number;
  /** Room at the left for the host names. */
  readonly labelWidth: number;
  /** Room at the bottom for the ticks. */
  readonly axisHeight: number;
}

export const TIMELINE_LAYOUT: TimelineLayout = { width: 720, laneHeight: 18, labelWidth: 140, axisHeight: 18 };

/** The timeline of `rollout` at `nowMs` (bars of running hosts end there). Pure. */
export function rolloutTimeline(rollout: RolloutView, nowMs: number, layout: TimelineLayout = TIMELINE_LAYOUT): RolloutTimeline {
  const hosts = [...rollout.hosts].sort((a, b) => a.wave - b.wave || (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
  const times = hosts.flatMap((host) => [host.startedAt, host.healthySince, host.finishedAt].map(parse).filter((ms): ms is number => ms !== undefined));
  const created = parse(rollout.createdAt);
  const startMs = Math.min(...[created ?? nowMs, ...times]);
  const finished = ['succeeded', 'failed', 'rolled-back', 'aborted'].includes(rollout.status);
  const endMs = Math.max(startMs + 1000, ...(finished ? [parse(rollout.updatedAt) ?? startMs, ...times] : [nowMs, ...times]));
  const plotWidth = Math.max(1, layout.width - layout.labelWidth - 4);
  const x = (ms: number) => round(layout.labelWidth + ((ms - startMs) / (endMs - startMs)) * plotWidth);
  const lanes: TimelineLane[] = hosts.map((host, index) => {
    const y = index * layout.laneHeight;
    const from = parse(host.startedAt);
    if (from === undefined) return { hostId: host.hostId, wave: host.wave, y, state: host.state };
    const running = host.state === 'applying' || host.state === 'rolling-back';
    const to = parse(host.finishedAt) ?? (running && !finished ? nowMs : (parse(host.healthySince) ?? from));
    const healthy = parse(host.healthySince);
    const bar = { x: x(from), width: Math.max(2, round(x(Math.max(to, from)) - x(from))), ...(healthy === undefined ? {} : { healthyX: x(healthy) }) };
    return { hostId: host.hostId, wave: host.wave, y, state: host.state, bar };
  });
  const waves = [...new Set(lanes.map((lane) => lane.wave))].flatMap((wave) => {
    const inWave = lanes.filter((lane) => lane.wave === wave);
    const bars = inWave.flatMap((lane) => (lane.bar ? [lane.bar] : []));
    const top = Math.min(...inWave.map((lane) => lane.y));
    const bottom = Math.max(...inWave.map((lane) => lane.y)) + layout.laneHeight;
    if (bars.length === 0) return [];
    const left = Math.min(...bars.map((bar) => bar.x));
    const right = Math.max(...bars.map((bar) => bar.x + bar.width));
    return [{ wave, x: left, width: round(right - left), y: top, height: bottom - top }];
  });
  const lanesHeight = lanes.length * layout.laneHeight;
  return { width: layout.width, height: lanesHeight + layout.axisHeight, startMs, endMs, lanes, waves, ticks: ticks(startMs, endMs, x) };
}

/** About five ticks at a round number of seconds or minutes. */
function ticks(startMs: number, endMs: number, x: (ms: number) => number): { x: number; label: string }[] {
  const spanS = (endMs - startMs) / 1000;
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const stepS = steps.find((step) => spanS / step <= 6) ?? Math.ceil(spanS / 6 / 3600) * 3600;
  const result: { x: number; label: string }[] = [];
  for (let s = 0; s <= spanS; s += stepS) result.push({ x: x(startMs + s * 1000), label: s < 60 ? `${s}s` : s % 60 === 0 ? `${s / 60}m` : `${Math.floor(s / 60)}m${s % 60}s` });
  return result;
}

function parse(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
