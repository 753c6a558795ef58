import { checkNumber, invalidArgument } from '@trainkit/core';
import type { RunRecord, Verdict } from './experiment';

/** Mean, sample standard deviation (n − 1; 0 when n < 2) and count. */
export interface Summary {
  mean: number;
  std: number;
  n: number;
}

/**
 * Mean ± sample standard deviation of the finite values.
 *
 * @returns `{ mean, std, n }`; mean is NaN when there is no finite value
 */
export function summarize(values: readonly number[]): Summary {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

/** The values of `metric` over the runs of one arm (one per seed), in seed order. */
export function armMetric(runs: readonly Pick<RunRecord, 'armId' | 'seed' | 'metrics'>[], armId: string, metric: string): number[] {
  return runs
    .filter((r) => r.armId === armId && Number.isFinite(r.metrics[metric]))
    .sort((a, b) => a.seed - b.seed)
    .map((r) => r.metrics[metric] as number);
}

/** Difference of two arms' means and its standard error. */
export interface ArmComparison {
  /** mean(A) − mean(B). */
  diff: number;
  /** Welch standard error sqrt(sA²/nA + sB²/nB); NaN when an arm has fewer than 2 runs. */
  se: number;
  nA: number;
  nB: number;
}

/**
 * Compares `metric` between arm A and arm B over their seeds (unpaired, Welch standard error).
 *
 * @returns {@link ArmComparison}
 */
export function compareArms(runs: readonly Pick<RunRecord, 'armId' | 'seed' | 'metrics'>[], armA: string, armB: string, metric: string): ArmComparison {
  const a = summarize(armMetric(runs, armA, metric));
  const b = summarize(armMetric(runs, armB, metric));
  const se = a.n >= 2 && b.n >= 2 ? Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n) : NaN;
  return { diff: a.mean - b.mean, se, nA: a.n, nB: b.n };
}

/** The verdict rule, in words; the report prints it. */
export const VERDICT_RULE =
  'A claim says one arm beats another on a metric by at least a minimum effect. With at least 2 seeds per arm, it is ' +
  'reproduced when the measured difference has the claimed sign, exceeds 2 standard errors (Welch, over seeds) and ' +
  'is at least the minimum effect; not reproduced when it has the opposite sign beyond 2 standard errors; ' +
  'otherwise inconclusive. With fewer than 2 seeds in an arm there is no standard error: reproduced when the ' +
  'difference has the claimed sign and is at least the minimum effect, not reproduced when it has the opposite sign ' +
  'and at least the minimum effect in size, otherwise inconclusive (the report gives n).';

/**
 * The verdict of a claimed difference (see {@link VERDICT_RULE}).
 *
 * @param args.diff - measured difference (A − B)
 * @param args.se - its standard error; NaN (or undefined) when an arm has fewer than 2 runs
 * @param args.direction - `'greater'`: the claim is A > B; `'less'`: A < B
 * @param args.minEffect - the smallest difference that counts, >= 0 (in the metric's units)
 * @returns the {@link Verdict}; a NaN difference is inconclusive
 */
export function verdictFromDiff(args: { diff: number; se?: number; direction: 'greater' | 'less'; minEffect?: number }): Verdict {
  if (args.direction !== 'greater' && args.direction !== 'less') throw invalidArgument('direction', args.direction, "'greater' | 'less'");
  const minEffect = checkNumber('minEffect', args.minEffect ?? 0, { min: 0 });
  if (!Number.isFinite(args.diff)) return 'inconclusive';
  const signed = args.direction === 'greater' ? args.diff : -args.diff;
  const se = args.se;
  if (se !== undefined && Number.isFinite(se) && se >= 0) {
    if (signed > 2 * se && signed >= minEffect && signed > 0) return 'reproduced';
    if (signed < -2 * se && signed < 0) return 'not reproduced';
    return 'inconclusive';
  }
  if (signed > 0 && signed >= minEffect) return 'reproduced';
  if (signed < 0 && -signed >= minEffect) return 'not reproduced';
  return 'inconclusive';
}

/**
 * `mean ± std (n=N)` of the finite values.
 *
 * @param digits - decimals. @defaultValue 3
 * @param scale - multiply first (e.g. 100 for percentages). @defaultValue 1
 */
export function formatMeanStd(values: readonly number[], digits = 3, scale = 1): string {
  const s = summarize(values);
  if (s.n === 0) return 'n/a (n=0)';
  return `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)} (n=${s.n})`;
}

/** `+1.23 ± 0.45 (nA=3, nB=3)` for a comparison (± is the standard error; `n/a` when there is none). */
export function formatDiff(c: ArmComparison, digits = 3, scale = 1): string {
  const se = Number.isFinite(c.se) ? (c.se * scale).toFixed(digits) : 'n/a';
  const d = c.diff * scale;
  return `${d >= 0 ? '+' : ''}${d.toFixed(digits)} ± ${se} SE (n=${c.nA} vs ${c.nB})`;
}
