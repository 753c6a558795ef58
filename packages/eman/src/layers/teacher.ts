import { cast, clone, scalar, serialization, tidy, variable, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  TrainkitError,
  assertLive,
  checkNumber,
  isTensorLike,
  invalidArgument,
  isSchedule,
  paramsOf,
  toSchedule,
  type NamedTensor,
  type ParamRef,
  type Schedule,
} from '@trainkit/core';
import { checkPairs, emaUpdate } from '../ema';
import { averagingMomentum, averagingRule, type AveragingArgs, type AveragingRule } from '../averaging';

/** How the teacher treats BatchNorm. */
export type EmaMode = 'eman' | 'ema' | 'copy-buffers';

/**
 * Arguments of {@link emaTeacher} / {@link EmaTeacher}; the averaging controls (`warmup`, `minMomentum`, `updateEvery`,
 * `startStep`, `averaging`) come from {@link AveragingArgs} and default to plain EMA.
 */
export interface EmaTeacherArgs extends AveragingArgs {
  /**
   * m: a constant momentum or a core `Schedule` of the 0-based update step (give this or `schedule`, not both).
   * @defaultValue 0.999 (EMAN's MoCo and FixMatch commands)
   */
  momentum?: number | Schedule;
  /** A momentum `Schedule` (e.g. {@link byolMomentum}); an alternative spelling of `momentum`. */
  schedule?: Schedule;
  /**
   * `'eman'`: average every float weight, BN moving mean/variance included, and predict with BN in inference mode.
   * `'ema'`: average trainable weights only and predict with BN on batch statistics (Mean Teacher); the teacher's
   * moving statistics then follow its own batches, as a Mean Teacher's running stats do.
   * `'copy-buffers'`: average trainable weights, copy the student's BN moving statistics at each update, and predict
   * with BN in inference mode (timm ModelEmaV3 `exclude_buffers`, torch AveragedModel): the spec's third baseline.
   * @defaultValue `'eman'`
   */
  mode?: EmaMode;
  /**
   * A model with the student's architecture to use as the teacher (its weights are kept as they are). When absent the
   * student is cloned from its config and weights.
   */
  teacher?: LayersModel;
}

interface Pair {
  teacher: Variable;
  student: Variable;
}

/**
 * A teacher network kept as an exponential moving average of a student model.
 *
 * @remarks EMAN (Cai et al., CVPR 2021, §3, eq. 3–4): ξ ← m·ξ + (1 − m)·θ for the parameters, and in EMAN mode
 * μ_t ← m·μ_t + (1 − m)·μ_s, σ²_t ← m·σ²_t + (1 − m)·σ²_s for the BN running statistics, with the teacher's BN always in
 * inference mode, so a sample's teacher output never depends on the rest of its batch. The student is never modified.
 */
export class EmaTeacher {
  /** The student being averaged (not owned). */
  readonly student: LayersModel;
  /** The teacher model: every layer has `trainable = false`. Owned (disposed by {@link EmaTeacher.dispose}) when cloned. */
  readonly model: LayersModel;
  /** How BN is treated: see {@link EmaTeacherArgs.mode}. */
  readonly mode: EmaMode;
  /** The momentum schedule (step → m). */
  readonly schedule: Schedule;
  private readonly params: Pair[] = [];
  private readonly buffers: Pair[] = [];
  private readonly all: Pair[] = [];
  private readonly ownsModel: boolean;
  private readonly rule: AveragingRule;
  private readonly stepVar: Variable;
  private step_ = 0;
  private disposed = false;

  /**
   * @param student - a built `tf.LayersModel` (Sequential or functional)
   * @param args - {@link EmaTeacherArgs}
   * @throws {@link TrainkitError} `INVALID_ARGUMENT` for bad args, `NOT_SERIALIZABLE` when the student cannot be
   *   cloned (a custom layer that is not registered: pass `teacher`), `SHAPE_MISMATCH` when `teacher`'s weights do not
   *   pair with the student's (count, shapes, dtypes or layer classes)
   */
  constructor(student: LayersModel, args: EmaTeacherArgs = {}) {
    if (!student || !Array.isArray((student as LayersModel).layers) || typeof student.apply !== 'function') {
      throw invalidArgument('student', student, 'a built tf.LayersModel');
    }
    if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object');
    const mode = args.mode ?? 'eman';
    if (mode !== 'eman' && mode !== 'ema' && mode !== 'copy-buffers') {
      throw invalidArgument('mode', mode, "'eman', 'ema' or 'copy-buffers'");
    }
    if (args.momentum !== undefined && args.schedule !== undefined) {
      throw invalidArgument('schedule', args.schedule, 'absent when momentum is given (give one of them)');
    }
    if (args.schedule !== undefined && !isSchedule(args.schedule)) throw invalidArgument('schedule', args.schedule, 'a Schedule');
    if (typeof args.momentum === 'number') checkNumber('momentum', args.momentum, { min: 0, max: 1 });
    const schedule = args.schedule ?? toSchedule('momentum', args.momentum ?? 0.999);
    this.rule = averagingRule(args, args.momentum !== undefined || args.schedule !== undefined);
    this.student = student;
    this.mode = mode;
    this.schedule = schedule;

    let teacher: LayersModel;
    if (args.teacher === undefined) {
      teacher = cloneArchitecture(student);
      this.ownsModel = true;
    } else {
      teacher = args.teacher;
      if (!teacher || !Array.isArray((teacher as LayersModel).layers)) throw invalidArgument('teacher', teacher, 'a tf.LayersModel');
      this.ownsModel = false;
    }
    try {
      const s = paramsOf(student);
      const t = paramsOf(teacher);
      pairUp(s, t);
      for (let i = 0; i < s.length; i++) {
        const pair = { teacher: (t[i] as ParamRef).variable, student: (s[i] as ParamRef).variable };
        if (pair.teacher === pair.student) throw invalidArgument('teacher', teacher, 'a different model from the student (it shares variables with it)');
        this.all.push(pair);
        // Non-trainable float weights are the "buffers" (BN moving mean / variance).
        ((s[i] as ParamRef).trainable ? this.params : this.buffers).push(pair);
      }
      if (this.ownsModel) emaUpdate(this.teachers(this.all), this.students(this.all), 0);
      teacher.trainable = false;
    } catch (err) {
      if (this.ownsModel) teacher.dispose();
      throw err;
    }
    this.model = teacher;
    // Unnamed: tfjs picks a unique name (a fixed prefix could collide when the ESM and CJS builds both load).
    this.stepVar = tidy(() => variable(scalar(0, 'int32'), false));
  }

  /** How many updates were applied (the 0-based step the next {@link EmaTeacher.update} uses by default). */
  get step(): number {
    return this.step_;
  }

  /**
   * The momentum at a 0-based update step, after warm-up, `minMomentum`, `startStep`, `updateEvery` and `averaging`.
   *
   * @param step - an integer >= 0
   * @returns m in [0, 1]; 1 at a step that `updateEvery` skips (the teacher does not move)
   */
  momentumAt(step: number): number {
    return averagingMomentum(this.rule, step, (s) => this.schedule.at(s)) ?? 1;
  }

  /**
   * Moves the teacher towards the student; call after every optimizer step (or use {@link emanHook} /
   * {@link emaTeacherCallback}).
   *
   * @param step - 0-based global iteration for the momentum schedule
   * @defaultValue the number of updates so far ({@link EmaTeacher.step})
   * @returns the momentum used
   * @throws {@link TrainkitError} `DISPOSED` after dispose or for a disposed student/teacher variable; `INVALID_ARGUMENT`
   *   for a step that is not an integer >= 0 (e.g. 1.5) or a momentum outside [0, 1]. Nothing changes then.
   * @remarks 'eman' averages trainable weights and BN moving statistics with the same m; 'ema' averages the trainable
   *   weights only; 'copy-buffers' averages the trainable weights and copies the student's BN moving statistics. Afterwards {@link EmaTeacher.step} is `step + 1`.
   */
  update(step?: number): number {
    this.checkAlive();
    const s = checkNumber('step', step ?? this.step_, { integer: true, min: 0 });
    // Check every pair (buffers included) before the first write, so a failing update changes nothing.
    checkPairs(this.teachers(this.all), this.students(this.all));
    const raw = averagingMomentum(this.rule, s, (t) => this.schedule.at(t));
    if (raw === null) {
      this.setStep(s + 1); // a step that updateEvery skips: nothing moves
      return 1;
    }
    const m = checkNumber('momentum', raw, { min: 0, max: 1 });
    emaUpdate(this.teachers(this.params), this.students(this.params), m);
    if (this.mode === 'eman') emaUpdate(this.teachers(this.buffers), this.students(this.buffers), m);
    else if (this.mode === 'copy-buffers') emaUpdate(this.teachers(this.buffers), this.students(this.buffers), 0);
    this.setStep(s + 1);
    return m;
  }

  /**
   * Copies every student weight (BN statistics included) into the teacher, as at construction; the step is kept.
   */
  copyFromStudent(): void {
    this.checkAlive();
    emaUpdate(this.teachers(this.all), this.students(this.all), 0);
  }

  /**
   * The teacher's output for `x`.
   *
   * @param x - an input batch (the caller keeps it)
   * @returns a new tensor the caller disposes
   * @remarks 'eman' and 'copy-buffers': BN in inference mode (averaged or copied statistics), so the call is pure and
   *   per-sample.
   *   'ema': BN on the batch's statistics (Mean Teacher); like any training-mode BN call it also moves the teacher's
   *   own moving statistics (by the layer's BN momentum), and dropout, if any, is active.
   */
  predict(x: Tensor): Tensor {
    this.checkAlive();
    return tidy(() => {
      const out = this.model.apply(x, { training: this.mode === 'ema' });
      if (Array.isArray(out)) throw invalidArgument('teacher', this.model, 'a model with a single output');
      return out as Tensor;
    });
  }

  /**
   * The teacher's state: `step`, then every teacher weight by position (`weight/0`, `weight/1`, …).
   *
   * @returns new tensors: the caller disposes them
   */
  getWeights(): NamedTensor[] {
    this.checkAlive();
    return tidy(() => this.liveWeights().map((w) => ({ name: w.name, tensor: clone(w.tensor) })));
  }

  /**
   * The live state variables (what {@link EmaTeacher.getWeights} copies); do not dispose them.
   *
   * @internal
   */
  liveWeights(): NamedTensor[] {
    this.checkAlive();
    return [{ name: 'step', tensor: this.stepVar }, ...this.all.map((p, i) => ({ name: `weight/${i}`, tensor: p.teacher as Tensor }))];
  }

  /**
   * Restores {@link EmaTeacher.getWeights}' output (values are copied; the caller keeps the tensors).
   *
   * @param weights - `step` and `weight/i` entries
   * @throws {@link TrainkitError} `STATE_MISMATCH` when entries are missing, unknown or of the wrong shape
   */
  setWeights(weights: readonly NamedTensor[]): void {
    const { byName, expected } = this.checkState(weights);
    tidy(() => {
      for (const e of expected) {
        const t = byName.get(e.name) as Tensor;
        (e.tensor as Variable).assign(t.dtype === e.tensor.dtype ? clone(t) : cast(t, e.tensor.dtype));
      }
    });
    this.step_ = (byName.get('step') as Tensor).dataSync()[0] as number;
  }

  /**
   * Throws what {@link EmaTeacher.setWeights} would throw, without writing.
   *
   * @throws {@link TrainkitError} `STATE_MISMATCH` for a missing, unknown or misshapen entry or a step that is not an
   *   integer >= 0; `DISPOSED` for a disposed tensor or teacher
   */
  checkWeights(weights: readonly NamedTensor[]): void {
    this.checkState(weights);
  }

  private checkState(weights: readonly NamedTensor[]): { byName: Map<string, Tensor>; expected: NamedTensor[] } {
    this.checkAlive();
    if (!Array.isArray(weights) || weights.some((w) => typeof w !== 'object' || w === null || !isTensorLike(w.tensor))) {
      throw invalidArgument('weights', weights, 'an array of {name, tensor}');
    }
    weights.forEach((w) => assertLive(w.tensor, `weights["${w.name}"]`));
    const byName = new Map(weights.map((w) => [w.name, w.tensor]));
    const expected = this.liveWeights();
    expected.forEach((e) => assertLive(e.tensor, `teacher state "${e.name}"`));
    for (const w of weights) {
      if (!expected.some((e) => e.name === w.name)) {
        throw new TrainkitError('STATE_MISMATCH', `weight "${w.name}" is not part of this teacher's state (step, weight/0…weight/${this.all.length - 1}).`, 'weights');
      }
    }
    for (const e of expected) {
      const t = byName.get(e.name);
      const same = t !== undefined && t.shape.length === e.tensor.shape.length && t.shape.every((d: number, j: number) => d === e.tensor.shape[j]);
      if (!same) {
        throw new TrainkitError('STATE_MISMATCH', `teacher state "${e.name}" must be a tensor of shape [${e.tensor.shape.join(',')}]; received ${t === undefined ? 'nothing' : `[${t.shape.join(',')}]`}.`, 'weights');
      }
    }
    const step = (byName.get('step') as Tensor).dataSync()[0] as number;
    if (!Number.isInteger(step) || step < 0) throw new TrainkitError('STATE_MISMATCH', `teacher state "step" must be an integer >= 0; received ${step}.`, 'weights');
    return { byName, expected };
  }

  /** Frees the step counter and, when the teacher was cloned here, the teacher model. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stepVar.dispose();
    if (this.ownsModel) this.model.dispose();
  }

  private setStep(step: number): void {
    this.step_ = step;
    tidy(() => this.stepVar.assign(scalar(step, 'int32')));
  }

  private teachers(pairs: Pair[]): Variable[] {
    return pairs.map((p) => p.teacher);
  }

  private students(pairs: Pair[]): Variable[] {
    return pairs.map((p) => p.student);
  }

  private checkAlive(): void {
    if (this.disposed) throw new TrainkitError('DISPOSED', 'this EmaTeacher was disposed.');
  }
}

/**
 * Builds an {@link EmaTeacher} for `student`.
 *
 * @param student - the model being trained
 * @param args - {@link EmaTeacherArgs}: `momentum` | `schedule`, `mode`, `teacher`
 * @returns a new teacher; the caller disposes it
 * @throws {@link TrainkitError} as the {@link EmaTeacher} constructor does
 * @example
 * ```ts
 * const teacher = emaTeacher(model, { momentum: 0.99 }); // EMAN by default
 * // after each optimizer step: teacher.update();  targets: teacher.predict(x)
 * ```
 */
export function emaTeacher(student: LayersModel, args: EmaTeacherArgs = {}): EmaTeacher {
  return new EmaTeacher(student, args);
}

function cloneArchitecture(student: LayersModel): LayersModel {
  const className = student.getClassName();
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) {
    throw new TrainkitError('NOT_SERIALIZABLE', `cannot clone a student of class "${className}": it is not registered with tfjs serialization; pass args.teacher (a model of the same architecture).`, 'student');
  }
  try {
    const [cls, fromConfig] = entry;
    // fastWeightInit: the clone's weights are overwritten with the student's right away.
    return (fromConfig as unknown as (c: unknown, cfg: serialization.ConfigDict, custom: object, fast: boolean) => LayersModel)(
      cls,
      student.getConfig(),
      {},
      true,
    );
  } catch (err) {
    throw new TrainkitError('NOT_SERIALIZABLE', `cannot clone the student from its config (${(err as Error).message}); register its custom layers or pass args.teacher.`, 'student');
  }
}

function pairUp(s: ParamRef[], t: ParamRef[]): void {
  if (s.length !== t.length) {
    throw new TrainkitError('SHAPE_MISMATCH', `teacher has ${t.length} weights but the student has ${s.length}; the teacher must have the student's architecture.`, 'teacher');
  }
  for (let i = 0; i < s.length; i++) {
    const a = s[i] as ParamRef;
    const b = t[i] as ParamRef;
    if (a.layerClass !== b.layerClass) {
      throw new TrainkitError('SHAPE_MISMATCH', `weight ${i}: the student's belongs to a ${a.layerClass} ("${a.name}") but the teacher's to a ${b.layerClass} ("${b.name}"); the teacher must have the student's architecture.`, 'teacher');
    }
  }
  try {
    checkPairs(t.map((p) => p.variable), s.map((p) => p.variable));
  } catch (err) {
    if (err instanceof TrainkitError) throw new TrainkitError('SHAPE_MISMATCH', `${err.message} (the teacher must have the student's architecture)`, 'teacher');
    throw err;
  }
}
