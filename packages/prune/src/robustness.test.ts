import { describe, expect, it } from 'vitest';
import { tf, errorCodeOf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import {
  applyMasks,
  disposeMasks,
  disposeSnapshot,
  exportSparse,
  importSparse,
  magnitudeMasks,
  maskHook,
  pruneAndFinetune,
  restore,
  snapshot,
  weightCorrelation,
  type Masks,
} from './index';

function vars() {
  const a = tf.tidy(() => tf.variable(tf.tensor1d([1, -2, 3, -4])));
  const b = tf.tidy(() => tf.variable(tf.tensor1d([5, 6])));
  return { a, b, list: [a, b], free: () => tf.dispose([a, b]) };
}

const values = (vs: tf.Variable[]) => vs.map((v) => Array.from(v.dataSync()));

describe('masks must hold 0 and 1 only', () => {
  it('applyMasks, maskHook and magnitudeMasks({previous}) reject a 0.5 or a 2', () => {
    const v = vars();
    for (const bad of [0.5, 2, -1]) {
      const m: Masks = new Map([[v.a.name, tf.tensor1d([1, bad, 1, 0])]]);
      expect(errorCodeOf(() => applyMasks(v.list, m))).toBe('INVALID_ARGUMENT');
      expect(errorCodeOf(() => maskHook(m))).toBe('INVALID_ARGUMENT');
      expect(errorCodeOf(() => magnitudeMasks(v.list, { sparsity: 0.5, previous: m }))).toBe('INVALID_ARGUMENT');
      disposeMasks(m);
    }
    expect(values(v.list)).toEqual([[1, -2, 3, -4], [5, 6]]);
    v.free();
  });
});

describe('disposed inputs give DISPOSED naming the argument, after no write', () => {
  it('applyMasks with a disposed second mask leaves the first variable alone', () => {
    const v = vars();
    const m: Masks = new Map([[v.a.name, tf.tensor1d([0, 0, 0, 0])], [v.b.name, tf.tensor1d([1, 0])]]);
    m.get(v.b.name)!.dispose();
    const err = (() => { try { applyMasks(v.list, m); } catch (e) { return e as TrainkitError; } })();
    expect(err?.code).toBe('DISPOSED');
    expect(err?.message).toContain(`masks["${v.b.name}"]`);
    expect(values(v.list)).toEqual([[1, -2, 3, -4], [5, 6]]);
    disposeMasks(m);
    v.free();
  });

  it('maskHook with a disposed second mask leaks no copy of the first', () => {
    const v = vars();
    const m: Masks = new Map([[v.a.name, tf.tensor1d([1, 1, 0, 0])], [v.b.name, tf.tensor1d([1, 0])]]);
    m.get(v.b.name)!.dispose();
    const before = tf.memory().numTensors;
    expect(errorCodeOf(() => maskHook(m))).toBe('DISPOSED');
    expect(tf.memory().numTensors).toBe(before);
    disposeMasks(m);
    v.free();
  });

  it('restore with a disposed snapshot entry or a disposed variable changes nothing', () => {
    const v = vars();
    const snap = snapshot(v.list);
    tf.tidy(() => v.a.assign(tf.add(v.a, 10)));
    snap.get(v.b.name)!.dispose();
    expect(errorCodeOf(() => restore(v.list, snap))).toBe('DISPOSED');
    expect(values(v.list)).toEqual([[11, 8, 13, 6], [5, 6]]);
    disposeSnapshot(snap);
    const c = tf.tidy(() => tf.variable(tf.tensor1d([1])));
    const snap2 = snapshot([v.a, c]);
    c.dispose();
    expect(errorCodeOf(() => restore([v.a, c], snap2))).toBe('DISPOSED');
    disposeSnapshot(snap2);
    v.free();
  });

  it('magnitudeMasks, exportSparse, weightCorrelation and pruneAndFinetune name the disposed argument', async () => {
    const v = vars();
    const m: Masks = new Map([[v.a.name, tf.tensor1d([1, 1, 1, 1])]]);
    m.get(v.a.name)!.dispose();
    expect(errorCodeOf(() => exportSparse(v.list, m))).toBe('DISPOSED');
    expect(errorCodeOf(() => weightCorrelation(v.list, v.list, 0.5, m))).toBe('DISPOSED');
    await expect(pruneAndFinetune({ model: v.list, mask: m, epochs: 1, train: () => undefined })).rejects.toMatchObject({ code: 'DISPOSED' });
    const d = tf.tidy(() => tf.variable(tf.tensor1d([1, 2])));
    d.dispose();
    expect(errorCodeOf(() => magnitudeMasks([v.a, d], { sparsity: 0.5 }))).toBe('DISPOSED');
    v.free();
  });

  it('a disposed MaskHook refuses every use with DISPOSED', () => {
    const v = vars();
    const m: Masks = new Map([[v.a.name, tf.tensor1d([1, 1, 0, 0])]]);
    const hook = maskHook(m);
    hook.dispose();
    expect(errorCodeOf(() => hook.apply())).toBe('DISPOSED');
    expect(errorCodeOf(() => hook.getWeights())).toBe('DISPOSED');
    expect(errorCodeOf(() => hook.setWeights([{ name: v.a.name, tensor: m.get(v.a.name)! }]))).toBe('DISPOSED');
    disposeMasks(m);
    v.free();
  });
});

describe('state changes are all or nothing', () => {
  it('MaskHook.setWeights with a bad second entry leaves the first mask unchanged', () => {
    const v = vars();
    const m: Masks = new Map([[v.a.name, tf.tensor1d([1, 1, 0, 0])], [v.b.name, tf.tensor1d([1, 0])]]);
    const hook = maskHook(m);
    const zeros = tf.zeros([4]);
    const wrong = tf.zeros([3]);
    expect(errorCodeOf(() => hook.setWeights([{ name: v.a.name, tensor: zeros }, { name: v.b.name, tensor: wrong }]))).toBe('SHAPE_MISMATCH');
    expect(Array.from(hook.getWeights()[0]!.tensor.dataSync())).toEqual([1, 1, 0, 0]);
    tf.dispose([zeros, wrong]);
    hook.dispose();
    disposeMasks(m);
    v.free();
  });

  it('restore(params, snap, {masks}) with a bad mask writes no snapshot value', () => {
    const v = vars();
    const snap = snapshot(v.list);
    tf.tidy(() => v.a.assign(tf.add(v.a, 10)));
    const m: Masks = new Map([[v.a.name, tf.tensor1d([1, 3, 1, 1])]]);
    expect(errorCodeOf(() => restore(v.list, snap, { masks: m }))).toBe('INVALID_ARGUMENT');
    expect(values(v.list)).toEqual([[11, 8, 13, 6], [5, 6]]);
    disposeMasks(m);
    disposeSnapshot(snap);
    v.free();
  });

  it('pruneAndFinetune rewinds the model when train fails', async () => {
    const v = vars();
    const m: Masks = new Map([[v.a.name, tf.tensor1d([1, 0, 1, 0])]]);
    // Crashes in the fine-tuning phase, after the driver applied the mask to the model.
    const train = (_epochs: number, ctx: { phase: string }) => {
      if (ctx.phase === 'finetune') throw new Error('training crashed');
    };
    await expect(pruneAndFinetune({ model: v.list, mask: m, epochs: 1, pretrainEpochs: 1, train })).rejects.toThrow(/crashed/);
    expect(values(v.list)).toEqual([[1, -2, 3, -4], [5, 6]]);
    disposeMasks(m);
    v.free();
  });
});

describe('importSparse validates every header field before allocating', () => {
  /** A file with `entries` as its header and `data` bytes after it. */
  function file(entries: unknown, dataBytes = 16): Uint8Array {
    const header = new TextEncoder().encode(JSON.stringify({ entries }));
    const out = new Uint8Array(12 + header.length + dataBytes);
    out.set([0x54, 0x4b, 0x53, 0x50, 1], 0);
    new DataView(out.buffer).setUint32(8, header.length, true);
    out.set(header, 12);
    return out;
  }
  const entry = { name: 'x', shape: [4], dtype: 'float32', encoding: 'dense', count: 4 };
  const cases: Array<[string, unknown]> = [
    ['negative shape', [{ ...entry, shape: [-4] }]],
    ['non-numeric shape', [{ ...entry, shape: ['4'] }]],
    ['fractional shape', [{ ...entry, shape: [1.5] }]],
    ['float16', [{ ...entry, dtype: 'float16' }]],
    ['null entry', [null]],
    ['absurd size', [{ ...entry, shape: [1e6, 1e6], count: 1e12 }]],
    ['count above size', [{ ...entry, encoding: 'bitmask', count: 99 }]],
    ['missing name', [{ ...entry, name: undefined }]],
    ['entries not a list', { x: 1 }],
    ['more data than the file', [{ ...entry, shape: [1000], count: 1000 }]],
  ];
  for (const [what, entries] of cases) {
    it(`${what} → BAD_FILE, nothing allocated`, () => {
      const before = tf.memory().numTensors;
      expect(errorCodeOf(() => importSparse(file(entries)))).toBe('BAD_FILE');
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('a target of another dtype is refused before any variable is assigned, and nothing leaks', () => {
    const f = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3, 4])));
    const i = tf.tidy(() => tf.variable(tf.tensor1d([1, 2], 'int32')));
    const other = tf.tidy(() => tf.variable(tf.tensor1d([9, 9, 9, 9])));
    const other2 = tf.tidy(() => tf.variable(tf.tensor1d([7, 7])));
    const bytes = exportSparse([other, other2], new Map());
    const before = tf.memory().numTensors;
    expect(errorCodeOf(() => importSparse(bytes, [f, i]))).toBe('STATE_MISMATCH');
    expect(tf.memory().numTensors).toBe(before);
    expect(values([f, i])).toEqual([[1, 2, 3, 4], [1, 2]]);
    tf.dispose([f, i, other, other2]);
  });
});

it('weightCorrelation refuses NaN weights instead of returning 0', () => {
  const a = new Map([['w', tf.tensor1d([NaN, 1, 2, 3])]]);
  const b = new Map([['w', tf.tensor1d([1, 2, 3, 4])]]);
  expect(errorCodeOf(() => weightCorrelation(a, b, 0.5))).toBe('INVALID_ARGUMENT');
  expect(errorCodeOf(() => weightCorrelation(b, a, 0.5))).toBe('INVALID_ARGUMENT');
  disposeSnapshot(a);
  disposeSnapshot(b);
});
