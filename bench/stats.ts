// Summary statistics for benchmark samples (milliseconds).
export interface Stats {
  n: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const r = (x: number): number => Number(x.toFixed(2));
  return { n: s.length, min: r(s[0]!), median: r(at(0.5)), p95: r(at(0.95)), max: r(s[s.length - 1]!) };
}

export const ratio = (ours: number, theirs: number): string => (theirs > 0 ? `${(ours / theirs).toFixed(2)}×` : 'n/a');
