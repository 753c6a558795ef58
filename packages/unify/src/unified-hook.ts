import { add, mul, relu, scalar, tensor, tidy, type NamedTensorMap, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import { TrainkitError, assertLive, gradientOf, checkBoolean, checkHookName, disposeOnThrow, invalidArgument, type ParamRef, type StepHook } from '@trainkit/core';
import { planMasks, blockSumBroadcast, variableByName } from './internal/tensors';
import { planLayers, type LayerPlan, type UnifyPlan } from './projection';
import type { BlockView } from './blocks';

/** Options of {@link unifiedHook}. */
export interface UnifiedHookArgs {
  /**
   * Learn one shared magnitude per unified block (signs fixed, `∂L/∂a_b = Σ_j s_j ∂L/∂w_j`, `a_b ≥ 0`) instead of
   * freezing unified blocks at their planned values.
   * @defaultValue false (the Tencent patents fix unified coefficients; spec §4)
   */
  trainSharedMagnitude?: boolean;
  /** Variables to act on (matched by name); @defaultValue looked up by the plan's names in the tfjs engine */
  params?: readonly (Variable | ParamRef)[];
  /** Hook name. @defaultValue 'unified' */
  name?: string;
}

interface Layer {
  variable: Variable;
  view: BlockView;
  free: Tensor;
  signs: Tensor;
  frozen: Tensor;
  invG: Tensor;
}

/**
 * Keeps a plan's structure through fine-tuning: pruned blocks exactly zero, unified blocks exactly unified.
 *
 * @remarks Masked retraining of spec §4. Frozen mode: gradients of planned blocks are zeroed and after every step
 * `W ← W ⊙ free + s ⊙ a` (bit-identical unified blocks). Shared-magnitude mode: a unified block's gradient becomes
 * `s_j Σ_k s_k g_k` (the gradient of its magnitude, sent to every member with its sign), and after every step the block
 * is re-unified at `a_b = max(0, mean_j s_j w_j)`, so every block holds one magnitude exactly.
 */
export class UnifiedHook implements StepHook {
  readonly name: string;
  readonly trainSharedMagnitude: boolean;
  private readonly layers: Layer[];
  private disposed = false;

  /**
   * @param plan - from `hardProject()`, {@link unifyProjection} or `decodeUnified`
   * @param args - {@link UnifiedHookArgs}
   * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when a planned variable is missing; `SHAPE_MISMATCH` when shapes differ
   */
  constructor(plan: UnifyPlan | LayerPlan | readonly LayerPlan[], args: UnifiedHookArgs = {}) {
    if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {trainSharedMagnitude?, params?, name?}');
    this.name = checkHookName('name', args.name ?? 'unified');
    this.trainSharedMagnitude = checkBoolean('trainSharedMagnitude', args.trainSharedMagnitude, false);
    if (args.params !== undefined && !Array.isArray(args.params)) throw invalidArgument('params', args.params, 'an array of tf.Variable or ParamRef');
    // Check every plan and variable first, then allocate: a bad plan leaks nothing.
    const seen = new Set<string>();
    const checked = planLayers(plan).map((p) => {
      const variable = variableByName(p.name, args.params);
      assertLive(variable, `plan variable "${p.name}"`);
      if (variable.dtype !== 'float32') throw invalidArgument(`plan variable "${p.name}"`, variable.dtype, 'a float32 kernel');
      if (seen.has(variable.name)) throw invalidArgument('plan', p.name, 'plans naming each variable once');
      seen.add(variable.name);
      if (variable.shape.join(',') !== p.shape.join(',')) {
        throw new TrainkitError('SHAPE_MISMATCH', `variable "${p.name}" has shape [${variable.shape.join(',')}] but the plan says [${p.shape.join(',')}].`, 'plan');
      }
      return { variable, m: planMasks(p), shape: [...p.shape] };
    });
    this.layers = disposeOnThrow((own) =>
      checked.map(({ variable, m, shape }) => ({
        variable,
        view: m.view,
        free: own(tensor(m.free, shape)),
        signs: own(tensor(m.signs, shape)),
        frozen: own(tensor(m.frozen, shape)),
        invG: own(scalar(1 / m.view.blockLength)),
      })),
    );
    this.enforce();
  }

  /** Zeroes gradients of frozen entries, or turns unified blocks' gradients into shared-magnitude gradients. */
  transformGradients(grads: NamedTensorMap): NamedTensorMap {
    this.checkAlive();
    const out: NamedTensorMap = { ...grads };
    for (const l of this.layers) {
      const g = gradientOf(grads, l.variable.name, l.variable.shape);
      if (!g) continue;
      const kept = mul(g, l.free);
      out[l.variable.name] = this.trainSharedMagnitude ? add(kept, mul(l.signs, blockSumBroadcast(mul(l.signs, g), l.view))) : kept;
    }
    return out;
  }

  /** Re-imposes the structure after the inner optimizer moved the weights. */
  afterApply(): void {
    this.enforce();
  }

  /** Applies the structure to the variables now (also done at construction). */
  enforce(): void {
    this.checkAlive();
    this.layers.forEach((l) => assertLive(l.variable, `plan variable "${l.variable.name}"`));
    tidy(() => {
      for (const l of this.layers) {
        const w = l.variable;
        if (this.trainSharedMagnitude) {
          const a = relu(mul(blockSumBroadcast(mul(l.signs, w), l.view), l.invG));
          w.assign(add(mul(w, l.free), mul(l.signs, a)));
        } else {
          w.assign(add(mul(w, l.free), l.frozen));
        }
      }
    });
  }

  /** JSON config (the plan itself is data: rebuild the hook from the plan, not from this). */
  getConfig(): { trainSharedMagnitude: boolean; variables: string[] } {
    return { trainSharedMagnitude: this.trainSharedMagnitude, variables: this.layers.map((l) => l.variable.name) };
  }

  private checkAlive(): void {
    if (this.disposed) throw new TrainkitError('DISPOSED', 'this UnifiedHook was disposed.');
  }

  /** Frees the masks; idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.layers) for (const t of [l.free, l.signs, l.frozen, l.invG]) t.dispose();
  }
}

/**
 * A {@link UnifiedHook} for `withHooks(inner, unifiedHook(plan))`: masked fine-tuning that keeps pruned blocks zero
 * and unified blocks unified.
 *
 * @param plan - the frozen structure (e.g. `admm.hardProject()`)
 * @param args - {@link UnifiedHookArgs}
 * @returns the hook; the optimizer that holds it disposes it (or call `dispose()`)
 * @throws {@link TrainkitError} as {@link UnifiedHook}'s constructor
 * @example
 * ```ts
 * const opt = withHooks(tf.train.adam(1e-4), unifiedHook(plan, { trainSharedMagnitude: true }));
 * ```
 */
export function unifiedHook(plan: UnifyPlan | LayerPlan | readonly LayerPlan[], args: UnifiedHookArgs = {}): UnifiedHook {
  return new UnifiedHook(plan, args);
}
