import * as fc from 'fast-check';
import { describe, it } from 'vitest';
import { BAD_KINDS, checkContract, tf, type FuzzCase } from '@trainkit/test-utils';
import {
  HookedOptimizer,
  checkNumber,
  checkSeed,
  checkTensor,
  constantSchedule,
  cosineSchedule,
  deriveSeed,
  linearWarmup,
  optimizerFromConfig,
  piecewiseSchedule,
  rng,
  scheduleFromConfig,
  stepDecaySchedule,
  toVariables,
  withHooks,
  type NamedTensor,
  type StepHook,
} from './index';

const none = () => ({ watch: [] as tf.Variable[], teardown: () => undefined });
const pure = (name: string, args: unknown[], call: (a: unknown[]) => unknown): FuzzCase => ({ name, setup: () => ({ args, ...none() }), call });

/** A hook with one state variable, to restore into. */
function stateHook(): StepHook & { count: tf.Variable } {
  const count = tf.tidy(() => tf.variable(tf.scalar(3), false));
  return {
    name: 'h',
    count,
    afterApply: () => count.assign(tf.add(count, 1)),
    getWeights: () => [{ name: 'count', tensor: count }],
    setWeights: (w: NamedTensor[]) => count.assign(w[0]!.tensor as tf.Scalar),
    dispose: () => count.dispose(),
  };
}

/** An adam-wrapping optimizer after two steps on one variable, and a copy of its state. */
async function trained() {
  const w = tf.tidy(() => tf.variable(tf.tensor1d([1, -2, 3])));
  const hook = stateHook();
  const opt = withHooks(tf.train.adam(0.1), hook);
  for (let i = 0; i < 2; i++) opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, false, [w]);
  const state = await opt.getWeights();
  opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, false, [w]);
  const [iter, ...slots] = await opt.inner.getWeights();
  iter!.tensor.dispose();
  const inner = slots.map((x) => x.tensor as tf.Variable);
  return { w, hook, opt, state, watch: [w, hook.count, ...inner] };
}

const CASES: FuzzCase[] = [
  pure('checkNumber', ['x', 3, { integer: true, min: 0, max: 10 }], (a) => checkNumber(a[0] as never, a[1], a[2] as never)),
  pure('checkSeed', [42], (a) => checkSeed(a[0])),
  pure('rng', [42], (a) => rng(a[0] as never).next()),
  pure('deriveSeed', [42, 'x', 1], (a) => deriveSeed(a[0] as never, a[1] as never, a[2] as never)),
  pure('constantSchedule', [0.5], (a) => constantSchedule(a[0] as never).at(3)),
  pure('cosineSchedule', [{ from: 1, to: 0, steps: 10 }], (a) => cosineSchedule(a[0] as never).at(3)),
  pure('stepDecaySchedule', [{ initial: 1, factor: 0.5, every: 2 }], (a) => stepDecaySchedule(a[0] as never).at(3)),
  pure('linearWarmup', [{ steps: 2, from: 0, then: constantSchedule(1) }], (a) => linearWarmup(a[0] as never).at(1)),
  pure('piecewiseSchedule', [[constantSchedule(1), constantSchedule(2)], [3]], (a) => piecewiseSchedule(a[0] as never, a[1] as never).at(4)),
  pure('scheduleFromConfig', [{ className: 'cosine', from: 1, to: 0, steps: 10 }], (a) => scheduleFromConfig(a[0] as never).at(2)),
  pure('optimizerFromConfig', [{ innerClassName: 'SGD', innerConfig: { learningRate: 0.1 } }], (a) => {
    const o = optimizerFromConfig(a[0] as never);
    o.dispose();
  }),
  {
    name: 'toVariables',
    setup() {
      const v = tf.tidy(() => tf.variable(tf.zeros([2])));
      return { args: ['params', [v]], watch: [v], teardown: () => v.dispose() };
    },
    call: (a) => toVariables(a[0] as never, a[1] as never),
  },
  {
    name: 'checkTensor',
    setup() {
      const t = tf.zeros([2, 2]);
      return { args: ['x', t, { dtypes: ['float32'], shape: [2, 2], minRank: 2 }], watch: [], teardown: () => t.dispose() };
    },
    call: (a) => checkTensor(a[0] as never, a[1], a[2] as never),
  },
  {
    name: 'withHooks',
    setup: () => ({ args: ['fresh sgd', { name: 'h' }], ...none() }),
    call: (a) => {
      const fresh = a[0] === 'fresh sgd';
      const inner = fresh ? tf.train.sgd(0.1) : a[0];
      try {
        return withHooks(inner as never, a[1] as never);
      } catch (err) {
        if (fresh) (inner as tf.Optimizer).dispose();
        throw err;
      }
    },
    release: (r) => (r as HookedOptimizer).dispose(),
  },
];

const mutation = fc.record({ pos: fc.nat(3), deep: fc.boolean(), member: fc.nat(6), kind: fc.constantFrom(...BAD_KINDS) });

describe('fuzz: every public function either works or throws TrainkitError, changes nothing when it throws, leaks nothing', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 40 });
    });
  }

  it('HookedOptimizer.setWeights with one entry (or the list) replaced', async () => {
    const t = await trained();
    const c: FuzzCase = {
      name: 'HookedOptimizer.setWeights',
      setup: () => ({ args: [t.state], watch: t.watch, teardown: () => undefined }),
      call: (a) => t.opt.setWeights(a[0] as never),
    };
    await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 50 });
    tf.dispose(t.state.map((s) => s.tensor));
    t.opt.dispose();
    t.w.dispose();
  });

  it('HookedOptimizer.applyGradients with bad gradients', async () => {
    const t = await trained();
    const g = tf.ones([3]);
    const c: FuzzCase = {
      name: 'HookedOptimizer.applyGradients',
      setup: () => ({ args: [{ [t.w.name]: g }], watch: t.watch.slice(0, 2), teardown: () => undefined }),
      call: (a) => t.opt.applyGradients(a[0] as never),
    };
    await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 30 });
    g.dispose();
    tf.dispose(t.state.map((s) => s.tensor));
    t.opt.dispose();
    t.w.dispose();
  });
});
