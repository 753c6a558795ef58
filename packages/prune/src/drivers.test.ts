import { describe, expect, it } from 'vitest';
import { expectNoLeak, seededData, tf } from '@trainkit/test-utils';
import { withHooks } from '@trainkit/core';
import { iterativeMagnitudePruning, pruneAndFinetune, type TrainContext, type TrainFn } from './drivers';
import { maskHook } from './hook';
import { disposeMasks, magnitudeMasks } from './mask';

function mlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 12, inputShape: [6], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

interface Call {
  epochs: number;
  ctx: Omit<TrainContext, 'masks'>;
  start: Map<string, number[]>;
  maskBits: Map<string, number[]> | null;
}

/** A real masked training loop (momentum, fresh optimizer per call) that records the weights it starts from. */
function recordingTrainer(model: tf.LayersModel, data: { x: tf.Tensor; y: tf.Tensor }, opts: { enforce?: boolean } = {}) {
  const calls: Call[] = [];
  const train: TrainFn = (epochs, ctx) => {
    calls.push({
      epochs,
      ctx: { phase: ctx.phase, round: ctx.round, steps: ctx.steps },
      start: new Map(model.weights.map((w) => [w.name, bits(w.read())])),
      maskBits: ctx.masks ? new Map([...ctx.masks].map(([k, m]) => [k, Array.from(m.dataSync())])) : null,
    });
    const inner = tf.train.momentum(0.05, 0.9);
    const opt = ctx.masks && opts.enforce !== false ? withHooks(inner, maskHook(ctx.masks)) : withHooks(inner);
    const steps = ctx.steps ?? epochs * 2;
    for (let s = 0; s < steps; s++) {
      opt.minimize(() =>
        tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(data.y, tf.logSoftmax(model.apply(data.x) as tf.Tensor)), 1))) as tf.Scalar),
      );
    }
    opt.dispose();
    return { steps };
  };
  return { calls, train };
}

describe('iterativeMagnitudePruning', () => {
  it('rewinds unmasked weights to θ0 bit for bit, nests masks at 1 − (1 − q)^r, and frees everything', async () => {
    const { x, y } = seededData(3, 16, 6, 3);
    const model = mlp();
    await expectNoLeak(async () => {
      const { calls, train } = recordingTrainer(model, { x, y });
      const theta0 = new Map(model.weights.map((w) => [w.name, bits(w.read())]));
      const res = await iterativeMagnitudePruning({ model, rounds: 3, rate: 0.2, epochs: 2, train });
      expect(res.rounds.map((r) => r.round)).toEqual([0, 1, 2, 3]);
      expect(calls.map((c) => c.ctx.phase)).toEqual(['pretrain', 'round', 'round', 'round']);
      const kernels = model.weights.filter((w) => w.name.endsWith('kernel'));
      const n = kernels.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
      for (const r of res.rounds.slice(1)) {
        // Per-layer rounding: within ±1 per round and layer of the closed form.
        expect(Math.abs(r.sparsity * n - (1 - 0.8 ** r.round) * n)).toBeLessThanOrEqual(r.round * kernels.length);
        expect(r.metrics).toEqual({ steps: 4 });
        expect(r.trained?.size).toBe(model.weights.length);
      }
      // Every pruned round started from θ0 ⊙ m: unmasked bits equal θ0 (biases too), masked ones are +0.
      for (const c of calls.slice(1)) {
        for (const [name, got] of c.start) {
          const want = theta0.get(name) as number[];
          const m = c.maskBits?.get(name);
          got.forEach((b, i) => expect(b).toBe(m && m[i] === 0 ? 0 : want[i]));
        }
      }
      // Nested: a weight pruned in round r stays pruned in round r + 1.
      for (let r = 2; r <= 3; r++) {
        for (const [name, prev] of calls[r - 1]?.maskBits ?? []) {
          const next = calls[r]?.maskBits?.get(name) as number[];
          prev.forEach((v, i) => expect(next[i] as number).toBeLessThanOrEqual(v));
        }
      }
      res.dispose();
      res.dispose();
    });
    model.dispose();
    tf.dispose([x, y]);
  });

  it('rewindTo {step: k}: trains k dense steps once, and every round starts from θk', async () => {
    const { x, y } = seededData(4, 16, 6, 3);
    const model = mlp();
    const { calls, train } = recordingTrainer(model, { x, y });
    const res = await iterativeMagnitudePruning({ model, rounds: 1, rate: 0.5, epochs: 1, rewindTo: { step: 3 }, train, keepSnapshots: 'last' });
    expect(calls.map((c) => [c.ctx.phase, c.ctx.steps])).toEqual([['rewind', 3], ['pretrain', null], ['round', null]]);
    const thetaK = res.rewindPoint;
    expect(thetaK).not.toBe(res.init);
    for (const [name, got] of calls[2]?.start ?? []) {
      const m = calls[2]?.maskBits?.get(name);
      const want = bits(thetaK.get(name) as tf.Tensor);
      got.forEach((b, i) => expect(b).toBe(m && m[i] === 0 ? 0 : want[i]));
    }
    // θk differs from θ0 (3 real steps were taken).
    const k0 = model.weights[0]?.name as string;
    expect(bits(thetaK.get(k0) as tf.Tensor)).not.toEqual(bits(res.init.get(k0) as tf.Tensor));
    expect(res.rounds.map((r) => r.trained === null)).toEqual([true, false]);
    res.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });

  it('throws STATE_MISMATCH when train lets pruned weights move, without leaking', async () => {
    const { x, y } = seededData(5, 16, 6, 3);
    const model = mlp();
    await expectNoLeak(async () => {
      const { train } = recordingTrainer(model, { x, y }, { enforce: false });
      await expect(iterativeMagnitudePruning({ model, rounds: 1, rate: 0.5, epochs: 1, train })).rejects.toThrow(/maskHook/);
    });
    model.dispose();
    tf.dispose([x, y]);
  });

  it('rejects bad arguments', async () => {
    const model = mlp();
    const train: TrainFn = () => ({});
    await expect(iterativeMagnitudePruning({ model, rounds: 0, epochs: 1, train })).rejects.toThrow(/rounds/);
    await expect(iterativeMagnitudePruning({ model, rounds: 1, rate: 1, epochs: 1, train })).rejects.toThrow(/rate/);
    await expect(iterativeMagnitudePruning({ model, rounds: 1, epochs: 1, rewindTo: { step: 0 }, train })).rejects.toThrow(/rewindTo/);
    await expect(iterativeMagnitudePruning({ model, rounds: 1, epochs: 1, train: 3 as unknown as TrainFn })).rejects.toThrow(/train/);
    let called = 0;
    const counting: TrainFn = () => {
      called++;
    };
    await expect(iterativeMagnitudePruning({ model, rounds: 1, epochs: 1, exclude: ['ghost'], train: counting })).rejects.toThrow(/ghost/);
    expect(called).toBe(0); // checked before any training
    await expect(pruneAndFinetune({ model, mask: { sparsity: 1 }, pretrainEpochs: 1, epochs: 1, train: counting })).rejects.toThrow(/sparsity/);
    const ghost = new Map([['ghost', tf.ones([1])]]);
    await expect(pruneAndFinetune({ model, mask: ghost, pretrainEpochs: 1, epochs: 1, train: counting })).rejects.toThrow(/ghost/);
    expect(called).toBe(0);
    disposeMasks(ghost);
    model.dispose();
  });
});

describe('pruneAndFinetune', () => {
  it('fine-tunes from θT ⊙ m (bit for bit) with the given mask and the same epochs', async () => {
    const { x, y } = seededData(6, 16, 6, 3);
    const model = mlp();
    await expectNoLeak(async () => {
      const { calls, train } = recordingTrainer(model, { x, y });
      const res = await pruneAndFinetune({ model, mask: { sparsity: 0.75, scope: 'global' }, pretrainEpochs: 2, epochs: 2, train });
      expect(calls.map((c) => [c.ctx.phase, c.epochs])).toEqual([['pretrain', 2], ['finetune', 2]]);
      const thetaT = res.rounds[0]?.trained as Map<string, tf.Tensor>;
      for (const [name, got] of calls[1]?.start ?? []) {
        const m = calls[1]?.maskBits?.get(name);
        const want = bits(thetaT.get(name) as tf.Tensor);
        got.forEach((b, i) => expect(b).toBe(m && m[i] === 0 ? 0 : want[i]));
      }
      expect(res.rounds[1]?.sparsity).toBeCloseTo(0.75, 2);
      expect(res.masks).toBe(res.rounds[1]?.masks);
      res.dispose();
    });
    model.dispose();
    tf.dispose([x, y]);
  });

  it('accepts ready masks (copied) and an already-trained model (pretrainEpochs 0)', async () => {
    const { x, y } = seededData(7, 16, 6, 3);
    const model = mlp();
    const { calls, train } = recordingTrainer(model, { x, y });
    const masks = magnitudeMasks(model, { sparsity: 0.5 });
    const res = await pruneAndFinetune({ model, mask: masks, epochs: 1, train });
    expect(calls.map((c) => c.ctx.phase)).toEqual(['finetune']);
    expect(res.rounds[1]?.masks).not.toBe(masks);
    res.dispose();
    expect([...masks.values()].every((m) => !m.isDisposed)).toBe(true);
    disposeMasks(masks);
    model.dispose();
    tf.dispose([x, y]);
  });
});

describe('first conv (Liu et al. 2021 §4.1: not pruned)', () => {
  function convNet(): tf.LayersModel {
    return tf.sequential({
      layers: [
        tf.layers.conv2d({ name: 'c1', filters: 2, kernelSize: 2, inputShape: [4, 4, 1], kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        tf.layers.conv2d({ name: 'c2', filters: 2, kernelSize: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
        tf.layers.flatten(),
        tf.layers.dense({ name: 'fc', units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
      ],
    });
  }
  const noTrain: TrainFn = () => ({});

  it('both drivers leave the first conv dense by default and prune it with excludeFirstConv: false', async () => {
    const model = convNet();
    await expectNoLeak(async () => {
      const imp = await iterativeMagnitudePruning({ model, rounds: 1, epochs: 1, train: noTrain, keepSnapshots: 'none' });
      expect([...(imp.masks as Map<string, tf.Tensor>).keys()].map((k) => k.split('/')[0])).toEqual(['c2', 'fc']);
      imp.dispose();
      const all = await iterativeMagnitudePruning({ model, rounds: 1, epochs: 1, train: noTrain, keepSnapshots: 'none', excludeFirstConv: false });
      expect([...(all.masks as Map<string, tf.Tensor>).keys()].map((k) => k.split('/')[0])).toEqual(['c1', 'c2', 'fc']);
      all.dispose();
      const pf = await pruneAndFinetune({ model, mask: { sparsity: 0.5 }, epochs: 1, train: noTrain });
      expect([...(pf.masks as Map<string, tf.Tensor>).keys()].map((k) => k.split('/')[0])).toEqual(['c2', 'fc']);
      pf.dispose();
      await expect(pruneAndFinetune({ model, mask: { sparsity: 0.5 }, epochs: 1, train: noTrain, excludeFirstConv: 'yes' as unknown as boolean })).rejects.toThrow(/excludeFirstConv/);
    });
    model.dispose();
  });
});
