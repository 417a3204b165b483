/** Small, dependency-free statistics for benchmark samples. Every helper rejects an empty sample. */

export interface Summary {
  readonly median: number;
  readonly p95: number;
}

function sorted(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new RangeError('no samples');
  return [...samples].sort((a, b) => a - b);
}

/** Middle value; the mean of the two middle values for an even count. */
export function median(samples: readonly number[]): number {
  const values = sorted(samples);
  const middle = Math.floor(values.length / 2);
  const upper = values[middle] as number;
  return values.length % 2 === 1 ? upper : ((values[middle - 1] as number) + upper) / 2;
}

/** Nearest-rank percentile (p in 0..100): the smallest sample with at least p% of samples at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const values = sorted(samples);
  const rank = Math.max(1, Math.ceil((p / 100) * values.length));
  return values[rank - 1] as number;
}

export function p95(samples: readonly number[]): number {
  return percentile(samples, 95);
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('no samples');
  return samples.reduce((sum, value) => sum + value, 0) / samples.length;
}

/** The least-squares slope of y against x: a trend. Unlike the helpers above, 0 when fewer than two points (or all at one x) give none. */
export function slope(points: readonly { readonly x: number; readonly y: number }[]): number {
  if (points.length < 2) return 0;
  const meanX = mean(points.map((point) => point.x));
  const meanY = mean(points.map((point) => point.y));
  const spread = points.reduce((sum, point) => sum + (point.x - meanX) ** 2, 0);
  return spread === 0 ? 0 : points.reduce((sum, point) => sum + (point.x - meanX) * (point.y - meanY), 0) / spread;
}

/** Rounds for display and JSON: figures carry more digits than the measurement is worth otherwise. */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function summarize(samples: readonly number[], digits = 3): Summary {
  return { median: round(median(samples), digits), p95: round(p95(samples), digits) };
}

/** Milliseconds elapsed since a `performance.now()` reading. */
export function elapsedMs(startedAt: number): number {
  return performance.now() - startedAt;
}
