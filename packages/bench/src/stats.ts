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

/**
 * The older 2-standard-error verdict of a claimed difference (kept for callers outside the bench's experiments, which
 * use {@link judgeEffect}).
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
  if (s.n === 1) return `${(s.mean * scale).toFixed(digits)} (n=1)`;
  return `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)} (n=${s.n})`;
}

/** `+1.23 ± 0.45 SE (n=3 vs 3)` for a comparison (± is the standard error; left out when there is none, e.g. n=1). */
export function formatDiff(c: ArmComparison, digits = 3, scale = 1): string {
  const d = c.diff * scale;
  const se = Number.isFinite(c.se) ? ` ± ${(c.se * scale).toFixed(digits)} SE` : '';
  return `${d >= 0 ? '+' : ''}${d.toFixed(digits)}${se} (n=${c.nA} vs ${c.nB})`;
}

// ---------- paired effects with 95% intervals (the bench's verdict rule) ----------

/** ln Γ(x) for x > 0 (Lanczos, g = 7; |error| < 1e-13 on the range used here). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised incomplete beta I_x(a, b) (continued fraction, Numerical Recipes §6.4). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  const cf = (xx: number, aa: number, bb: number): number => {
    let f = 1;
    let C = 1;
    let D = 1 - ((aa + bb) * xx) / (aa + 1);
    D = Math.abs(D) < 1e-300 ? 1e300 : 1 / D;
    f = D;
    for (let m = 1; m <= 300; m++) {
      for (const num of [(m * (bb - m) * xx) / ((aa + 2 * m - 1) * (aa + 2 * m)), -((aa + m) * (aa + bb + m) * xx) / ((aa + 2 * m) * (aa + 2 * m + 1))]) {
        D = 1 + num * D;
        D = Math.abs(D) < 1e-300 ? 1e300 : 1 / D;
        C = 1 + num / C;
        if (Math.abs(C) < 1e-300) C = 1e-300;
        f *= C * D;
      }
      if (Math.abs(C * D - 1) < 1e-15) break;
    }
    return f;
  };
  return x < (a + 1) / (a + b + 2) ? (front * cf(x, a, b)) / a : 1 - (front * cf(1 - x, b, a)) / b;
}

/** Student-t CDF P(T ≤ t) with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The q-quantile of Student's t with `df` degrees of freedom (bisection on {@link studentTCdf}).
 *
 * @throws TrainkitError for q outside (0, 1) or df < 1
 */
export function studentTQuantile(q: number, df: number): number {
  checkNumber('q', q, { minExclusive: 0, maxExclusive: 1 });
  checkNumber('df', df, { min: 1 });
  let lo = -1e4;
  let hi = 1e4;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A paired effect: the mean of per-seed differences with its 95% t interval. */
export interface Effect {
  /** Mean of the differences (NaN when there are none). */
  mean: number;
  /** Standard error sd/√n (NaN when n < 2). */
  se: number;
  n: number;
  /** 95% two-sided t interval [lo, hi] (NaN when n < 2). */
  lo: number;
  hi: number;
  /**
   * The smallest true effect this design detects with 80% power at the 5% level (two-sided):
   * (t₀.₉₇₅ + t₀.₈₀)·SE with n − 1 degrees of freedom (NaN when n < 2).
   */
  detectable: number;
}

/**
 * Per-seed differences `metric(armA) − metric(armB)` over the seeds both arms ran (every arm of a seed starts from the
 * same initial weights and sees the same data order), in seed order.
 */
export function pairedDiffs(runs: readonly Pick<RunRecord, 'armId' | 'seed' | 'metrics'>[], armA: string, armB: string, metric: string): number[] {
  const b = new Map(runs.filter((r) => r.armId === armB && Number.isFinite(r.metrics[metric])).map((r) => [r.seed, r.metrics[metric] as number]));
  return runs
    .filter((r) => r.armId === armA && Number.isFinite(r.metrics[metric]) && b.has(r.seed))
    .sort((x, y) => x.seed - y.seed)
    .map((r) => (r.metrics[metric] as number) - (b.get(r.seed) as number));
}

/**
 * The mean of paired differences with its 95% t interval and the smallest detectable effect.
 *
 * @param diffs - one difference per independent unit (seed); non-finite values are ignored
 */
export function effectOf(diffs: readonly number[]): Effect {
  const s = summarize(diffs);
  if (s.n < 2) return { mean: s.mean, se: NaN, n: s.n, lo: NaN, hi: NaN, detectable: NaN };
  const se = s.std / Math.sqrt(s.n);
  const t975 = studentTQuantile(0.975, s.n - 1);
  const t80 = studentTQuantile(0.8, s.n - 1);
  return { mean: s.mean, se, n: s.n, lo: s.mean - t975 * se, hi: s.mean + t975 * se, detectable: (t975 + t80) * se };
}

/** The short rule names a {@link ClaimVerdict} carries, and their text (the report prints each once). */
export const RULES: Readonly<Record<string, string>> = Object.freeze({
  'paired-95':
    'Paired arms (the same initial weights and data order per seed), one difference per seed, 95% t interval of the mean difference. ' +
    'Reproduced: the interval lies on the claimed side of 0 and the mean reaches the claim\u2019s minimum effect. Not reproduced: the interval lies on the other side of 0. ' +
    'Not reproduced (effect < X at 95%): the interval excludes the paper\u2019s effect size (X = the interval\u2019s bound towards it). Otherwise inconclusive; ' +
    'with one seed there is no interval and the verdict is inconclusive.',
  'equivalence-95':
    'For an "≈" claim with margin M: reproduced when the 95% interval of the paired difference lies inside ±M, not reproduced when it lies entirely outside ±M, otherwise inconclusive.',
  'non-inferiority-95':
    'For "at most M worse": reproduced when the 95% interval of the paired difference lies above −M, not reproduced when it lies below −M, otherwise inconclusive.',
  threshold:
    'A deterministic quantity (no seed noise) compared with a threshold named in the claim: reproduced when it meets the threshold, else not reproduced.',
  premise:
    'The claim presupposes an effect (named in its row); when that premise is not reproduced the claim is inconclusive, else it is judged by paired-95.',
  smoke: 'The smoke profile checks the plumbing only; its rows carry no verdict.',
});

/** The rule of the bench's paired verdicts (the report prints every rule of {@link RULES} once). */
export const VERDICT_RULE: string = RULES['paired-95'] as string;

/** Verdict text of a claim whose arms have no paired runs (yet). */
export const NO_RUNS = 'no verdict (arms not run)';

/** What {@link judgeEffect} decides: the verdict and its printed text. */
export interface Judgement {
  verdict: Verdict;
  /** `verdict`, or e.g. `not reproduced (effect < 1.2 points at 95%)`. */
  text: string;
}

/**
 * The `paired-95` verdict of an effect (see {@link RULES}).
 *
 * @param args.direction - `'greater'`: the claim is A > B; `'less'`: A < B
 * @param args.minEffect - smallest difference that counts, >= 0, in the metric's units. @defaultValue 0
 * @param args.paperEffect - the paper's effect size (> 0, in the claimed direction), when it gives one
 * @param args.format - prints X in the "effect < X" text. @defaultValue 3 significant digits
 */
export function judgeEffect(args: { effect: Effect; direction: 'greater' | 'less'; minEffect?: number; paperEffect?: number; format?: (x: number) => string }): Judgement {
  if (args.direction !== 'greater' && args.direction !== 'less') throw invalidArgument('direction', args.direction, "'greater' | 'less'");
  const minEffect = checkNumber('minEffect', args.minEffect ?? 0, { min: 0 });
  if (args.paperEffect !== undefined) checkNumber('paperEffect', args.paperEffect, { minExclusive: 0 });
  const e = args.effect;
  const sign = args.direction === 'greater' ? 1 : -1;
  const mean = sign * e.mean;
  const lo = Math.min(sign * e.lo, sign * e.hi);
  const hi = Math.max(sign * e.lo, sign * e.hi);
  const fmt = args.format ?? ((x: number) => String(Number(x.toPrecision(3))));
  if (e.n === 0) return { verdict: 'inconclusive', text: NO_RUNS };
  if (!(e.n >= 2) || !Number.isFinite(lo) || !Number.isFinite(hi)) return { verdict: 'inconclusive', text: 'inconclusive' };
  if (lo > 0 && mean >= minEffect) return { verdict: 'reproduced', text: 'reproduced' };
  if (hi < 0) return { verdict: 'not reproduced', text: 'not reproduced' };
  if (args.paperEffect !== undefined && hi < args.paperEffect) return { verdict: 'not reproduced', text: `not reproduced (effect < ${fmt(Math.max(hi, 0))} at 95%)` };
  return { verdict: 'inconclusive', text: 'inconclusive' };
}

/**
 * The `equivalence-95` verdict (an "≈" claim): the 95% interval inside ±margin → reproduced; entirely outside → not.
 */
export function judgeEquivalence(effect: Effect, margin: number): Judgement {
  checkNumber('margin', margin, { minExclusive: 0 });
  if (effect.n === 0) return { verdict: 'inconclusive', text: NO_RUNS };
  if (!(effect.n >= 2) || !Number.isFinite(effect.lo)) return { verdict: 'inconclusive', text: 'inconclusive' };
  if (effect.lo >= -margin && effect.hi <= margin) return { verdict: 'reproduced', text: 'reproduced' };
  if (effect.lo > margin || effect.hi < -margin) return { verdict: 'not reproduced', text: 'not reproduced' };
  return { verdict: 'inconclusive', text: 'inconclusive' };
}

/** The `non-inferiority-95` verdict: A at most `margin` below B (effect = A − B). */
export function judgeNonInferiority(effect: Effect, margin: number): Judgement {
  checkNumber('margin', margin, { min: 0 });
  if (effect.n === 0) return { verdict: 'inconclusive', text: NO_RUNS };
  if (!(effect.n >= 2) || !Number.isFinite(effect.lo)) return { verdict: 'inconclusive', text: 'inconclusive' };
  if (effect.lo > -margin) return { verdict: 'reproduced', text: 'reproduced' };
  if (effect.hi < -margin) return { verdict: 'not reproduced', text: 'not reproduced' };
  return { verdict: 'inconclusive', text: 'inconclusive' };
}

const signed = (x: number, digits: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

/**
 * `+1.23 points, 95% CI [−0.50, +2.96] (n=3 paired seeds)`; with n = 1: `+1.23 points (n=1, no interval)`.
 *
 * @param opts.scale - multiply first (100 for accuracy → points). @defaultValue 1
 * @param opts.unit - appended to the mean (e.g. ' points'). @defaultValue ''
 * @param opts.digits - @defaultValue 2
 * @param opts.what - what the n counts. @defaultValue 'paired seeds'
 */
export function formatEffect(e: Effect, opts: { scale?: number; unit?: string; digits?: number; what?: string } = {}): string {
  const k = opts.scale ?? 1;
  const d = opts.digits ?? 2;
  const unit = opts.unit ?? '';
  const what = opts.what ?? 'paired seeds';
  if (e.n === 0 || !Number.isFinite(e.mean)) return `n/a (n=0 ${what})`;
  if (e.n < 2) return `${signed(k * e.mean, d)}${unit} (n=1, no interval)`;
  return `${signed(k * e.mean, d)}${unit}, 95% CI [${signed(k * e.lo, d)}, ${signed(k * e.hi, d)}] (n=${e.n} ${what})`;
}

/** `1.23 points` for the smallest detectable effect, or `n/a (n=1)`. */
export function formatDetectable(e: Effect, opts: { scale?: number; unit?: string; digits?: number } = {}): string {
  if (!Number.isFinite(e.detectable)) return `n/a (n=${e.n})`;
  return `${((opts.scale ?? 1) * e.detectable).toFixed(opts.digits ?? 2)}${opts.unit ?? ''}`;
}
