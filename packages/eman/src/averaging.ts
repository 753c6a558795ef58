import { checkNumber, invalidArgument } from '@trainkit/core';

/** timm-style warm-up of the EMA momentum: m(t) = 1 − (1 + t/gamma)^(−power), t = steps since `startStep`. */
export interface WarmupArgs {
  /** @defaultValue 1 (timm `warmup_gamma`) */
  gamma?: number;
  /** @defaultValue 2/3 (timm `warmup_power`; 3/4 suits shorter runs) */
  power?: number;
}

/** The averaging controls of an {@link EmaTeacher} (see {@link EmaTeacherArgs}). */
export interface AveragingArgs {
  /** Warm the momentum up as timm's ModelEmaV3 (`use_warmup`): `true` for the defaults, or `{ gamma, power }`. */
  warmup?: boolean | WarmupArgs;
  /** Lower bound of the momentum once averaging has started (timm `min_decay`). @defaultValue 0 */
  minMomentum?: number;
  /** Average only every this many steps (counted from `startStep`); other steps leave the teacher unchanged. @defaultValue 1 */
  updateEvery?: number;
  /** Before this 0-based step the teacher copies the student (timm `update_after_step`). @defaultValue 0 */
  startStep?: number;
  /** `'ema'`: exponential moving average; `'swa'`: equal-weight average of every update since `startStep` (torch `AveragedModel`). @defaultValue 'ema' */
  averaging?: 'ema' | 'swa';
}

/** Resolved, validated {@link AveragingArgs}. @internal */
export interface AveragingRule {
  warmup: { gamma: number; power: number } | null;
  minMomentum: number;
  updateEvery: number;
  startStep: number;
  averaging: 'ema' | 'swa';
}

/**
 * Validates {@link AveragingArgs}; the defaults reproduce plain EMA with the given momentum.
 *
 * @param args - the teacher's args
 * @param hasMomentum - whether `momentum` or `schedule` was given (not allowed with `'swa'`)
 * @internal
 */
export function averagingRule(args: AveragingArgs, hasMomentum: boolean): AveragingRule {
  const averaging = args.averaging ?? 'ema';
  if (averaging !== 'ema' && averaging !== 'swa') throw invalidArgument('averaging', averaging, "'ema' or 'swa'");
  const startStep = checkNumber('startStep', args.startStep ?? 0, { integer: true, min: 0 });
  const updateEvery = checkNumber('updateEvery', args.updateEvery ?? 1, { integer: true, min: 1 });
  const minMomentum = checkNumber('minMomentum', args.minMomentum ?? 0, { min: 0, max: 1 });
  let warmup: AveragingRule['warmup'] = null;
  if (args.warmup !== undefined && args.warmup !== false) {
    const w = args.warmup === true ? {} : args.warmup;
    if (typeof w !== 'object' || w === null) throw invalidArgument('warmup', args.warmup, 'a boolean or { gamma?, power? }');
    warmup = {
      gamma: checkNumber('warmup.gamma', w.gamma ?? 1, { minExclusive: 0 }),
      power: checkNumber('warmup.power', w.power ?? 2 / 3, { minExclusive: 0 }),
    };
  }
  if (averaging === 'swa') {
    if (hasMomentum) throw invalidArgument('momentum', 'given', "absent with averaging 'swa' (every update has weight 1/n)");
    if (warmup) throw invalidArgument('warmup', args.warmup, "absent with averaging 'swa'");
    if (args.minMomentum !== undefined) throw invalidArgument('minMomentum', args.minMomentum, "absent with averaging 'swa'");
  }
  return { warmup, minMomentum, updateEvery, startStep, averaging };
}

/**
 * The momentum used at a 0-based step, or null when the step does not average (`updateEvery`).
 *
 * @param rule - {@link averagingRule}'s output
 * @param step - 0-based step
 * @param base - the momentum schedule (step → m)
 * @remarks Before startStep: 0 (copy). From it, with t = step − startStep and only where t % updateEvery = 0:
 *   'swa' → m = 1 − 1/n for the n-th update (n = t/updateEvery + 1), so the teacher is the mean of those n students;
 *   'ema' → 0 at t = 0 when warm-up or a startStep > 0 is set (timm ModelEmaV3 `get_decay`, its 1-based step counter
 *   written 0-based), else clamp(1 − (1 + t/γ)^(−p), minMomentum, base(step)) with warm-up and
 *   max(base(step), minMomentum) without. The defaults (no warm-up, startStep 0) give base(step) at every step.
 * @internal
 */
export function averagingMomentum(rule: AveragingRule, step: number, base: (step: number) => number): number | null {
  if (step < rule.startStep) return 0;
  const t = step - rule.startStep;
  if (t % rule.updateEvery !== 0) return null;
  if (rule.averaging === 'swa') return 1 - 1 / (t / rule.updateEvery + 1);
  if (t === 0 && (rule.warmup || rule.startStep > 0)) return 0; // timm: the first averaged step copies
  const m = base(step);
  if (!rule.warmup) return Math.max(m, rule.minMomentum);
  const w = 1 - (1 + t / rule.warmup.gamma) ** -rule.warmup.power;
  return Math.max(Math.min(w, m), rule.minMomentum);
}
