import { checkNumber, invalidArgument } from './errors';

/** JSON form of a {@link Schedule}, for `getConfig()` and saved runs. */
export type ScheduleConfig =
  | { kind: 'constant'; value: number }
  | { kind: 'cosine'; from: number; to: number; steps: number }
  | { kind: 'stepDecay'; initial: number; factor: number; every: number }
  | { kind: 'linearWarmup'; steps: number; from: number; then: ScheduleConfig }
  | { kind: 'piecewise'; boundaries: number[]; pieces: ScheduleConfig[] };

/**
 * A value that depends on the training step: learning rates, EMA momentum, sparsity, ρ…
 *
 * @remarks Steps count from 0 here; a schedule is pure, holds no tensors and needs no dispose.
 */
export interface Schedule {
  /** The value at `step` (an integer >= 0; larger steps clamp where the schedule ends). */
  at(step: number): number;
  /** JSON config; {@link scheduleFromConfig} rebuilds the same schedule. */
  getConfig(): ScheduleConfig;
}

function make(config: ScheduleConfig, at: (step: number) => number): Schedule {
  return {
    at(step: number) {
      checkNumber('step', step, { min: 0 });
      return at(step);
    },
    getConfig: () => structuredClone(config),
  };
}

function checkArgs(args: unknown, fields: string): void {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw invalidArgument('args', args, `an object ${fields}`);
}

/**
 * The same value at every step.
 *
 * @param value - the value
 * @returns a {@link Schedule}
 * @example `constantSchedule(0.1).at(100) // 0.1`
 */
export function constantSchedule(value: number): Schedule {
  checkNumber('value', value);
  return make({ kind: 'constant', value }, () => value);
}

/**
 * Half-cosine from `from` at step 0 to `to` at `steps`, then `to`.
 *
 * @param args.from - value at step 0
 * @param args.to - value at `steps` and after
 * @defaultValue `to` = 0
 * @param args.steps - length of the ramp (> 0)
 * @returns a {@link Schedule}
 * @remarks value = to + (from − to)·(1 + cos(π·min(step, steps)/steps))/2.
 * @example `cosineSchedule({ from: 0.1, steps: 1000 })`
 */
export function cosineSchedule(args: { from: number; to?: number; steps: number }): Schedule {
  checkArgs(args, '{from, to?, steps}');
  const from = checkNumber('from', args.from);
  const to = checkNumber('to', args.to ?? 0);
  const steps = checkNumber('steps', args.steps, { integer: true, min: 1 });
  return make({ kind: 'cosine', from, to, steps }, (step) => {
    const t = Math.min(step, steps) / steps;
    return to + ((from - to) * (1 + Math.cos(Math.PI * t))) / 2;
  });
}

/**
 * Multiplies by `factor` every `every` steps: initial·factor^floor(step/every).
 *
 * @param args.initial - value at step 0
 * @param args.factor - multiplier per decay (> 0)
 * @param args.every - steps between decays (>= 1)
 * @returns a {@link Schedule}
 */
export function stepDecaySchedule(args: { initial: number; factor: number; every: number }): Schedule {
  checkArgs(args, '{initial, factor, every}');
  const initial = checkNumber('initial', args.initial);
  const factor = checkNumber('factor', args.factor, { minExclusive: 0 });
  const every = checkNumber('every', args.every, { integer: true, min: 1 });
  return make({ kind: 'stepDecay', initial, factor, every }, (step) => initial * factor ** Math.floor(step / every));
}

/**
 * Linear warm-up from `from` to `then.at(0)` over `steps`, then `then` shifted by `steps`.
 *
 * @param args.steps - warm-up length (>= 0; 0 means no warm-up)
 * @param args.from - value at step 0
 * @defaultValue `from` = 0
 * @param args.then - the schedule after warm-up (its step 0 is the first step after warm-up)
 * @returns a {@link Schedule}
 * @example `linearWarmup({ steps: 500, then: cosineSchedule({ from: 0.1, steps: 9500 }) })`
 */
export function linearWarmup(args: { steps: number; from?: number; then: Schedule }): Schedule {
  checkArgs(args, '{steps, from?, then}');
  const steps = checkNumber('steps', args.steps, { integer: true, min: 0 });
  const from = checkNumber('from', args.from ?? 0);
  if (!isSchedule(args.then)) throw invalidArgument('then', args.then, 'a Schedule');
  const then = args.then;
  const target = then.at(0);
  return make({ kind: 'linearWarmup', steps, from, then: then.getConfig() }, (step) =>
    step < steps ? from + ((target - from) * step) / steps : then.at(step - steps),
  );
}

/**
 * Chains schedules: piece i runs from boundary i−1 (0 for the first) with its own step counter restarted at 0.
 *
 * @param pieces - n schedules
 * @param boundaries - n−1 strictly increasing step boundaries (> 0)
 * @returns a {@link Schedule}
 * @example `piecewiseSchedule([constantSchedule(0), cosineSchedule({from: 0, to: 0.9, steps: 100})], [50])`
 */
export function piecewiseSchedule(pieces: Schedule[], boundaries: number[]): Schedule {
  if (!Array.isArray(pieces) || pieces.length === 0 || !pieces.every(isSchedule)) {
    throw invalidArgument('pieces', pieces, 'a non-empty array of Schedules');
  }
  if (!Array.isArray(boundaries) || boundaries.length !== pieces.length - 1) {
    throw invalidArgument('boundaries', boundaries, `an array of ${pieces.length - 1} step boundaries`);
  }
  let prev = 0;
  for (const b of boundaries) {
    if (!Number.isInteger(b) || b <= prev) throw invalidArgument('boundaries', boundaries, 'strictly increasing integers > 0');
    prev = b;
  }
  const config: ScheduleConfig = { kind: 'piecewise', boundaries: [...boundaries], pieces: pieces.map((p) => p.getConfig()) };
  return make(config, (step) => {
    let start = 0;
    for (let i = 0; i < boundaries.length; i++) {
      const b = boundaries[i] as number;
      if (step < b) return (pieces[i] as Schedule).at(step - start);
      start = b;
    }
    return (pieces[pieces.length - 1] as Schedule).at(step - start);
  });
}

/**
 * Rebuilds a schedule from its JSON config.
 *
 * @param config - from `schedule.getConfig()`
 * @returns an equal {@link Schedule}
 * @throws {@link TrainkitError} on an unknown `kind`
 */
export function scheduleFromConfig(config: ScheduleConfig): Schedule {
  switch (config?.kind) {
    case 'constant':
      return constantSchedule(config.value);
    case 'cosine':
      return cosineSchedule(config);
    case 'stepDecay':
      return stepDecaySchedule(config);
    case 'linearWarmup':
      return linearWarmup({ steps: config.steps, from: config.from, then: scheduleFromConfig(config.then) });
    case 'piecewise':
      return piecewiseSchedule(config.pieces.map(scheduleFromConfig), config.boundaries);
    default:
      throw invalidArgument('config.kind', (config as { kind?: unknown })?.kind, 'one of constant, cosine, stepDecay, linearWarmup, piecewise');
  }
}

/**
 * Accepts a number or a Schedule, as method args do (`momentum: 0.999 | Schedule`).
 *
 * @param argument - argument name for errors
 * @param value - a finite number or a {@link Schedule}
 * @returns a {@link Schedule}
 */
export function toSchedule(argument: string, value: number | Schedule): Schedule {
  if (typeof value === 'number') {
    checkNumber(argument, value);
    return constantSchedule(value);
  }
  if (!isSchedule(value)) throw invalidArgument(argument, value, 'a number or a Schedule');
  return value;
}

/** True for objects shaped like a {@link Schedule}. */
export function isSchedule(value: unknown): value is Schedule {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Schedule).at === 'function' &&
    typeof (value as Schedule).getConfig === 'function'
  );
}
