import { describe, expect, it } from 'vitest';
import { TrainkitError } from '@trainkit/core';
import { expectTensorClose, tf } from '@trainkit/test-utils';
import { batch, smallNet } from '../../test/fixtures';
import { updateBatchNorm } from './update-bn';

describe('updateBatchNorm', () => {
  it('moving statistics = the cumulative (equal-weight) average of each batch’s mean and biased variance (float64 reference)', () => {
    const model = smallNet(1); // dense(6) → BN(momentum 0.9) → relu → dense(3)
    const batches = [batch(1, 8), batch(2, 5), batch(3, 8)];
    const kernel = Float64Array.from(model.layers[0]!.getWeights()[0]!.dataSync()); // [4, 6]
    const bias = Float64Array.from(model.layers[0]!.getWeights()[1]!.dataSync());
    const means: number[][] = [];
    const vars: number[][] = [];
    for (const b of batches) {
      const x = Array.from(b.dataSync());
      const n = b.shape[0];
      const h = Array.from({ length: n }, (_, r) => Array.from({ length: 6 }, (_, c) => bias[c]! + [0, 1, 2, 3].reduce((s, k) => s + x[r * 4 + k]! * kernel[k * 6 + c]!, 0)));
      const mu = [0, 1, 2, 3, 4, 5].map((c) => h.reduce((s, row) => s + row[c]!, 0) / n);
      means.push(mu);
      vars.push(mu.map((m, c) => h.reduce((s, row) => s + (row[c]! - m) ** 2, 0) / n));
    }
    const avg = (rows: number[][]) => rows[0]!.map((_, c) => rows.reduce((s, r) => s + r[c]!, 0) / rows.length);
    expect(updateBatchNorm(model, batches)).toBe(3);
    const bn = model.layers[1]!;
    const [, , movingMean, movingVar] = bn.getWeights();
    expectTensorClose(movingMean!, avg(means), { atol: 1e-5, rtol: 1e-4 });
    expectTensorClose(movingVar!, avg(vars), { atol: 1e-5, rtol: 1e-4 });
    expect((bn as unknown as { momentum: number }).momentum).toBe(0.9); // restored
    // Does not depend on the statistics before the call (they are reset first).
    tf.tidy(() => {
      bn.weights[2]!.write(tf.fill([6], 100));
    });
    updateBatchNorm(model, batches);
    expectTensorClose(model.layers[1]!.getWeights()[2]!, avg(means), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose(batches);
    model.dispose();
  });

  it('rejects empty or non-tensor batches without touching the model; a model without BN is left alone', () => {
    const model = smallNet(2);
    const before = Array.from(model.layers[1]!.getWeights()[2]!.dataSync());
    expect(() => updateBatchNorm(model, [])).toThrow(/at least one batch/);
    expect(() => updateBatchNorm(model, [[1, 2]] as never)).toThrow(TrainkitError);
    expect(() => updateBatchNorm({} as never, [])).toThrow(/model/);
    expect(Array.from(model.layers[1]!.getWeights()[2]!.dataSync())).toEqual(before);
    // A batch of the wrong width fails in the forward pass: statistics and momentum are restored.
    const wrong = tf.zeros([2, 5]);
    const good = batch(4, 4);
    expect(() => updateBatchNorm(model, [good, wrong])).toThrow();
    expect(Array.from(model.layers[1]!.getWeights()[2]!.dataSync())).toEqual(before);
    expect((model.layers[1] as unknown as { momentum: number }).momentum).toBe(0.9);
    const plain = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4] })] });
    const x = batch(5, 4);
    expect(updateBatchNorm(plain, [x])).toBe(0);
    tf.dispose([wrong, good, x]);
    plain.dispose();
    model.dispose();
  });
});
