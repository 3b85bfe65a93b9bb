/** Summary statistics of benchmark samples (milliseconds). */

export interface Summary {
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
  /** Successful samples the summary is computed from. */
  samples: number;
}

/** Median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const s = sorted(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100): the smallest sample with at least p % of samples at or below it. */
export function percentile(values: readonly number[], p: number): number {
  const s = sorted(values);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(rank, s.length) - 1] as number;
}

export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  return {
    medianMs: round(median(s)),
    p90Ms: round(percentile(s, 90)),
    minMs: round(s[0] as number),
    maxMs: round(s[s.length - 1] as number),
    samples: s.length,
  };
}

/** Rounds to 0.1 (ms or MB). */
export function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new Error("no samples");
  return [...values].sort((a, b) => a - b);
}
