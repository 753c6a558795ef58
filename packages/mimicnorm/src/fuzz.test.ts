import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BAD_KINDS, checkContract, tf, type FuzzCase } from '@trainkit/test-utils';
import { TrainkitError, withHooks } from '@trainkit/core';
import { centerWeights, mimicInit, mimicNorm, mimicNormHook, mimicNormParams, residualScaleInit } from './index';

function kernels() {
  const k1 = tf.tidy(() => tf.variable(tf.tensor2d([[0.5, -1], [2, 0.1], [1, 1]])));
  const k2 = tf.tidy(() => tf.variable(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2])));
  return { k1, k2, list: [k1, k2], free: () => tf.dispose([k1, k2]) };
}

const onKernels = (name: string, extra: unknown[], call: (a: unknown[]) => unknown, release?: (r: unknown) => void): FuzzCase => ({
  name,
  setup() {
    const k = kernels();
    return { args: [k.list, ...extra], watch: k.list, teardown: k.free };
  },
  call,
  release,
});

const CASES: FuzzCase[] = [
  onKernels('centerWeights', [], (a) => centerWeights(a[0] as never)),
  onKernels('mimicInit', [{ gain: 2, seed: 3 }], (a) => mimicInit(a[0] as never, a[1] as never)),
  onKernels('mimicNormHook', [], (a) => mimicNormHook({ params: a[0] as never })),
  {
    name: 'mimicNorm',
    setup() {
      const k = kernels();
      return { args: ['fresh sgd', { params: k.list, centerOnCreate: true, name: 'mn' }], watch: k.list, teardown: k.free };
    },
    call: (a) => {
      const fresh = a[0] === 'fresh sgd';
      const inner = fresh ? tf.train.sgd(0.1) : a[0];
      try {
        return mimicNorm(inner as never, a[1] as never);
      } catch (err) {
        if (fresh) (inner as tf.Optimizer).dispose();
        throw err;
      }
    },
    release: (r) => (r as tf.Optimizer).dispose(),
  },
  { name: 'residualScaleInit', setup: () => ({ args: [3, { branchConvs: 2, mode: 'code' }], watch: [], teardown: () => undefined }), call: (a) => residualScaleInit(a[0] as never, a[1] as never) },
  {
    name: 'mimicNormParams',
    setup() {
      const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 3], filters: 2, kernelSize: 3 })] });
      return { args: [model, { minFanIn: 0, includeDense: false, includeDepthwise: false }], watch: [], teardown: () => model.dispose() };
    },
    call: (a) => mimicNormParams(a[0] as never, a[1] as never),
  },
];

const mutation = fc.record({ pos: fc.nat(3), deep: fc.boolean(), member: fc.nat(5), kind: fc.constantFrom(...BAD_KINDS) });

describe('fuzz: every public function either works or throws TrainkitError, changes nothing when it throws, leaks nothing', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 40 });
    });
  }

  it('a step whose second kernel was disposed changes neither kernel and names it (DISPOSED)', () => {
    const k = kernels();
    const w = tf.tidy(() => tf.variable(tf.ones([3, 2])));
    const opt = withHooks(tf.train.sgd(0.1), mimicNormHook({ params: k.list }));
    const before = Array.from(k.k1.dataSync());
    k.k2.dispose();
    let err: unknown;
    try {
      centerWeights(k.list);
    } catch (e) {
      err = e;
    }
    expect((err as TrainkitError).code).toBe('DISPOSED');
    expect(Array.from(k.k1.dataSync())).toEqual(before);
    expect(() => opt.minimize(() => tf.sum(tf.mul(w, k.k1)) as tf.Scalar, false, [k.k1])).toThrow(TrainkitError);
    opt.dispose();
    tf.dispose([k.k1, w]);
  });
});
