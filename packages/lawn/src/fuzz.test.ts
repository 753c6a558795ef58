import * as fc from 'fast-check';
import { describe, it } from 'vitest';
import { BAD_KINDS, checkContract, tf, type FuzzCase } from '@trainkit/test-utils';
import { lawn, lawnHook, projectToTangent, retractToNorm, weightNorms, type LawnHook } from './index';

function weights() {
  const w1 = tf.tidy(() => tf.variable(tf.tensor2d([[0.5, -1], [2, 0.1]])));
  const w2 = tf.tidy(() => tf.variable(tf.tensor2d([[1, 2], [3, 4]])));
  return { w1, w2, list: [w1, w2], free: () => tf.dispose([w1, w2]) };
}

/** A hook whose norms are frozen, ready to restore into. */
function frozenHook() {
  const w = weights();
  const hook = lawnHook({ params: w.list, freeSteps: 0, granularity: 'unit' });
  hook.beginConstrainedPhase(0);
  return { ...w, hook, watch: [...w.list, ...hook.getWeights().map((x) => x.tensor as tf.Variable)] };
}

const tensorCase = (name: string, make: () => tf.Tensor[], extra: unknown[], call: (a: unknown[]) => tf.Tensor): FuzzCase => ({
  name,
  setup() {
    const ts = make();
    return { args: [...ts, ...extra], watch: [], teardown: () => tf.dispose(ts) };
  },
  call,
  release: (r) => (r as tf.Tensor).dispose(),
});

const CASES: FuzzCase[] = [
  {
    name: 'lawnHook',
    setup() {
      const w = weights();
      return { args: [{ params: w.list, freeSteps: 2, granularity: 'layer', projectGradient: true, eps: 1e-12, name: 'lawn' }], watch: w.list, teardown: w.free };
    },
    call: (a) => lawnHook(a[0] as never),
    release: (r) => (r as LawnHook).dispose(),
  },
  {
    name: 'lawn',
    setup() {
      const w = weights();
      return { args: ['fresh sgd', { params: w.list, freeSteps: 1 }], watch: w.list, teardown: w.free };
    },
    call: (a) => {
      const fresh = a[0] === 'fresh sgd';
      const inner = fresh ? tf.train.sgd(0.1) : a[0];
      try {
        return lawn(inner as never, a[1] as never);
      } catch (err) {
        if (fresh) (inner as tf.Optimizer).dispose();
        throw err;
      }
    },
    release: (r) => (r as tf.Optimizer).dispose(),
  },
  tensorCase('weightNorms', () => [tf.tensor2d([[1, 2], [3, 4]])], ['unit'], (a) => weightNorms(a[0] as never, a[1] as never)),
  tensorCase('projectToTangent', () => [tf.ones([2, 2]), tf.tensor2d([[1, 2], [3, 4]]), tf.ones([2])], ['unit'], (a) => projectToTangent(a[0] as never, a[1] as never, a[3] as never, a[2] as never)),
  tensorCase('retractToNorm', () => [tf.tensor2d([[1, 2], [3, 4]]), tf.ones([2])], ['unit', 1e-12], (a) => retractToNorm(a[0] as never, a[1] as never, a[2] as never, a[3] as never)),
  {
    name: 'LawnHook.setWeights',
    setup() {
      const f = frozenHook();
      const state = f.hook.getWeights().map((x) => ({ name: x.name, tensor: tf.add(x.tensor, 1) }));
      return { args: [state], ctx: f.hook, watch: f.watch, teardown: () => { tf.dispose(state.map((s) => s.tensor)); f.hook.dispose(); f.free(); } };
    },
    call: (a, hook) => (hook as LawnHook).setWeights(a[0] as never),
  },
  {
    name: 'LawnHook.beginConstrainedPhase',
    setup() {
      const w = weights();
      const hook = lawnHook({ params: w.list, freeSteps: 5 });
      return { args: [3], ctx: hook, watch: [...w.list, ...hook.getWeights().map((x) => x.tensor as tf.Variable)], teardown: () => { hook.dispose(); w.free(); } };
    },
    call: (a, hook) => (hook as LawnHook).beginConstrainedPhase(a[0] as never),
  },
];

const mutation = fc.record({ pos: fc.nat(4), deep: fc.boolean(), member: fc.nat(7), kind: fc.constantFrom(...BAD_KINDS) });

describe('fuzz: every public function either works or throws TrainkitError, changes nothing when it throws, leaks nothing', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 40 });
    });
  }
});
