import { TrainkitError, checkNumber, invalidArgument } from '@trainkit/core';

/** JSON form of a {@link PruningSchedule} ({@link pruningScheduleFromConfig} rebuilds it). */
export type PruningScheduleConfig =
  | { kind: 'constantSparsity'; sparsity: number; beginStep: number; endStep: number; frequency: number }
  | {
      kind: 'polynomialDecay';
      initialSparsity: number;
      finalSparsity: number;
      beginStep: number;
      endStep: number;
      power: number;
      frequency: number;
    };

/**
 * When and how far to prune, by 0-based optimizer step (TF-MOT's `PruningSchedule`).
 *
 * @remarks Pure: holds no tensors. `JSON.stringify(schedule)` gives its config.
 */
export interface PruningSchedule {
  /** Target fraction of zeros in [0, 1) at `step`. */
  sparsity(step: number): number;
  /** True when the masks are recomputed at `step`: beginStep ≤ step ≤ endStep (endStep −1: no end) and (step − beginStep) % frequency = 0. */
  isUpdateStep(step: number): boolean;
  /** The last sparsity the schedule reaches (its target). */
  readonly finalSparsity: number;
  /** JSON config. */
  getConfig(): PruningScheduleConfig;
  /** Same as {@link PruningSchedule.getConfig}, so the schedule is JSON-serializable. */
  toJSON(): PruningScheduleConfig;
}

const checkStep = (step: number): number => checkNumber('step', step, { integer: true, min: 0 });

function checkRange(beginStep: number, endStep: number, allowOpenEnd: boolean): void {
  checkNumber('beginStep', beginStep, { integer: true, min: 0 });
  if (allowOpenEnd && endStep === -1) return;
  checkNumber('endStep', endStep, { integer: true, min: allowOpenEnd ? -1 : 0 });
  if (endStep < beginStep) {
    throw new TrainkitError(
      'INVALID_ARGUMENT',
      `endStep must be >= beginStep (${beginStep})${allowOpenEnd ? ' or -1 (no end)' : ''}; received ${endStep}.`,
      'endStep',
    );
  }
}

function make(config: PruningScheduleConfig, sparsityAt: (step: number) => number): PruningSchedule {
  const { beginStep, endStep, frequency } = config;
  const frozen = Object.freeze({ ...config });
  const final = config.kind === 'constantSparsity' ? config.sparsity : config.finalSparsity;
  return {
    sparsity: (step) => sparsityAt(checkStep(step)),
    isUpdateStep(step) {
      checkStep(step);
      return step >= beginStep && (endStep === -1 || step <= endStep) && (step - beginStep) % frequency === 0;
    },
    finalSparsity: final,
    getConfig: () => ({ ...frozen }),
    toJSON: () => ({ ...frozen }),
  };
}

/**
 * Prunes to one fixed sparsity at every update step (TF-MOT `ConstantSparsity`).
 *
 * @param args.sparsity - target fraction of zeros in [0, 1)
 * @param args.beginStep - first update step (0-based optimizer step)
 * @param args.endStep - last update step, or −1 for no end
 * @param args.frequency - steps between updates (>= 1)
 * @defaultValue beginStep 0, endStep −1, frequency 100 (TF-MOT's)
 * @returns a {@link PruningSchedule}
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a sparsity outside [0, 1), beginStep > endStep, frequency < 1
 * @example `constantSparsity({ sparsity: 0.8, frequency: 10 })`
 */
export function constantSparsity(args: { sparsity: number; beginStep?: number; endStep?: number; frequency?: number }): PruningSchedule {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {sparsity, beginStep?, endStep?, frequency?}');
  const sparsity = checkNumber('sparsity', args.sparsity, { min: 0, maxExclusive: 1 });
  const beginStep = args.beginStep ?? 0;
  const endStep = args.endStep ?? -1;
  const frequency = checkNumber('frequency', args.frequency ?? 100, { integer: true, min: 1 });
  checkRange(beginStep, endStep, true);
  return make({ kind: 'constantSparsity', sparsity, beginStep, endStep, frequency }, () => sparsity);
}

/**
 * Gradual pruning along a polynomial (Zhu & Gupta 2017; TF-MOT `PolynomialDecay`).
 *
 * @param args.initialSparsity - sparsity at beginStep, in [0, 1)
 * @param args.finalSparsity - sparsity at endStep and after, in [0, 1)
 * @param args.beginStep - first update step
 * @param args.endStep - last update step (>= beginStep)
 * @param args.power - exponent of the decay
 * @param args.frequency - steps between updates (>= 1)
 * @defaultValue power 3, frequency 100 (TF-MOT's)
 * @returns a {@link PruningSchedule} with s(t) = s_f + (s_i − s_f)·(1 − p)^power, p = clamp((t − begin)/(end − begin), 0, 1)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for sparsities outside [0, 1), beginStep > endStep, frequency < 1,
 *   a power <= 0
 * @remarks Zhu & Gupta (2017) eq. 1. Before beginStep the value is s_i; with endStep = beginStep it is s_f from there.
 * @example `polynomialDecay({ initialSparsity: 0, finalSparsity: 0.9, beginStep: 0, endStep: 1000, frequency: 50 })`
 */
export function polynomialDecay(args: {
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  power?: number;
  frequency?: number;
}): PruningSchedule {
  if (typeof args !== 'object' || args === null) {
    throw invalidArgument('args', args, 'an object {initialSparsity, finalSparsity, beginStep, endStep, power?, frequency?}');
  }
  const initialSparsity = checkNumber('initialSparsity', args.initialSparsity, { min: 0, maxExclusive: 1 });
  const finalSparsity = checkNumber('finalSparsity', args.finalSparsity, { min: 0, maxExclusive: 1 });
  const power = checkNumber('power', args.power ?? 3, { minExclusive: 0 });
  const frequency = checkNumber('frequency', args.frequency ?? 100, { integer: true, min: 1 });
  const { beginStep, endStep } = args;
  checkRange(beginStep, endStep, false);
  const span = endStep - beginStep;
  return make({ kind: 'polynomialDecay', initialSparsity, finalSparsity, beginStep, endStep, power, frequency }, (step) => {
    if (step < beginStep) return initialSparsity;
    const p = span === 0 ? 1 : Math.min(1, (step - beginStep) / span);
    return finalSparsity + (initialSparsity - finalSparsity) * (1 - p) ** power;
  });
}

/**
 * Rebuilds a schedule from {@link PruningSchedule.getConfig} (or its JSON).
 *
 * @param config - a {@link PruningScheduleConfig}
 * @returns a new {@link PruningSchedule}
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for an unknown kind or bad fields
 */
export function pruningScheduleFromConfig(config: PruningScheduleConfig): PruningSchedule {
  if (typeof config !== 'object' || config === null) throw invalidArgument('config', config, 'a PruningScheduleConfig object');
  if (config.kind === 'constantSparsity') return constantSparsity(config);
  if (config.kind === 'polynomialDecay') return polynomialDecay(config);
  throw invalidArgument('config.kind', (config as { kind?: unknown }).kind, '"constantSparsity" or "polynomialDecay"');
}

/** True if `value` looks like a {@link PruningSchedule}. */
export function isPruningSchedule(value: unknown): value is PruningSchedule {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PruningSchedule).sparsity === 'function' &&
    typeof (value as PruningSchedule).isUpdateStep === 'function' &&
    typeof (value as PruningSchedule).getConfig === 'function'
  );
}

/**
 * The same schedule (same steps and shape) ending at another sparsity: a per-layer number in gradual pruning.
 *
 * @internal
 */
export function retarget(schedule: PruningSchedule, finalSparsity: number): PruningSchedule {
  const c = schedule.getConfig();
  if (c.kind === 'constantSparsity') return constantSparsity({ ...c, sparsity: finalSparsity });
  return polynomialDecay({ ...c, finalSparsity, initialSparsity: Math.min(c.initialSparsity, finalSparsity) });
}
