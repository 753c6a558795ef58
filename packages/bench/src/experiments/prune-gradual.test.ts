import { exportSparse, prunableParams } from '@trainkit/prune';
import { describe, expect, it } from 'vitest';
import { syntheticSplit } from '../data/synthetic';
import { smallCnn } from '../models';
import { gradualPruneArm } from './prune-gradual';

describe('gradualPruneArm', () => {
  it('trains and prunes every kernel to exactly round(s·N_l) zeros along the schedule', async () => {
    const data = syntheticSplit({ n: 64, shape: [8, 8, 1], classes: 3, seed: 3, noise: 0.3 });
    const model = smallCnn({ inputShape: [8, 8, 1], classes: 3, seed: 4, filters: [4, 4], hidden: 8 });
    const kernels = prunableParams(model, { excludeFirstConv: true });
    const r = await gradualPruneArm({ model, kernels, sparsity: 0.8, lr: 0.05, learningRate: 0.05, train: data, test: data, epochs: 3, batchSize: 16, seed: 5 });
    // 4 steps per epoch, 12 in all: begin round(1.2) = 1, end round(7.2) = 7, one update per step.
    expect(r.schedule).toMatchObject({ beginStep: 1, endStep: 7, frequency: 1, finalSparsity: 0.8 });
    const expected = kernels.reduce((s, k) => s + Math.round(0.8 * k.variable.size), 0) / kernels.reduce((s, k) => s + k.variable.size, 0);
    expect(r.sparsity).toBe(expected);
    // The sparse file is smaller than the same file with every tensor dense.
    expect(r.bytes).toBeLessThan(exportSparse(model, new Map()).byteLength);
    model.dispose();
  });
});
