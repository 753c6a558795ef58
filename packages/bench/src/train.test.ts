import { stepDecaySchedule, withHooks } from '@trainkit/core';
import { tf } from '@trainkit/test-utils';
import { describe, expect, it } from 'vitest';
import { syntheticSplit } from './data/synthetic';
import { smallCnn } from './models';
import { evaluate, setLearningRate, train } from './train';

const data = syntheticSplit({ n: 96, shape: [8, 8, 1], classes: 3, seed: 11, noise: 0.3 });
const test = syntheticSplit({ n: 48, shape: [8, 8, 1], classes: 3, seed: 11, noise: 0.3 });

async function run(seed: number, epochs = 2): Promise<Awaited<ReturnType<typeof train>>> {
  const model = smallCnn({ inputShape: [8, 8, 1], classes: 3, seed, filters: [4, 4], hidden: 8 });
  const optimizer = tf.train.adam(0.01);
  try {
    return await train({ model, optimizer, train: data, test, epochs, batchSize: 16, seed });
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

describe('train', () => {
  it('is deterministic for a seed on a backend, and the seed matters', async () => {
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    const strip = (r: typeof a) => r.curves.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(b)).toEqual(strip(a));
    expect(strip(c)).not.toEqual(strip(a));
  });

  it('learns: loss falls and test accuracy beats chance on separable data', async () => {
    const r = await run(7, 4);
    const first = r.curves[0]!;
    const last = r.curves[r.curves.length - 1]!;
    expect(last['trainLoss']).toBeLessThan(first['trainLoss']! * 0.8);
    expect(last['testAcc']).toBeGreaterThan(0.6);
    expect(r.final['steps']).toBe(4 * 6);
    expect(r.final['peakBytes']).toBeGreaterThan(0);
    expect(r.stepMs).toBeGreaterThan(0);
  });

  it('sets the learning rate from a schedule every step (through a HookedOptimizer too) and adds onStep/onEpoch metrics', async () => {
    const model = smallCnn({ inputShape: [8, 8, 1], classes: 3, seed: 2, filters: [2, 2], hidden: 4 });
    const inner = tf.train.sgd(1);
    const optimizer = withHooks(inner);
    const seen: number[] = [];
    const r = await train({
      model,
      optimizer,
      train: data,
      epochs: 2,
      batchSize: 32,
      seed: 2,
      learningRate: stepDecaySchedule({ initial: 0.1, factor: 0.5, every: 3 }),
      onStep: (step) => {
        seen.push((inner as unknown as { learningRate: number }).learningRate);
        return { stepSquared: step * step };
      },
      onEpoch: (epoch) => ({ epochTimesTen: epoch * 10 }),
    });
    expect(seen).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05]);
    expect(r.curves.map((p) => p['lr'])).toEqual([0.1, 0.05]);
    expect(r.curves.map((p) => p['stepSquared'])).toEqual([(0 + 1 + 4) / 3, (9 + 16 + 25) / 3]);
    expect(r.curves.map((p) => p['epochTimesTen'])).toEqual([10, 20]);
    model.dispose();
    optimizer.dispose();
  });

  it('evaluate counts hits in inference mode and leaks nothing', async () => {
    const model = smallCnn({ inputShape: [8, 8, 1], classes: 3, seed: 2, filters: [2, 2], hidden: 4 });
    const ev = await evaluate(model, test, { batchSize: 20 });
    const logits = tf.tidy(() => tf.argMax(model.predict(tf.tensor4d(test.x, [48, 8, 8, 1])) as tf.Tensor, -1));
    const pred = logits.dataSync();
    logits.dispose();
    const hits = Array.from(pred).filter((p, i) => p === test.labels[i]).length;
    expect(ev.acc).toBeCloseTo(hits / 48, 10);
    expect(ev.loss).toBeGreaterThan(0);
    model.dispose();
  });

  it('rejects bad arguments', async () => {
    const model = smallCnn({ inputShape: [8, 8, 1], classes: 3, seed: 2, filters: [2, 2], hidden: 4 });
    const opt = tf.train.sgd(0.1);
    try {
    await expect(train({ model, optimizer: opt, train: data, epochs: 0, batchSize: 4, seed: 1 })).rejects.toThrow(/epochs/);
    await expect(train({ model, optimizer: {} as tf.Optimizer, train: data, epochs: 1, batchSize: 4, seed: 1 })).rejects.toThrow(/optimizer/);
    expect(() => setLearningRate({} as tf.Optimizer, 0.1)).toThrow(/learningRate/);
    setLearningRate(opt, 0.3);
    expect((opt as unknown as { learningRate: number }).learningRate).toBe(0.3);
    } finally {
      model.dispose();
      opt.dispose();
    }
  });
});
