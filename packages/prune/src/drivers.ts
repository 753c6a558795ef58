import { clone, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import { TrainkitError, checkNumber, invalidArgument, isTensorLike, readBack, type ParamsArg } from '@trainkit/core';
import { byName, checkTensorMap, isModelLike, resolveVariables } from './internal/params';
import { applyMasks, disposeMasks, magnitudeMasks, maskSparsity, prunableParams, type MagnitudeMaskArgs, type Masks } from './mask';
import { disposeSnapshot, restore, snapshot, type Snapshot } from './snapshot';

/** What a driver asks the user's `train` callback to do. */
export interface TrainContext {
  /** `pretrain`: dense training; `rewind`: dense training up to the rewind point θk; `round`: an IMP round; `finetune`: P&F. */
  phase: 'pretrain' | 'rewind' | 'round' | 'finetune';
  /** 0 for dense training, r for the r-th pruned round. */
  round: number;
  /** Masks to enforce (build the optimizer with `withHooks(inner, maskHook(masks))`); null for dense training. Owned by the driver. */
  masks: Masks | null;
  /** When set, stop after exactly this many optimizer steps (rewinding to a step k); `epochs` is then only an upper bound. */
  steps: number | null;
}

/**
 * The user's training loop: trains the model in place for `epochs` epochs with a fresh optimizer and learning-rate
 * schedule (spec B.3), enforcing `ctx.masks`, and returns metrics to record (e.g. `{ testAcc }`).
 */
export type TrainFn = (epochs: number, ctx: TrainContext) => Promise<Record<string, number> | void> | Record<string, number> | void;

/** One training phase of a driver. */
export interface PruneRound {
  /** 0 = dense, r = r-th pruned round. */
  round: number;
  phase: TrainContext['phase'];
  /** Fraction of zeros in `masks` (0 for dense). */
  sparsity: number;
  /** The masks this phase trained with (null for dense); owned by the result. */
  masks: Masks | null;
  /** What `train` returned. */
  metrics: Record<string, number>;
  /** Every variable after this phase's training (θT of the round), or null when not kept; owned by the result. */
  trained: Snapshot | null;
}

/** What the drivers return. Call `dispose()` to free every mask and snapshot in it. */
export interface PruneResult {
  rounds: PruneRound[];
  /** θ0: every variable before any training. */
  init: Snapshot;
  /** The weights each round rewinds to (θ0 or θk); the same map as `init` when rewinding to init. */
  rewindPoint: Snapshot;
  /** The masks of the last round (same tensors as `rounds.at(-1).masks`). */
  masks: Masks | null;
  /** Frees every mask and snapshot held by the result; idempotent. */
  dispose(): void;
}

/** Arguments of {@link iterativeMagnitudePruning}. */
export interface ImpArgs {
  /** Everything a rewind restores: a model (all its variables, BatchNorm statistics included) or a list of variables. */
  model: ParamsArg;
  /** The tensors to prune. @defaultValue prunableParams(model, { excludeFirstConv }) for a model, else `model` */
  params?: ParamsArg;
  /**
   * Leave the first conv layer dense when `params` is not given (Liu et al. 2021 §4.1: "the first convolutional layer
   * is not pruned for all DNNs").
   * @defaultValue true
   */
  excludeFirstConv?: boolean;
  /** Number of pruning rounds R (the result holds R + 1 trainings: dense, then R sparse). */
  rounds: number;
  /** Fraction q of the remaining weights pruned per round; sparsity after r rounds is 1 − (1 − q)^r. @defaultValue 0.2 (LTH/open_lth; Paper 1 does not state q) */
  rate?: number;
  /** Rewind to θ0 (`'init'`, the lottery ticket) or to θk after k dense steps / epochs (late rewinding). @defaultValue 'init' */
  rewindTo?: 'init' | { step: number } | { epoch: number };
  /** Epochs T per round. */
  epochs: number;
  /** @defaultValue 'layer' (Paper 1); 'global' is LTH's choice for deep CNNs */
  scope?: 'layer' | 'global';
  /** Passed to {@link magnitudeMasks}. */
  exclude?: readonly string[];
  /** Which trained snapshots to keep. @defaultValue 'all' */
  keepSnapshots?: 'all' | 'last' | 'none';
  train: TrainFn;
}

/** Arguments of {@link pruneAndFinetune}. */
export interface PruneAndFinetuneArgs {
  /** Everything the snapshots hold: a model (all its variables) or a list of variables. */
  model: ParamsArg;
  /** The tensors to prune when `mask` is given as arguments. @defaultValue prunableParams(model, { excludeFirstConv }) for a model, else `model` */
  params?: ParamsArg;
  /**
   * Leave the first conv layer dense when `params` is not given (Liu et al. 2021 §4.1).
   * @defaultValue true
   */
  excludeFirstConv?: boolean;
  /** The mask m (copied; the caller keeps its own), or {@link magnitudeMasks} arguments to compute it on the weights after pretraining. */
  mask: Masks | MagnitudeMaskArgs;
  /** Fine-tuning epochs T' (the paper uses T' = T). */
  epochs: number;
  /** Dense pretraining epochs T before pruning; 0 when the model is already trained. @defaultValue 0 */
  pretrainEpochs?: number;
  train: TrainFn;
}

function checkTrain(train: unknown): TrainFn {
  if (typeof train !== 'function') throw invalidArgument('train', train, 'a function (epochs, ctx) => metrics');
  return train as TrainFn;
}

function prunableOf(model: ParamsArg, params: ParamsArg | undefined, excludeFirstConv: unknown): ParamsArg {
  if (excludeFirstConv !== undefined && typeof excludeFirstConv !== 'boolean') throw invalidArgument('excludeFirstConv', excludeFirstConv, 'a boolean');
  if (params !== undefined) return params;
  return isModelLike(model) ? prunableParams(model, { excludeFirstConv: excludeFirstConv ?? true }) : model;
}

async function runTrain(train: TrainFn, epochs: number, ctx: TrainContext, vars: Variable[]): Promise<Record<string, number>> {
  const out = await train(epochs, ctx);
  if (ctx.masks) {
    await readBack([...vars.filter((v) => ctx.masks!.has(v.name)), ...ctx.masks.values()]); // dataSync() needs it on webgpu
    assertMasked(vars, ctx.masks);
  }
  if (out === undefined || out === null) return {};
  if (typeof out !== 'object') throw invalidArgument('train', out, 'a function returning metrics (an object of numbers) or nothing');
  return { ...out };
}

/** Throws when training let a pruned weight move: the user's loop did not enforce the masks. */
function assertMasked(vars: Variable[], masks: Masks): void {
  const byName = new Map(vars.map((v) => [v.name, v]));
  for (const [name, m] of masks) {
    const v = byName.get(name);
    if (!v) continue;
    const w = v.dataSync();
    const md = m.dataSync();
    for (let i = 0; i < md.length; i++) {
      if ((md[i] as number) === 0 && (w[i] as number) !== 0) {
        throw new TrainkitError(
          'STATE_MISMATCH',
          `train() let pruned weight ${i} of "${name}" become ${w[i]}; build its optimizer with withHooks(inner, maskHook(ctx.masks)).`,
          'train',
        );
      }
    }
  }
}

function makeResult(rounds: PruneRound[], init: Snapshot, rewindPoint: Snapshot): PruneResult {
  let disposed = false;
  return {
    rounds,
    init,
    rewindPoint,
    masks: rounds[rounds.length - 1]?.masks ?? null,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const r of rounds) {
        disposeMasks(r.masks);
        disposeSnapshot(r.trained);
      }
      disposeSnapshot(init);
      disposeSnapshot(rewindPoint);
    },
  };
}

/**
 * Iterative magnitude pruning with rewinding (Frankle & Carbin 2019; spec B): train dense, prune rate q of the remaining
 * weights, rewind the unpruned weights to θ0 (or θk), retrain with the mask held fixed, and repeat.
 *
 * @param args - {@link ImpArgs}
 * @returns a {@link PruneResult}: round 0 is dense, round r trained (θ_rewind ⊙ m_r) for T epochs (the ticket at
 *   sparsity 1 − (1 − q)^r); the caller disposes it. The model is left as the last round's trained weights.
 * @throws {@link TrainkitError} on bad arguments, or `STATE_MISMATCH` when `train` lets a pruned weight move. When
 *   anything throws (`train` included), every variable of `model` is restored to its value on entry.
 * @remarks Every round rewinds every variable (BatchNorm and biases included, as open_lth) and `train` must build a
 *   fresh optimizer and schedule. Rewinding to step k trains k dense steps once and snapshots θk (open_lth's
 *   "pretraining" of k steps); round 0 then trains from θk.
 * @example
 * ```ts
 * const res = await iterativeMagnitudePruning({ model, rounds: 3, epochs: 10, train: myTrain });
 * ```
 */
export async function iterativeMagnitudePruning(args: ImpArgs): Promise<PruneResult> {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object');
  const train = checkTrain(args.train);
  const rounds = checkNumber('rounds', args.rounds, { integer: true, min: 1 });
  const rate = checkNumber('rate', args.rate ?? 0.2, { minExclusive: 0, maxExclusive: 1 });
  const epochs = checkNumber('epochs', args.epochs, { min: 0 });
  const keep = args.keepSnapshots ?? 'all';
  if (!['all', 'last', 'none'].includes(keep)) throw invalidArgument('keepSnapshots', keep, '"all", "last" or "none"');
  const rewindTo = args.rewindTo ?? 'init';
  let rewindSteps: number | null = null;
  let rewindEpochs: number | null = null;
  if (rewindTo !== 'init') {
    if (typeof rewindTo === 'object' && rewindTo !== null && 'step' in rewindTo) {
      rewindSteps = checkNumber('rewindTo.step', rewindTo.step, { integer: true, min: 1 });
    } else if (typeof rewindTo === 'object' && rewindTo !== null && 'epoch' in rewindTo) {
      rewindEpochs = checkNumber('rewindTo.epoch', rewindTo.epoch, { min: 0, minExclusive: 0 });
    } else {
      throw invalidArgument('rewindTo', rewindTo, '"init", {step: k} or {epoch: k}');
    }
  }
  const vars = resolveVariables('model', args.model, true);
  const params = prunableOf(args.model, args.params, args.excludeFirstConv);
  // Mask selection reads weights with dataSync(): read them back first (webgpu has no working synchronous readback).
  await readBack(live(vars));
  magnitudeMasks(params, { sparsity: 0, exclude: args.exclude }).forEach((m) => m.dispose()); // validates params / exclude early

  const init = snapshot(vars);
  let rewindPoint = init;
  const out: PruneRound[] = [];
  let masks: Masks | null = null;
  try {
    if (rewindSteps !== null || rewindEpochs !== null) {
      await runTrain(train, rewindEpochs ?? epochs, { phase: 'rewind', round: 0, masks: null, steps: rewindSteps }, vars);
      rewindPoint = snapshot(vars);
    }
    for (let r = 0; r <= rounds; r++) {
      if (r > 0) {
        await readBack([...vars, ...(masks ? masks.values() : [])]);
        masks = magnitudeMasks(params, { rate, scope: args.scope, exclude: args.exclude, previous: masks ?? undefined });
        restore(vars, rewindPoint, { masks });
      }
      const ctx: TrainContext = { phase: r === 0 ? 'pretrain' : 'round', round: r, masks, steps: null };
      const metrics = await runTrain(train, epochs, ctx, vars);
      const keepThis = keep === 'all' || (keep === 'last' && r === rounds);
      out.push({ round: r, phase: ctx.phase, sparsity: masks ? maskSparsity(masks) : 0, masks, metrics, trained: keepThis ? snapshot(vars) : null });
    }
  } catch (err) {
    restore(vars, init); // all or nothing: a failed run leaves the model as it was on entry
    if (masks && !out.some((r) => r.masks === masks)) disposeMasks(masks);
    makeResult(out, init, rewindPoint).dispose();
    throw err;
  }
  return makeResult(out, init, rewindPoint);
}

/**
 * Pruning & fine-tuning, the method Liu et al. 2021 recommend over lottery-ticket sparse training (spec C): keep the
 * trained weights θT, apply the mask m, and fine-tune for T' epochs with the full training recipe.
 *
 * @param args - {@link PruneAndFinetuneArgs}
 * @returns a {@link PruneResult} with a `pretrain` round 0 (dense; `metrics` empty and `trained` = θT when
 *   `pretrainEpochs` is 0) and a `finetune` round 1; `init` = the weights on entry. The caller disposes it.
 * @throws {@link TrainkitError} on bad arguments, or `STATE_MISMATCH` when `train` lets a pruned weight move. When
 *   anything throws (`train` included), every variable of `model` is restored to its value on entry.
 * @remarks Same mask, same epochs and same recipe as the ticket; only the starting weights differ (θT ⊙ m vs θ0 ⊙ m).
 * @example
 * ```ts
 * const res = await pruneAndFinetune({ model, mask: { sparsity: 0.9 }, epochs: 10, train: myTrain });
 * ```
 */
export async function pruneAndFinetune(args: PruneAndFinetuneArgs): Promise<PruneResult> {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object');
  const train = checkTrain(args.train);
  const epochs = checkNumber('epochs', args.epochs, { min: 0 });
  const pretrainEpochs = checkNumber('pretrainEpochs', args.pretrainEpochs ?? 0, { min: 0 });
  if (typeof args.mask !== 'object' || args.mask === null) throw invalidArgument('mask', args.mask, 'Masks or magnitudeMasks arguments');
  const vars = resolveVariables('model', args.model, true);
  const params = prunableOf(args.model, args.params, args.excludeFirstConv);
  // Check the mask (or its arguments) before any training.
  if (args.mask instanceof Map) {
    await readBack(live([...args.mask.values()])); // the 0/1 check reads with dataSync()
    checkTensorMap('mask', args.mask, byName(vars), { binary: true });
  } else {
    await readBack(live(vars)); // mask selection reads weights with dataSync()
    disposeMasks(magnitudeMasks(params, args.mask));
  }
  const init = snapshot(vars);
  const out: PruneRound[] = [];
  try {
    let metrics: Record<string, number> = {};
    if (pretrainEpochs > 0) metrics = await runTrain(train, pretrainEpochs, { phase: 'pretrain', round: 0, masks: null, steps: null }, vars);
    out.push({ round: 0, phase: 'pretrain', sparsity: 0, masks: null, metrics, trained: snapshot(vars) });
    if (!(args.mask instanceof Map)) await readBack(live(vars));
    const masks = args.mask instanceof Map ? copyMasks(args.mask) : magnitudeMasks(params, args.mask);
    out.push({ round: 1, phase: 'finetune', sparsity: maskSparsity(masks), masks, metrics: {}, trained: null });
    applyMasks(vars, masks);
    const last = out[1] as PruneRound;
    last.metrics = await runTrain(train, epochs, { phase: 'finetune', round: 1, masks, steps: null }, vars);
    last.trained = snapshot(vars);
  } catch (err) {
    restore(vars, init); // all or nothing: a failed run leaves the model as it was on entry
    makeResult(out, init, init).dispose();
    throw err;
  }
  return makeResult(out, init, init);
}

function copyMasks(masks: Masks): Masks {
  const out: Masks = new Map();
  for (const [name, m] of masks) out.set(name, clone(m));
  return out;
}

/** The live tensors among `xs` (a disposed or foreign one is left for the checks that name it). */
function live(xs: readonly unknown[]): Tensor[] {
  return xs.filter((t): t is Tensor => isTensorLike(t) && !t.isDisposed);
}
