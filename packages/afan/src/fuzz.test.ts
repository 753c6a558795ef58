import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BAD_KINDS, checkContract, tf, type FuzzCase } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { adversarialFeatures, afanLoss, featureStatSwap, softmaxCrossEntropy } from './index';

/** A two-stage linear net on variables, with a batch of 2 and one-hot labels. */
function net() {
  const w1 = tf.tidy(() => tf.variable(tf.tensor2d([[0.5, -1, 0.2], [2, 0.1, -0.4]])));
  const w2 = tf.tidy(() => tf.variable(tf.tensor2d([[1, -1], [0.3, 0.2], [-0.5, 0.8]])));
  const x = tf.tensor2d([[1, 2], [-1, 0.5]]);
  const y = tf.tensor2d([[1, 0], [0, 1]]);
  const front = (t: tf.Tensor) => tf.matMul(t as tf.Tensor2D, w1);
  const back = (t: tf.Tensor) => tf.matMul(t as tf.Tensor2D, w2);
  return { w1, w2, x, y, front, back, free: () => tf.dispose([w1, w2, x, y]) };
}

const scalar = (r: unknown) => (r as tf.Tensor).dispose();

const CASES: FuzzCase[] = [
  {
    name: 'afanLoss',
    setup() {
      const n = net();
      return { args: [{ front: n.front, back: n.back, x: n.x, y: n.y, epsilon: 0.1, steps: 1, numStrengths: 2, advWeight: 0.5, cleanWeight: 0.5, useNormalization: true, statsAxes: 'batch' }], watch: [n.w1, n.w2], teardown: n.free };
    },
    call: (a) => afanLoss(a[0] as never),
    release: scalar,
  },
  {
    name: 'adversarialFeatures',
    setup() {
      const n = net();
      const f = n.front(n.x);
      return { args: [n.back, f, n.y, { epsilon: 0.1, steps: 1 }], watch: [n.w1, n.w2], teardown: () => { f.dispose(); n.free(); } };
    },
    call: (a) => adversarialFeatures(a[0] as never, a[1] as never, a[2] as never, a[3] as never),
    release: scalar,
  },
  {
    name: 'featureStatSwap',
    setup() {
      const c = tf.tensor2d([[1, 2, 3], [4, 5, 7]]);
      const d = tf.tensor2d([[0, 2, 1], [3, 9, 2]]);
      return { args: [c, d, { axes: 'pono', strength: 1, epsilon: 1e-5 }], watch: [], teardown: () => tf.dispose([c, d]) };
    },
    call: (a) => featureStatSwap(a[0] as never, a[1] as never, a[2] as never),
    release: scalar,
  },
  {
    name: 'softmaxCrossEntropy',
    setup() {
      const y = tf.tensor2d([[1, 0], [0, 1]]);
      const z = tf.tensor2d([[2, 1], [0.5, 3]]);
      return { args: [y, z], watch: [], teardown: () => tf.dispose([y, z]) };
    },
    call: (a) => softmaxCrossEntropy(a[0] as never, a[1] as never),
    release: scalar,
  },
];

const mutation = fc.record({ pos: fc.nat(4), deep: fc.boolean(), member: fc.nat(12), kind: fc.constantFrom(...BAD_KINDS) });

describe('fuzz: every public function either works or throws TrainkitError, leaks nothing', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 40 });
    });
  }

  it('a disposed x, labels or logits gives DISPOSED naming the argument', () => {
    const n = net();
    const dead = tf.zeros([2, 2]);
    dead.dispose();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(TrainkitError);
        return [(e as TrainkitError).code, (e as TrainkitError).argument];
      }
      return undefined;
    };
    expect(code(() => afanLoss({ front: n.front, back: n.back, x: dead, y: n.y }))).toEqual(['DISPOSED', 'x']);
    const f = n.front(n.x);
    expect(code(() => adversarialFeatures(n.back, f, dead))).toEqual(['DISPOSED', 'labels']);
    expect(code(() => softmaxCrossEntropy(n.y, dead))).toEqual(['DISPOSED', 'logits']);
    f.dispose();
    n.free();
  });
});
