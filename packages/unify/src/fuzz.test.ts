import * as fc from 'fast-check';
import { describe, it } from 'vitest';
import { BAD_KINDS, checkContract, tf, type FuzzCase } from '@trainkit/test-utils';
import {
  admmUnify,
  admmUnifyHook,
  assignBlocks,
  blockView,
  compressionStats,
  decodeUnified,
  encodeUnified,
  unifiedHook,
  unifyProjection,
  type AdmmUnifyHook,
  type UnifiedHook,
} from './index';

const ARGS = { blockSize: 2, pruneRatio: 0.25, unifyRatio: 0.5 };

function kernels() {
  const k1 = tf.tidy(() => tf.variable(tf.tensor2d([[0.5, -1], [2, 0.1], [-0.3, 0.8], [1.5, -0.6]])));
  const k2 = tf.tidy(() => tf.variable(tf.tensor2d([[0.2, 0.4], [-1.2, 0.9], [0.7, -0.1], [0.3, 2]])));
  return { k1, k2, list: [k1, k2], free: () => tf.dispose([k1, k2]) };
}

/** Kernels already projected, with their plan (as after hardProject). */
function planned() {
  const k = kernels();
  const hook = admmUnifyHook({ params: k.list, ...ARGS });
  const plan = hook.hardProject();
  hook.dispose();
  return { ...k, plan };
}

const dispose = (r: unknown) => (r as { dispose(): void }).dispose();

const CASES: FuzzCase[] = [
  {
    name: 'unifyProjection',
    setup() {
      const k = kernels();
      return { args: [k.k1, { ...ARGS }], watch: k.list, teardown: k.free };
    },
    call: (a) => unifyProjection(a[0] as never, a[1] as never),
    release: (r) => (r as { weights: tf.Tensor }).weights.dispose(),
  },
  { name: 'blockView', setup: () => ({ args: [[4, 2], { blockSize: 2, along: 'in' }], watch: [], teardown: () => undefined }), call: (a) => blockView(a[0] as never, a[1] as never) },
  { name: 'assignBlocks', setup: () => ({ args: [[1, 2, 3], [0.5, 0.1, 2], 1, 1], watch: [], teardown: () => undefined }), call: (a) => assignBlocks(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  {
    name: 'admmUnifyHook',
    setup() {
      const k = kernels();
      return { args: [{ params: k.list, ...ARGS, rho: 1e-3, rhoGrowth: 2, rhoMax: 1, updateEvery: 2, rescaleDual: false, name: 'admm' }], watch: k.list, teardown: k.free };
    },
    call: (a) => admmUnifyHook(a[0] as never),
    release: dispose,
  },
  {
    name: 'admmUnify',
    setup() {
      const k = kernels();
      return { args: ['fresh sgd', { params: k.list, ...ARGS }], watch: k.list, teardown: k.free };
    },
    call: (a) => {
      // The optimizer becomes the result's only on success: made here, freed here when the call fails.
      const fresh = a[0] === 'fresh sgd';
      const inner = fresh ? tf.train.sgd(0.1) : a[0];
      try {
        return admmUnify(inner as never, a[1] as never);
      } catch (err) {
        if (fresh) (inner as tf.Optimizer).dispose();
        throw err;
      }
    },
    release: dispose,
  },
  {
    name: 'AdmmUnifyHook.setWeights',
    setup() {
      const k = kernels();
      const hook = admmUnifyHook({ params: k.list, ...ARGS });
      const live = hook.getWeights();
      const state = live.map((w) => ({ name: w.name, tensor: tf.add(w.tensor, 0.25) }));
      return { args: [state], ctx: hook, watch: [...k.list, ...live.map((w) => w.tensor as tf.Variable)], teardown: () => { tf.dispose(state.map((s) => s.tensor)); hook.dispose(); k.free(); } };
    },
    call: (a, hook) => (hook as AdmmUnifyHook).setWeights(a[0] as never),
  },
  {
    name: 'AdmmUnifyHook.zuStep',
    setup() {
      const k = kernels();
      const hook = admmUnifyHook({ params: k.list, ...ARGS });
      return { args: [3], ctx: hook, watch: [...k.list, ...hook.getWeights().map((w) => w.tensor as tf.Variable)], teardown: () => { hook.dispose(); k.free(); } };
    },
    call: (a, hook) => (hook as AdmmUnifyHook).zuStep(a[0] as never),
  },
  {
    name: 'unifiedHook',
    setup() {
      const p = planned();
      tf.tidy(() => p.k1.assign(tf.add(p.k1, 0.5)));
      return { args: [p.plan, { trainSharedMagnitude: false, params: p.list, name: 'u' }], watch: p.list, teardown: p.free };
    },
    call: (a) => unifiedHook(a[0] as never, a[1] as never),
    release: dispose,
  },
  {
    name: 'UnifiedHook.transformGradients',
    setup() {
      const p = planned();
      const hook = unifiedHook(p.plan, { params: p.list });
      const grads = { [p.k1.name]: tf.onesLike(p.k1), [p.k2.name]: tf.onesLike(p.k2) };
      return { args: [grads], ctx: hook, watch: p.list, teardown: () => { tf.dispose(Object.values(grads)); hook.dispose(); p.free(); } };
    },
    call: (a, hook) => tf.tidy(() => void (hook as UnifiedHook).transformGradients(a[0] as never)),
  },
  {
    name: 'compressionStats',
    setup() {
      const p = planned();
      return { args: [p.list, p.plan], watch: p.list, teardown: p.free };
    },
    call: (a) => compressionStats(a[0] as never, a[1] as never),
  },
  {
    name: 'encodeUnified',
    setup() {
      const p = planned();
      return { args: [p.list, p.plan], watch: p.list, teardown: p.free };
    },
    call: (a) => encodeUnified(a[0] as never, a[1] as never),
  },
  {
    name: 'decodeUnified',
    setup() {
      const p = planned();
      const bytes = encodeUnified(p.list, p.plan);
      p.free();
      return { args: [bytes], watch: [], teardown: () => undefined };
    },
    call: (a) => decodeUnified(a[0] as never),
    release: (r) => tf.dispose((r as { weights: Array<{ tensor: tf.Tensor }> }).weights.map((w) => w.tensor)),
  },
];

const mutation = fc.record({ pos: fc.nat(3), deep: fc.boolean(), member: fc.nat(8), kind: fc.constantFrom(...BAD_KINDS) });

describe('fuzz: every public function either works or throws TrainkitError, changes nothing when it throws, leaks nothing', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 40 });
    });
  }

  it('decodeUnified on randomly corrupted or truncated bytes', async () => {
    const p = planned();
    const bytes = encodeUnified(p.list, p.plan);
    p.free();
    await fc.assert(
      fc.asyncProperty(fc.nat(bytes.length - 1), fc.nat(255), fc.integer({ min: 1, max: bytes.length }), async (at, value, keep) => {
        const copy = bytes.slice(0, keep);
        if (at < copy.length) copy[at] = value;
        const c: FuzzCase = {
          name: 'decodeUnified(corrupt)',
          setup: () => ({ args: [copy], watch: [], teardown: () => undefined }),
          call: (a) => decodeUnified(a[0] as never),
          release: (r) => tf.dispose((r as { weights: Array<{ tensor: tf.Tensor }> }).weights.map((w) => w.tensor)),
        };
        await checkContract(c, null);
      }),
      { seed: 16, numRuns: 50 },
    );
  });
});
