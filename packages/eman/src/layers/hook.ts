import { Callback } from '@tensorflow/tfjs-layers';
import { checkHookName, invalidArgument, type NamedTensor, type StepContext, type StepHook } from '@trainkit/core';
import { EmaTeacher } from './teacher';

/** The {@link StepHook} {@link emanHook} returns. */
export interface EmanHook extends StepHook {
  /** The teacher it updates. */
  readonly teacher: EmaTeacher;
}

/**
 * A core {@link StepHook} that updates `teacher` after every optimizer step, for `withHooks(inner, emanHook(t))`.
 *
 * @param teacher - an {@link EmaTeacher} (the hook does not own it: dispose the teacher yourself)
 * @param name - the hook's name inside the optimizer
 * @defaultValue `name` = `'eman'`
 * @returns a hook whose `getWeights`/`setWeights` carry the teacher's state, so `HookedOptimizer.getWeights()` checkpoints it
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `teacher` is not an EmaTeacher
 * @remarks Step t of the optimizer (1-based `ctx.step`) calls `teacher.update(t − 1)`: the 0-based global iteration of
 *   EMAN's schedule, after the optimizer step as in the reference FixMatch/BYOL loops. Not serialisable with
 *   `getConfig` (it refers to a live model), so `HookedOptimizer.fromConfig` cannot rebuild it.
 * @example
 * ```ts
 * const teacher = emaTeacher(model, { momentum: 0.99 });
 * const opt = withHooks(tf.train.sgd(0.1), emanHook(teacher));
 * ```
 */
export function emanHook(teacher: EmaTeacher, name = 'eman'): EmanHook {
  if (!(teacher instanceof EmaTeacher)) throw invalidArgument('teacher', teacher, 'an EmaTeacher');
  checkHookName('name', name);
  return {
    name,
    teacher,
    afterApply(ctx: StepContext): void {
      teacher.update(ctx.step - 1);
    },
    getWeights(): NamedTensor[] {
      return teacher.liveWeights();
    },
    setWeights(weights: NamedTensor[]): void {
      teacher.setWeights(weights);
    },
    checkWeights(weights: NamedTensor[]): void {
      teacher.checkWeights(weights);
    },
    getConfig() {
      return { mode: teacher.mode, schedule: teacher.schedule.getConfig() as unknown as Record<string, never> };
    },
  };
}

/**
 * A tfjs-layers callback that updates the teacher at the end of every batch of `model.fit`.
 *
 * @remarks Same effect as {@link emanHook}; use one of them, not both.
 */
export class EmaTeacherCallback extends Callback {
  /** The teacher it updates (not owned). */
  readonly teacher: EmaTeacher;

  /** @param teacher - an {@link EmaTeacher} */
  constructor(teacher: EmaTeacher) {
    super();
    if (!(teacher instanceof EmaTeacher)) throw invalidArgument('teacher', teacher, 'an EmaTeacher');
    this.teacher = teacher;
  }

  /** Calls `teacher.update()` (the teacher counts the steps). */
  override async onBatchEnd(): Promise<void> {
    this.teacher.update();
  }
}

/**
 * A callback for `model.fit(x, y, { callbacks: [emaTeacherCallback(teacher)] })`.
 *
 * @param teacher - an {@link EmaTeacher} of the fitted model
 * @returns a new {@link EmaTeacherCallback} (holds no tensors)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `teacher` is not an EmaTeacher
 * @example
 * ```ts
 * await model.fit(x, y, { epochs: 5, callbacks: [emaTeacherCallback(teacher)] });
 * ```
 */
export function emaTeacherCallback(teacher: EmaTeacher): EmaTeacherCallback {
  return new EmaTeacherCallback(teacher);
}
