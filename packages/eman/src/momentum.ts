import { checkNumber, constantSchedule, cosineSchedule, type Schedule } from '@trainkit/core';

/**
 * A constant EMA momentum, as MoCo-EMAN and FixMatch-EMAN use.
 *
 * @param momentum - m in [0, 1]
 * @defaultValue 0.999 (the reference code's `--ema-m`)
 * @returns a core {@link Schedule}; it holds no tensors
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a value outside [0, 1]
 * @example `emaTeacher(model, { schedule: constantMomentum(0.99) })`
 */
export function constantMomentum(momentum = 0.999): Schedule {
  return constantSchedule(checkNumber('momentum', momentum, { min: 0, max: 1 }));
}

/**
 * BYOL's cosine momentum ramp from `base` at step 0 to 1 at `totalSteps`.
 *
 * @param args.base - m₀ in [0, 1]
 * @defaultValue `base` = 0.996 (BYOL and the EMAN code's default; its BYOL-EMAN command uses 0.98)
 * @param args.totalSteps - T = epochs × iterations per epoch (an integer >= 1)
 * @returns a core {@link Schedule} (a `cosine` schedule from m₀ to 1, so it serialises with core's config)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a bad base or step count
 * @remarks m_t = 1 − (1 − m₀)·(cos(π·t/T) + 1)/2 with t the 0-based global iteration (EMAN `BYOLEMAN.momentum_update`,
 *   BYOL eq. in §3.2). The ramp applies to parameters and BN statistics alike; m(T/2) = (1 + m₀)/2, and it stays 1 past T.
 * @example `emaTeacher(model, { schedule: byolMomentum({ base: 0.99, totalSteps: 10_000 }) })`
 */
export function byolMomentum(args: { base?: number; totalSteps: number }): Schedule {
  const base = checkNumber('base', args?.base ?? 0.996, { min: 0, max: 1 });
  const totalSteps = checkNumber('totalSteps', args?.totalSteps, { integer: true, min: 1 });
  return cosineSchedule({ from: base, to: 1, steps: totalSteps });
}
