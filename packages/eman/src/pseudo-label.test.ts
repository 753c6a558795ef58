import { describe, expect, it } from 'vitest';
import { TrainkitError } from '@trainkit/core';
import { expectTensorClose, finiteDiffGrad, tf } from '@trainkit/test-utils';
import { pseudoLabelLoss, pseudoLabels } from './pseudo-label';

// Three samples, three classes. softmax([4, 0, 0]) = [0.9647, 0.0177, 0.0177] (confident, class 0);
// softmax([0, 1, 0]) = [0.2119, 0.5761, 0.2119] (not confident, class 1); softmax([0, 0, 5]) top = 0.9867 (class 2).
const WEAK = [
  [4, 0, 0],
  [0, 1, 0],
  [0, 0, 5],
];
const STRONG = [
  [1, 2, 0.5],
  [0.3, -1, 2],
  [-1, 0, 1],
];

function logSoftmax64(row: number[], c: number): number {
  const mx = Math.max(...row);
  const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
  return (row[c] as number) - lse;
}

describe('pseudoLabels', () => {
  it('gives argmax labels, top probabilities and the τ mask', () => {
    const z = tf.tensor2d(WEAK);
    const { labels, mask, confidence } = pseudoLabels(z, { threshold: 0.95 });
    expect(Array.from(labels.dataSync())).toEqual([0, 1, 2]);
    expect(Array.from(mask.dataSync())).toEqual([1, 0, 1]);
    const top0 = Math.exp(4) / (Math.exp(4) + 2); // 0.96466
    const top1 = Math.E / (Math.E + 2); // 0.57612
    const top2 = Math.exp(5) / (Math.exp(5) + 2); // 0.98670
    expectTensorClose(confidence, [top0, top1, top2]);
    tf.dispose([z, labels, mask, confidence]);
  });

  it('a temperature below 1 sharpens: with T = 0.2 the second sample passes τ = 0.95 too', () => {
    const z = tf.tensor2d(WEAK);
    const { labels, mask, confidence } = pseudoLabels(z, { threshold: 0.95, temperature: 0.2 });
    // softmax([0, 5, 0]) top = e^5 / (e^5 + 2) = 0.98670
    expect(Array.from(mask.dataSync())).toEqual([1, 1, 1]);
    tf.dispose([z, labels, mask, confidence]);
  });
});

describe('pseudoLabelLoss', () => {
  it('equals (1/n)·Σ mask_i·CE(strong_i, argmax weak_i) (float64 reference)', () => {
    const w = tf.tensor2d(WEAK);
    const s = tf.tensor2d(STRONG);
    const loss = pseudoLabelLoss(w, s, { threshold: 0.95 });
    // sample 0 → class 0, sample 1 masked, sample 2 → class 2
    const expected = -(logSoftmax64(STRONG[0] as number[], 0) + logSoftmax64(STRONG[2] as number[], 2)) / 3;
    expectTensorClose(loss, expected);
    const none = pseudoLabelLoss(w, s, { threshold: 1 });
    expectTensorClose(none, 0);
    tf.dispose([w, s, loss, none]);
  });

  it('sends no gradient into the labeller logits; the student gradient matches finite differences', () => {
    const w = tf.tensor2d(WEAK);
    const s = tf.tensor2d(STRONG);
    const gw = tf.grad((x: tf.Tensor) => pseudoLabelLoss(x, s))(w);
    expect(Array.from(gw.dataSync()).every((v) => v === 0)).toBe(true);
    const gs = tf.grad((x: tf.Tensor) => pseudoLabelLoss(w, x))(s);
    const fd = finiteDiffGrad((x) => pseudoLabelLoss(w, x), s, 1e-3);
    expectTensorClose(gs, fd, { atol: 1e-3, rtol: 1e-2 });
    // the masked sample (row 1) gets exactly zero gradient
    expect(Array.from(gs.dataSync()).slice(3, 6).map(Math.abs)).toEqual([0, 0, 0]);
    tf.dispose([w, s, gw, gs]);
  });

  it('rejects mismatched or non-2-D logits and τ outside [0, 1]', () => {
    const w = tf.tensor2d(WEAK);
    const s = tf.zeros([2, 3]);
    const v = tf.zeros([3]);
    expect(() => pseudoLabelLoss(w, s)).toThrow(TrainkitError);
    expect(() => pseudoLabelLoss(v, v)).toThrow(/labellerLogits/);
    expect(() => pseudoLabels(w, { threshold: 2 })).toThrow(/threshold/);
    tf.dispose([w, s, v]);
  });
});
