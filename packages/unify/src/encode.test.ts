import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { expectNoLeak, seededArray, seededVariable } from '@trainkit/test-utils';
import { compressionStats, decodeUnified, encodeUnified } from './encode';
import { unifyProjection, type LayerPlan } from './projection';
import { unifiableParams } from './admm';

function projectInPlace(w: tf.Variable, args: Parameters<typeof unifyProjection>[1]): LayerPlan {
  const { weights, plan } = unifyProjection(w, args);
  w.assign(weights);
  weights.dispose();
  return plan;
}

function smallModel(prefix: string): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 8, kernelSize: 3, name: `${prefix}_c1` }),
      tf.layers.batchNormalization({ name: `${prefix}_bn` }),
      tf.layers.conv2d({ filters: 12, kernelSize: 3, name: `${prefix}_c2` }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, name: `${prefix}_d1` }),
      tf.layers.dense({ units: 3, name: `${prefix}_out` }),
    ],
  });
  return model;
}

describe('encodeUnified / decodeUnified', () => {
  it('round-trips every weight bit for bit and writes exactly the bytes compressionStats counts', () => {
    const model = smallModel('enc');
    const layers = unifiableParams(model).map((p) => projectInPlace(p.variable, { pruneRatio: 0.4, unifyRatio: 0.5 }));
    const plan = { layers };
    const bytes = encodeUnified(model, plan);
    const stats = compressionStats(model, plan);
    expect(bytes.byteLength).toBe(stats.encodedBytes);
    expect(stats.ratio).toBeCloseTo(stats.denseBytes / bytes.byteLength, 12);
    expect(stats.totalWeights).toBe(model.weights.reduce((a, w) => a + (w.shape as number[]).reduce((x, y) => x * y, 1), 0));
    expect(stats.ratio).toBeGreaterThan(1);
    const { weights, plan: decodedPlan } = decodeUnified(bytes);
    const originals = model.weights.map((w) => w.read() as tf.Variable);
    expect(weights.map((w) => w.name)).toEqual(originals.map((w) => w.name));
    weights.forEach((w, i) => {
      expect(w.tensor.shape).toEqual(originals[i]!.shape);
      const a = w.tensor.dataSync();
      const b = originals[i]!.dataSync();
      for (let j = 0; j < a.length; j++) expect(Object.is(a[j], b[j]) || a[j] === b[j]).toBe(true);
    });
    decodedPlan.layers.forEach((l, i) => {
      expect(Array.from(l.states)).toEqual(Array.from(layers[i]!.states));
      expect(Array.from(l.magnitudes)).toEqual(Array.from(layers[i]!.magnitudes));
      expect(Array.from(l.signs)).toEqual(Array.from(layers[i]!.signs));
    });
    // decoded weights load back into the model
    model.setWeights(weights.map((w) => w.tensor));
    tf.dispose(weights.map((w) => w.tensor));
    model.dispose();
  });

  it('counts storage by hand on a tiny layer', () => {
    // dense [in=8, out=2] → 4 blocks of (1,4,1); prune 1, unify 2, keep 1; plus a bias of 2 (unplanned)
    const k = seededVariable(31, [8, 2], 'enc_tiny_k');
    const b = seededVariable(32, [2], 'enc_tiny_b');
    const plan = projectInPlace(k, { pruneRatio: 0.25, unifyRatio: 0.5 });
    const s = compressionStats([k, b], plan);
    const l = s.layers[0]!;
    // stored values: 4 dense (kept block) + 2 magnitudes; sign bits 2·4 = 8; map 2 bits × 4 blocks = 8
    expect([l.storedValues, l.signBits, l.mapBits]).toEqual([6, 8, 8]);
    // section bytes: ceil(16 bits / 8) = 2 + 4·6 = 26; bias 8 bytes
    expect(l.bytes).toBe(26);
    expect(s.layers[1]!.bytes).toBe(8);
    expect(s.storedValues).toBe(8);
    expect(s.valuesRatio).toBeCloseTo(18 / 8, 12);
    expect(s.bitsRatio).toBeCloseTo((32 * 18) / (32 * 8 + 8 + 8), 12);
    // multiplies per output position: kept 4 + unified 2 × 1 + pruned 0 = 6 of 16
    expect(s.multiplies).toEqual({ dense: 16, remaining: 6, saved: 10, ratio: 16 / 6 });
    expect([s.denseBits, s.storedBits]).toEqual([32 * 18, 8 * s.encodedBytes]);
    const bytes = encodeUnified([k, b], plan);
    expect(bytes.byteLength).toBe(s.encodedBytes);
    const dec = decodeUnified(bytes);
    expect(Array.from(dec.weights[0]!.tensor.dataSync())).toEqual(Array.from(k.dataSync()));
    tf.dispose([k, b, ...dec.weights.map((w) => w.tensor)]);
  });

  it('uses 1 map bit per block when a layer has only two states, 0 with one', () => {
    const k = seededVariable(33, [8, 4], 'enc_two_k');
    const prunedOnly = projectInPlace(k, { pruneRatio: 0.5, unifyRatio: 0 });
    expect(compressionStats([k], prunedOnly).mapBits).toBe(8);
    const allUnified = projectInPlace(k, { pruneRatio: 0, unifyRatio: 1 });
    expect(compressionStats([k], allUnified).mapBits).toBe(0);
    const bytes = encodeUnified([k], allUnified);
    const dec = decodeUnified(bytes);
    expect(Array.from(dec.weights[0]!.tensor.dataSync())).toEqual(Array.from(k.dataSync()));
    tf.dispose([k, ...dec.weights.map((w) => w.tensor)]);
  });

  it('refuses weights that break the plan, plans that name unknown variables, and corrupt bytes', () => {
    const k = seededVariable(34, [8, 4], 'enc_bad_k');
    const plan = projectInPlace(k, { pruneRatio: 0.25, unifyRatio: 0.5 });
    const good = encodeUnified([k], plan);
    tf.tidy(() => k.assign(tf.tensor(seededArray(35, 32), [8, 4])));
    expect(() => encodeUnified([k], plan)).toThrowError(/planned (pruned|unified)/);
    expect(() => compressionStats([k], { ...plan, name: 'nope' })).toThrowError(/not among params/);
    expect(() => decodeUnified(good.subarray(0, good.length - 3))).toThrowError(/truncated/);
    const wrongMagic = Uint8Array.from(good);
    wrongMagic[0] = 0;
    expect(() => decodeUnified(wrongMagic)).toThrowError(/magic/);
    const extra = new Uint8Array(good.length + 2);
    extra.set(good);
    expect(() => decodeUnified(extra)).toThrowError(/trailing/);
    k.dispose();
  });

  it('leaks nothing', async () => {
    const k = seededVariable(36, [8, 4], 'enc_leak_k');
    const plan = projectInPlace(k, { pruneRatio: 0.25, unifyRatio: 0.5 });
    await expectNoLeak(() => {
      const bytes = encodeUnified([k], plan);
      compressionStats([k], plan);
      const dec = decodeUnified(bytes);
      tf.dispose(dec.weights.map((w) => w.tensor));
    });
    k.dispose();
  });
});
