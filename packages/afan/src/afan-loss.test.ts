import { describe, expect, it } from 'vitest';
import { expectNoLeak, expectTensorClose, finiteDiffGrad, seededData, seededVariable, tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { adversarialFeatures } from './attack';
import { afanDefaults, afanLoss } from './afan-loss';
import { softmaxCrossEntropy } from './loss';
import { featureStatSwap } from './stats';

const D = 5;
const H = 4;
const C = 3;

/** front: x → tanh(x·W0); back: f → (f·W1 + b1), passed through an identity with a counting custom gradient. */
function net(seed: number) {
  const W0 = seededVariable(seed, [D, H], `afan_test_W0_${seed}`);
  const W1 = seededVariable(seed + 1, [H, C], `afan_test_W1_${seed}`);
  const b1 = seededVariable(seed + 2, [C], `afan_test_b1_${seed}`, -0.2, 0.2);
  const calls = { backward: 0 };
  const countingIdentity = tf.customGrad(((t: tf.Tensor) => ({
    value: tf.clone(t),
    gradFunc: (dy: tf.Tensor) => (calls.backward++, dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  const front = (x: tf.Tensor) => tf.tanh(tf.matMul(x as tf.Tensor2D, W0));
  const backWith = (w1: tf.Tensor) => (f: tf.Tensor) => countingIdentity(tf.add(tf.matMul(f as tf.Tensor2D, w1 as tf.Tensor2D), b1)) as tf.Tensor;
  return { W0, W1, b1, front, back: backWith(W1), backWith, calls, dispose: () => tf.dispose([W0, W1, b1]) };
}

function value(t: tf.Tensor): number {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
}

describe('afanLoss', () => {
  it('defaults are the reference classification code’s (0.5·clean + 0.5·adv, k = 1, no AFN, pono axes)', () => {
    expect(afanDefaults).toMatchObject({ cleanWeight: 0.5, advWeight: 0.5, numStrengths: 1, useNormalization: false, statsAxes: 'pono', steps: 5 });
  });

  it('with steps = 0 equals the clean loss times (cleanWeight + Σ advWeight), with and without AFN', () => {
    const { x, y } = seededData(1, 12, D, C);
    const n = net(2);
    const clean = value(tf.tidy(() => softmaxCrossEntropy(y, n.back(n.front(x)))));
    const opts = { front: n.front, back: n.back, x, y, steps: 0, cleanWeight: 0.3, advWeight: [0.2, 0.9], numStrengths: 2 };
    // 0.3 + 0.2 + 0.9 = 1.4
    expectTensorClose(value(afanLoss(opts)), 1.4 * clean, { atol: 1e-6, rtol: 1e-6 });
    // AFN(f, f) = f up to eps = 1e-5 in the variances
    expectTensorClose(value(afanLoss({ ...opts, useNormalization: true })), 1.4 * clean, { atol: 1e-5, rtol: 1e-4 });
    n.dispose();
    tf.dispose([x, y]);
  });

  it('is w_c·L(clean) + Σ_i λ_i·L(f + (i/k)·δ), with AFN on the masked strengths', () => {
    const { x, y } = seededData(3, 10, D, C);
    const n = net(4);
    const attack = { steps: 2, stepSize: 0.05, training: false };
    const got = value(
      afanLoss({ front: n.front, back: n.back, x, y, ...attack, numStrengths: 2, cleanWeight: 0.7, advWeight: [0.1, 0.2], useNormalization: [false, true] }),
    );
    const expected = value(
      tf.tidy(() => {
        const f = n.front(x);
        const fAdv = adversarialFeatures(n.back, f, y, attack);
        const half = tf.add(f, tf.mul(tf.sub(fAdv, f), 0.5));
        const mixed = featureStatSwap(f, fAdv, { axes: 'pono' });
        return tf.addN([
          tf.mul(softmaxCrossEntropy(y, n.back(f)), 0.7),
          tf.mul(softmaxCrossEntropy(y, n.back(half)), 0.1),
          tf.mul(softmaxCrossEntropy(y, n.back(mixed)), 0.2),
        ]);
      }),
    );
    expectTensorClose(got, expected, { atol: 1e-6, rtol: 1e-5 });
    n.dispose();
    tf.dispose([x, y]);
  });

  it('sends gradients to front (clean term only) and back (every term), and never back-propagates into the attack', () => {
    const { x, y } = seededData(5, 10, D, C);
    const n = net(6);
    const attack = { steps: 3, stepSize: 0.1, training: false };
    const opts = { ...attack, numStrengths: 2, cleanWeight: 0.6, advWeight: 0.25 };
    n.calls.backward = 0;
    const { grads, value: loss } = tf.variableGrads(() => afanLoss({ front: n.front, back: n.back, x, y, ...opts }), [n.W0, n.W1, n.b1]);
    // cost: back's backward runs K times inside the attack (to the features) + once per loss term (clean + k)
    expect(n.calls.backward).toBe(3 + 1 + 2);

    // front: exactly cleanWeight × the clean loss's gradient, whatever the adversarial terms are
    const gFrontClean = tf.grad((w0: tf.Tensor) => softmaxCrossEntropy(y, n.back(tf.tanh(tf.matMul(x as tf.Tensor2D, w0 as tf.Tensor2D)))))(n.W0);
    const gFrontExpected = tf.mul(gFrontClean, 0.6);
    expectTensorClose(grads[n.W0.name] as tf.Tensor, gFrontExpected, { atol: 1e-6, rtol: 1e-5 });

    // back: the gradient of the same loss with the perturbed features held fixed, checked by finite differences
    const f = tf.tidy(() => n.front(x));
    const fAdv = adversarialFeatures(n.back, f, y, attack);
    const frozen = (w1: tf.Tensor) =>
      tf.tidy(() => {
        const b = n.backWith(w1);
        const half = tf.add(f, tf.mul(tf.sub(fAdv, f), 0.5));
        return tf.addN([
          tf.mul(softmaxCrossEntropy(y, b(f)), 0.6),
          tf.mul(softmaxCrossEntropy(y, b(half)), 0.25),
          tf.mul(softmaxCrossEntropy(y, b(fAdv)), 0.25),
        ]) as tf.Scalar;
      });
    expectTensorClose(loss, value(frozen(n.W1)), { atol: 1e-6, rtol: 1e-5 });
    expectTensorClose(grads[n.W1.name] as tf.Tensor, finiteDiffGrad(frozen, n.W1, 1e-3), { atol: 1e-3, rtol: 1e-2 });
    const gBack = tf.grad(frozen)(n.W1);
    expectTensorClose(grads[n.W1.name] as tf.Tensor, gBack, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([loss, gFrontClean, gFrontExpected, f, fAdv, gBack, ...Object.values(grads)]);
    n.dispose();
    tf.dispose([x, y]);
  });

  it('with advWeight 0 and cleanWeight 1 an optimizer step is bit for bit a plain training step', () => {
    const { x, y } = seededData(7, 10, D, C);
    const a = net(8);
    const b = net(8 + 100);
    tf.tidy(() => [b.W0, b.W1, b.b1].forEach((v, i) => v.assign([a.W0, a.W1, a.b1][i] as tf.Variable)));
    const opt = tf.train.sgd(0.5);
    opt.minimize(() => afanLoss({ front: a.front, back: a.back, x, y, cleanWeight: 1, advWeight: 0 }), false, [a.W0, a.W1, a.b1]);
    opt.minimize(() => softmaxCrossEntropy(y, b.back(b.front(x))), false, [b.W0, b.W1, b.b1]);
    expectTensorClose(a.W0, b.W0, { atol: 0, rtol: 0 });
    expectTensorClose(a.W1, b.W1, { atol: 0, rtol: 0 });
    expectTensorClose(a.b1, b.b1, { atol: 0, rtol: 0 });
    opt.dispose();
    a.dispose();
    b.dispose();
    tf.dispose([x, y]);
  });

  it('trains inside optimizer.minimize (loss goes down over 20 steps) without leaking a tensor per step', async () => {
    const { x, y } = seededData(9, 16, D, C);
    const n = net(10);
    const opt = tf.train.adam(0.05);
    const step = () => opt.minimize(() => afanLoss({ front: n.front, back: n.back, x, y, steps: 2, stepSize: 0.05, useNormalization: true, statsAxes: 'batch' }), true);
    const first = value(step() as tf.Scalar); // creates Adam's slots
    await expectNoLeak(() => tf.dispose(step() as tf.Scalar));
    let last = first;
    for (let i = 0; i < 18; i++) last = value(step() as tf.Scalar);
    expect(last).toBeLessThan(first * 0.8);
    opt.dispose();
    n.dispose();
    tf.dispose([x, y]);
  });

  it('throws TrainkitError on bad options', () => {
    const { x, y } = seededData(11, 4, D, C);
    const n = net(12);
    const base = { front: n.front, back: n.back, x, y };
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ numStrengths: 0 }, /numStrengths must be an integer >= 1/],
      [{ numStrengths: 2, advWeight: [0.5] }, /advWeight must be one value or an array of numStrengths \(2\)/],
      [{ advWeight: -1 }, /advWeight must be a finite number >= 0/],
      [{ advWeight: [Number.NaN] }, /advWeight\[0\]/],
      [{ cleanWeight: -0.1 }, /cleanWeight/],
      [{ cleanWeight: 0, advWeight: 0 }, /cleanWeight must be positive when every advWeight is 0/],
      [{ useNormalization: 'yes' }, /useNormalization must be true or false/],
      [{ numStrengths: 2, useNormalization: [true] }, /useNormalization must be one value or an array/],
      [{ statsAxes: 'channels' }, /statsAxes must be 'pono', 'batch' or 'instance'/],
      [{ afnEpsilon: 0 }, /afnEpsilon/],
      [{ steps: -2 }, /steps must be an integer >= 0/],
      [{ stepsize: 0.1 }, /args\.stepsize/],
      [{ x: undefined }, /x must be a live tf.Tensor/],
      [{ front: null }, /front must be a function/],
    ];
    for (const [extra, msg] of bad) {
      expect(() => afanLoss({ ...base, ...extra } as never)).toThrow(msg);
      expect(() => afanLoss({ ...base, ...extra } as never)).toThrow(TrainkitError);
    }
    // AFN 'pono' over a single channel has no unbiased variance
    const narrow = (t: tf.Tensor) => tf.slice(t, [0, 0], [-1, 1]);
    expect(() => afanLoss({ ...base, front: (t) => narrow(n.front(t)), back: (f) => tf.tile(f, [1, C]), useNormalization: true })).toThrow(/averages over 1 value/);
    n.dispose();
    tf.dispose([x, y]);
  });
});
