import { describe, expect, it, vi } from 'vitest';
import { seededData, seededVariable, tf } from '@trainkit/test-utils';
import { TrainkitError, registerCoreSerializables, withHooks, type HookedOptimizer } from '@trainkit/core';
import { GradualPruningHook, gradualPruning, gradualPruningHook } from './gradual';
import { registerPruneSerializables } from './hook';
import { disposeMasks, sparsityOf } from './mask';
import { constantSparsity, polynomialDecay } from './schedule';
import { channelMasks } from './structured';

const zeros = (a: ArrayLike<number>): number => Array.from(a).filter((x) => x === 0).length;

/**
 * Float64 reference of one gradual update (TF-MOT / Zhu & Gupta): rank |w ⊙ m| of the weights before the step,
 * already-pruned first among equal values, then the lower index; prune the first z.
 */
function refKeep(w: ArrayLike<number>, prev: ArrayLike<number>, z: number): number[] {
  const n = w.length;
  const score = Array.from({ length: n }, (_, i) => ((prev[i] as number) === 0 ? 0 : Math.abs(w[i] as number)));
  const order = [...Array(n).keys()].sort((i, j) => (score[i] as number) - (score[j] as number) || ((prev[i] as number) === 0 ? 0 : 1) - ((prev[j] as number) === 0 ? 0 : 1) || i - j);
  const keep = new Array<number>(n).fill(1);
  for (let c = 0; c < z; c++) keep[order[c] as number] = 0;
  return keep;
}

function problem(seed: number) {
  const w1 = seededVariable(seed, [6, 5]);
  const w2 = seededVariable(seed + 1, [5, 3]);
  const { x, y } = seededData(seed + 2, 16, 6, 3);
  const loss = () =>
    tf.tidy(() => {
      const logits = tf.matMul(tf.relu(tf.matMul(x, w1)), w2);
      return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
    });
  return { w1, w2, loss, dispose: () => tf.dispose([w1, w2, x, y]) };
}

function model(seed: number, names = ['a', 'b']): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 8, activation: 'relu', name: names[0], kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: names[1], kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

describe('gradualPruningHook', () => {
  it('layer scope, minimize loop under Adam: exact scheduled counts at update steps, reference ranking, masks hold between', () => {
    const p = problem(3);
    const schedule = polynomialDecay({ initialSparsity: 0.1, finalSparsity: 0.8, beginStep: 2, endStep: 10, frequency: 4 });
    const hook = gradualPruningHook([p.w1, p.w2], schedule);
    const opt = withHooks(tf.train.adam(0.05), hook);
    let masks = new Map([p.w1, p.w2].map((v) => [v.name, new Array<number>(v.size).fill(1)]));
    const updates: number[] = [];
    for (let t = 0; t < 16; t++) {
      const before = new Map([p.w1, p.w2].map((v) => [v.name, Array.from(v.dataSync())]));
      opt.minimize(p.loss, false, [p.w1, p.w2]);
      const hookMasks = hook.currentMasks();
      if (schedule.isUpdateStep(t)) {
        updates.push(t);
        masks = new Map(
          [p.w1, p.w2].map((v) => {
            const z = Math.min(Math.round(schedule.sparsity(t) * v.size), v.size - 1);
            return [v.name, refKeep(before.get(v.name) as number[], masks.get(v.name) as number[], z)];
          }),
        );
      }
      for (const v of [p.w1, p.w2]) {
        const m = Array.from((hookMasks.get(v.name) as tf.Tensor).dataSync());
        expect(m).toEqual(masks.get(v.name));
        const w = v.dataSync();
        expect(m.every((k, i) => k === 1 || w[i] === 0)).toBe(true);
      }
      disposeMasks(hookMasks);
    }
    expect(updates).toEqual([2, 6, 10]);
    // After the last update: round(0.8·30) = 24 and round(0.8·15) = 12 zeros.
    expect(zeros(p.w1.dataSync())).toBe(24);
    expect(zeros(p.w2.dataSync())).toBe(12);
    opt.dispose();
    p.dispose();
  });

  it('global scope: one ranking, round(s·N) zeros in total, smallest |w| over both tensors', () => {
    const p = problem(5);
    const schedule = constantSparsity({ sparsity: 0.6, frequency: 1, endStep: 0 });
    const opt = gradualPruning(tf.train.sgd(0.1), [p.w1, p.w2], schedule, { scope: 'global' });
    const before = [...Array.from(p.w1.dataSync()), ...Array.from(p.w2.dataSync())];
    opt.minimize(p.loss, false, [p.w1, p.w2]);
    const keep = refKeep(before, new Array(45).fill(1), 27);
    const m = opt.hook<GradualPruningHook>('gradual-prune')!.currentMasks();
    expect([...Array.from(m.get(p.w1.name)!.dataSync()), ...Array.from(m.get(p.w2.name)!.dataSync())]).toEqual(keep);
    disposeMasks(m);
    opt.dispose();
    p.dispose();
  });

  it('per-layer targets: map of number / count / schedule / null, function form, exclusion by name and pattern', () => {
    const m = model(7, ['enc', 'head']);
    const main = constantSparsity({ sparsity: 0.5, frequency: 1 });
    const cases: Array<[Parameters<typeof gradualPruningHook>[2], [number | null, number | null]]> = [
      [{ sparsity: { enc: 0.25, head: 7 } }, [12, 7]], // 0.25·48; a count of 7
      [{ sparsity: { head: constantSparsity({ sparsity: 0.125, frequency: 1 }) } }, [24, 3]], // round(0.125·24) = 3
      [{ sparsity: { enc: null } }, [null, 12]],
      [{ sparsity: (layer) => (layer === 'head' ? 0.75 : undefined) }, [24, 18]],
      [{ exclude: ['head'] }, [24, null]],
      [{ exclude: [/^en/] }, [null, 12]],
    ];
    for (const [options, [enc, head]] of cases) {
      const hook = gradualPruningHook(m, main, options);
      hook.update(0);
      const r = sparsityOf(m);
      if (enc !== null) expect(r.layers[0]!.zeros).toBe(enc);
      if (head !== null) expect(r.layers[1]!.zeros).toBe(head);
      expect(hook.variableNames.length).toBe((enc === null ? 0 : 1) + (head === null ? 0 : 1));
      hook.dispose();
      const fresh = model(7, ['enc2', 'head2']); // same seeds → same dense weights
      m.setWeights(fresh.getWeights());
      fresh.dispose();
    }
    expect(() => gradualPruningHook(m, main, { sparsity: { decoder: 0.5 } })).toThrow(/layer "decoder".*enc, head/);
    expect(() => gradualPruningHook(m, main, { exclude: ['decoder'] })).toThrow(TrainkitError);
    expect(() => gradualPruningHook(m, main, { sparsity: { enc: 1.5 } })).toThrow(/sparsity\["enc"\].*\[0, 1\), a count/);
    expect(() => gradualPruningHook(m, main, { sparsity: { enc: -0.1 } })).toThrow(TrainkitError);
    expect(() => gradualPruningHook(m, main, { sparsity: { enc: 48 } })).toThrow(/\[1, 48\)/);
    expect(() => gradualPruningHook(m, main, { scope: 'global', sparsity: { enc: 0.1 } })).toThrow(/global/);
    expect(() => gradualPruningHook(m, { sparsity: 0.5 } as never)).toThrow(/PruningSchedule/);
    m.dispose();
  });

  it('model.fit: polynomial schedule reaches exactly round(final·N) per layer and holds it', async () => {
    const m = model(9);
    const { x, y } = seededData(10, 32, 6, 3);
    const schedule = polynomialDecay({ initialSparsity: 0, finalSparsity: 0.75, beginStep: 0, endStep: 8, frequency: 2 });
    const opt = gradualPruning(tf.train.adam(0.02), m, schedule);
    m.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const seen: number[] = [];
    await m.fit(x, y, {
      epochs: 3,
      batchSize: 8,
      shuffle: false,
      verbose: 0,
      callbacks: { onBatchEnd: async () => void seen.push(sparsityOf(m).layers[0]!.zeros) },
    });
    // Steps 0..11; updates at 0, 2, 4, 6, 8: zeros = round(s(t)·48) with s(t) = 0.75(1 − (1 − t/8)^3).
    const expected = [...Array(12).keys()].map((t) => {
      const u = Math.min(8, t - (t % 2));
      return Math.round(0.75 * (1 - (1 - u / 8) ** 3) * 48);
    });
    expect(seen).toEqual(expected);
    expect(sparsityOf(m).layers.map((l) => l.zeros)).toEqual([36, 18]);
    tf.dispose([x, y]);
    opt.dispose();
    m.dispose();
  });

  // Momentum state restores exactly; tfjs' Adam.setWeights recomputes β^t with pow(), which differs in the last bits.
  it('resumes bit for bit through getWeights/setWeights into a fresh model (renamed variables)', async () => {
    const { x, y } = seededData(12, 16, 6, 3);
    const schedule = polynomialDecay({ initialSparsity: 0, finalSparsity: 0.7, beginStep: 1, endStep: 9, frequency: 2 });
    const loss = (mm: tf.LayersModel) => () => tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.add(mm.apply(x) as tf.Tensor, 1e-7))), 1))) as tf.Scalar);
    const run = (mm: tf.LayersModel, opt: HookedOptimizer, steps: number) => {
      for (let i = 0; i < steps; i++) opt.minimize(loss(mm));
    };
    const a = model(13);
    const optA = gradualPruning(tf.train.momentum(0.1, 0.9), a, schedule);
    run(a, optA, 12);
    const b = model(13);
    const optB = gradualPruning(tf.train.momentum(0.1, 0.9), b, schedule);
    run(b, optB, 5);
    const state = await optB.getWeights();
    const c = model(13); // variables a/kernel_2 …
    c.setWeights(b.getWeights());
    const optC = gradualPruning(tf.train.momentum(0.1, 0.9), c, schedule);
    await optC.setWeights(state);
    tf.dispose(state.map((s) => s.tensor));
    run(c, optC, 7);
    a.getWeights().forEach((w, i) => expect(Array.from(c.getWeights()[i]!.dataSync())).toEqual(Array.from(w.dataSync())));
    tf.dispose([x, y]);
    for (const o of [optA, optB, optC]) o.dispose();
    for (const mm of [a, b, c]) mm.dispose();
  });

  it('save with includeOptimizer → load in the same process → fit: the loaded model follows the schedule, the original is untouched', async () => {
    registerCoreSerializables();
    registerPruneSerializables();
    const { x, y } = seededData(14, 16, 6, 3);
    const m = model(15);
    const schedule = polynomialDecay({ initialSparsity: 0.2, finalSparsity: 0.6, beginStep: 0, endStep: 4, frequency: 2 });
    const opt = gradualPruning(tf.train.adam(0.02), m, schedule, { sparsity: { b: 0.5 } });
    m.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    await m.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 }); // steps 0–3
    const handedOut: tf.Tensor[] = []; // tfjs-layers' save does not dispose the optimizer weights (tfjs#8238)
    const getWeights = opt.getWeights.bind(opt);
    vi.spyOn(opt, 'getWeights').mockImplementation(async () => {
      const w = await getWeights();
      handedOut.push(...w.map((t) => t.tensor));
      return w;
    });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await m.save(tf.io.withSaveHandler(async (art) => ((artifacts = art), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
    tf.dispose(handedOut);
    const before = sparsityOf(m).layers.map((l) => l.zeros);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const lopt = loaded.optimizer as HookedOptimizer;
    expect(lopt.hook('gradual-prune')).toBeInstanceOf(GradualPruningHook);
    await loaded.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 }); // steps 4–7: the update at 4 reaches 0.6 / 0.5
    expect(sparsityOf(loaded).layers.map((l) => l.zeros)).toEqual([Math.round(0.6 * 48), 12]);
    expect(sparsityOf(m).layers.map((l) => l.zeros)).toEqual(before);
    tf.dispose([x, y]);
    opt.dispose();
    lopt.dispose();
    m.dispose();
    loaded.dispose();
  });

  it('nm: re-derives N:M groups from the dense weights at the update step; starting masks stay pruned', () => {
    const m = model(17);
    const hook = gradualPruningHook(m, constantSparsity({ sparsity: 0.5, beginStep: 3, frequency: 1 }), { nm: { n: 2, m: 3 }, exclude: ['b'] });
    expect(hook.update(2)).toBe(false);
    expect(sparsityOf(m).layers[0]!.zeros).toBe(0);
    expect(hook.update(3)).toBe(true);
    const k = Array.from(m.layers[0]!.getWeights()[0]!.dataSync()); // [6, 8]: groups of 3 down the inputs
    for (let col = 0; col < 8; col++) for (const g of [0, 3]) expect(zeros([0, 1, 2].map((r) => k[(g + r) * 8 + col] as number))).toBe(1);
    expect(sparsityOf(m).layers[0]!.zeros).toBe(16);
    hook.dispose();
    expect(() => gradualPruningHook(m, constantSparsity({ sparsity: 0.5 }), { nm: { n: 3, m: 2 } })).toThrow(/n must be/);
    m.dispose();
  });

  it('starting masks (channelMasks) stay pruned and count towards the scheduled number', () => {
    const m = model(17);

    const floor = channelMasks([m.layers[0]!.weights[0]!.read() as tf.Variable], { sparsity: 0.5 }); // 4 of 8 units: 24 zeros
    const g = gradualPruningHook(m, polynomialDecay({ initialSparsity: 0, finalSparsity: 0.75, beginStep: 0, endStep: 2, frequency: 1 }), { masks: floor, exclude: ['b'] });
    g.update(0);
    expect(sparsityOf(m).layers[0]!.zeros).toBe(24); // max(round(0·48), 24)
    g.update(2);
    expect(sparsityOf(m).layers[0]!.zeros).toBe(36);
    const fm = floor.values().next().value!.dataSync();
    const w = m.layers[0]!.getWeights()[0]!.dataSync();
    expect(Array.from(w).every((v, i) => fm[i] === 1 || v === 0)).toBe(true);
    g.dispose();
    disposeMasks(floor);
    m.dispose();
  });
});

describe('gradualPruningHook.settle', () => {
  it('returns at once where dataSync works, and the run is the same with or without it', async () => {
    const run = async (settle: boolean): Promise<number[][]> => {
      const p = problem(41);
      const opt = gradualPruning(tf.train.sgd(0.1), [p.w1, p.w2], polynomialDecay({ initialSparsity: 0.2, finalSparsity: 0.6, beginStep: 0, endStep: 2, frequency: 1 }));
      const hook = opt.hook<GradualPruningHook>('gradual-prune')!;
      for (let i = 0; i < 3; i++) {
        if (settle) await hook.settle();
        opt.minimize(p.loss);
      }
      const out = [Array.from(p.w1.dataSync()), Array.from(p.w2.dataSync())];
      opt.dispose();
      p.dispose();
      return out;
    };
    const plain = await run(false);
    expect(await run(true)).toEqual(plain);
    expect(plain.map((w) => zeros(w))).toEqual([18, 9]); // round(0.6·30), round(0.6·15)
  });
});
