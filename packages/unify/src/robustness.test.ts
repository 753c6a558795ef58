import { describe, expect, it } from 'vitest';
import { tf, errorCodeOf } from '@trainkit/test-utils';
import { withHooks } from '@trainkit/core';
import { admmUnifyHook, decodeUnified, encodeUnified, unifiedHook, type LayerPlan } from './index';

const ARGS = { blockSize: 2, pruneRatio: 0.25, unifyRatio: 0.5 };

function kernels() {
  const k1 = tf.tidy(() => tf.variable(tf.tensor2d([[0.5, -1], [2, 0.1], [-0.3, 0.8], [1.5, -0.6]])));
  const k2 = tf.tidy(() => tf.variable(tf.tensor2d([[0.2, 0.4], [-1.2, 0.9], [0.7, -0.1], [0.3, 2]])));
  return { k1, k2, list: [k1, k2], free: () => tf.dispose([k1, k2]) };
}

describe('ADMM hook arguments that used to pass silently', () => {
  it('rejects a name containing "/" and rescaleDual: "yes", allocating nothing', () => {
    const k = kernels();
    const before = tf.memory().numTensors;
    expect(errorCodeOf(() => admmUnifyHook({ params: k.list, ...ARGS, name: 'a/b' }))).toBe('INVALID_ARGUMENT');
    expect(errorCodeOf(() => admmUnifyHook({ params: k.list, ...ARGS, rescaleDual: 'yes' as unknown as boolean }))).toBe('INVALID_ARGUMENT');
    expect(tf.memory().numTensors).toBe(before);
    k.free();
  });

  it('a kernel the optimizer does not train is an error at the first step, not a penalty that never applies', () => {
    const k = kernels();
    const opt = withHooks(tf.train.sgd(0.1), admmUnifyHook({ params: k.list, ...ARGS }));
    const before = Array.from(k.k1.dataSync());
    expect(() => opt.minimize(() => tf.sum(tf.square(k.k1)) as tf.Scalar, false, [k.k1])).toThrow(/"[^"]+" received no gradient/);
    expect(Array.from(k.k1.dataSync())).toEqual(before);
    expect(opt.iterations).toBe(0);
    opt.dispose();
    k.free();
  });

  it('a disposed kernel or a disposed hook gives DISPOSED', () => {
    const k = kernels();
    const hook = admmUnifyHook({ params: k.list, ...ARGS });
    hook.dispose();
    expect(errorCodeOf(() => hook.transformGradients({}))).toBe('DISPOSED');
    expect(errorCodeOf(() => hook.getWeights())).toBe('DISPOSED');
    k.k2.dispose();
    expect(errorCodeOf(() => admmUnifyHook({ params: k.list, ...ARGS }))).toBe('DISPOSED');
    k.k1.dispose();
  });
});

describe('AdmmUnifyHook.setWeights is all or nothing', () => {
  it('a missing U of the second kernel leaves Z/U of the first and rho unchanged', () => {
    const k = kernels();
    const hook = admmUnifyHook({ params: k.list, ...ARGS });
    const live = hook.getWeights();
    const before = live.map((w) => Array.from(w.tensor.dataSync()));
    const state = live.map((w) => ({ name: w.name, tensor: tf.add(w.tensor, 1) }));
    const bad = state.filter((w) => w.name !== `${k.k2.name}/U`);
    expect(errorCodeOf(() => hook.setWeights(bad))).toBe('STATE_MISMATCH');
    expect(hook.getWeights().map((w) => Array.from(w.tensor.dataSync()))).toEqual(before);
    tf.dispose(state.map((s) => s.tensor));
    hook.dispose();
    k.free();
  });
});

describe('UnifiedHook construction', () => {
  it('one bad plan among good ones leaks nothing and writes nothing', () => {
    const k = kernels();
    const hook = admmUnifyHook({ params: k.list, ...ARGS });
    const plan = hook.hardProject();
    hook.dispose();
    tf.tidy(() => k.k1.assign(tf.add(k.k1, 0.5)));
    const before = Array.from(k.k1.dataSync());
    const broken = { ...plan.layers[1]!, states: new Uint8Array(plan.layers[1]!.states.length + 1) } as LayerPlan;
    const count = tf.memory().numTensors;
    expect(errorCodeOf(() => unifiedHook([plan.layers[0]!, broken], { params: k.list }))).toBe('INVALID_ARGUMENT');
    expect(tf.memory().numTensors).toBe(count);
    expect(Array.from(k.k1.dataSync())).toEqual(before);
    const h = unifiedHook(plan, { params: k.list });
    h.dispose();
    expect(errorCodeOf(() => h.enforce())).toBe('DISPOSED');
    expect(errorCodeOf(() => h.transformGradients({}))).toBe('DISPOSED');
    const live = unifiedHook(plan, { params: k.list });
    tf.tidy(() => k.k1.assign(tf.add(k.k1, 1)));
    const k1 = Array.from(k.k1.dataSync());
    k.k2.dispose();
    expect(errorCodeOf(() => live.enforce())).toBe('DISPOSED');
    expect(Array.from(k.k1.dataSync())).toEqual(k1);
    live.dispose();
    k.k1.dispose();
  });
});

describe('decodeUnified validates the header before allocating', () => {
  function file(header: unknown, dataBytes = 16): Uint8Array {
    const h = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + dataBytes);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, 0x31554b54, true);
    dv.setUint32(4, h.length, true);
    out.set(h, 8);
    return out;
  }
  const cases: Array<[string, unknown]> = [
    ['negative shape', { v: 1, t: [{ n: 'x', s: [-4] }] }],
    ['non-numeric shape', { v: 1, t: [{ n: 'x', s: ['4'] }] }],
    ['null entry', { v: 1, t: [null] }],
    ['absurd size', { v: 1, t: [{ n: 'x', s: [1e5, 1e5, 1e5] }] }],
    ['float16', { v: 1, t: [{ n: 'x', s: [4], d: 'float16' }] }],
    ['bad block shape', { v: 1, t: [{ n: 'x', s: [4, 2], b: [0, 2, 1], p: [0, 1] }] }],
    ['bad states', { v: 1, t: [{ n: 'x', s: [4, 2], b: [1, 2, 1], p: [7] }] }],
    ['wrong version', { v: 2, t: [] }],
    ['no tensor list', { v: 1 }],
  ];
  for (const [what, header] of cases) {
    it(`${what} → BAD_FILE, nothing allocated`, () => {
      const before = tf.memory().numTensors;
      expect(errorCodeOf(() => decodeUnified(file(header)))).toBe('BAD_FILE');
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('int32 variables', () => {
  it('encodeUnified → decodeUnified keeps an int32 variable int32, bit for bit', () => {
    const k = kernels();
    const counter = tf.tidy(() => tf.variable(tf.tensor1d([3, -7, 2 ** 30], 'int32'), false));
    const hook = admmUnifyHook({ params: k.list, ...ARGS });
    const plan = hook.hardProject();
    hook.dispose();
    const { weights } = decodeUnified(encodeUnified([...k.list, counter], plan));
    const c = weights[2]!.tensor;
    expect(c.dtype).toBe('int32');
    expect(Array.from(c.dataSync())).toEqual([3, -7, 2 ** 30]);
    tf.dispose(weights.map((w) => w.tensor));
    tf.dispose(counter);
    k.free();
  });

  it('a plan for an int32 kernel is refused', () => {
    const ints = tf.tidy(() => tf.variable(tf.ones([4, 2], 'int32')));
    expect(errorCodeOf(() => admmUnifyHook({ params: [ints], ...ARGS }))).toBe('INVALID_ARGUMENT');
    ints.dispose();
  });
});
