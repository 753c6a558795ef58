import { describe, expect, it } from 'vitest';
import { expectNoLeak, expectTensorClose, seededVariable, tf } from '@trainkit/test-utils';
import { TrainkitError, paramsOf } from '@trainkit/core';
import { centerWeights } from './center';
import { worstFilterMeanRatio } from './internal/testing';

function convNet(): tf.LayersModel {
  // stem 3x3x3 (fan-in 27, skipped), 3x3x8 (72, centred), 1x1x16 (16, skipped), depthwise (9, skipped), dense (skipped)
  const init = (seed: number) => tf.initializers.randomUniform({ minval: -1, maxval: 1, seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 8, kernelSize: 3, padding: 'same', name: 'stem', kernelInitializer: init(1) }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', name: 'mid', kernelInitializer: init(2), biasInitializer: init(3) }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'pw', kernelInitializer: init(4) }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, name: 'dw', depthwiseInitializer: init(5) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, name: 'fc', kernelInitializer: init(6) }),
    ],
  });
}

describe('centerWeights', () => {
  it('gives every conv filter mean 0 (relative to its scale) over (kh, kw, in)', () => {
    const w = seededVariable(1, [3, 3, 8, 5], 'c/kernel', 0.2, 1.4); // mean ≈ 0.8 before
    expect(worstFilterMeanRatio(w)).toBeGreaterThan(0.3);
    centerWeights([w]);
    expect(worstFilterMeanRatio(w)).toBeLessThan(1e-6);
    w.dispose();
  });

  it('subtracts exactly the per-filter mean (float64 reference) and keeps deviations', () => {
    const w = seededVariable(2, [2, 2, 3, 4], 'k', -1, 3);
    const before = w.dataSync().slice();
    centerWeights([w]);
    const after = w.dataSync();
    // reference: mean over the first three axes for each output o (last axis, stride 1)
    for (let o = 0; o < 4; o++) {
      let s = 0;
      for (let i = o; i < before.length; i += 4) s += before[i] as number;
      const m = s / 12;
      for (let i = o; i < before.length; i += 4) expect(Math.abs((after[i] as number) - ((before[i] as number) - m))).toBeLessThan(1e-6);
    }
    w.dispose();
  });

  it('centres dense kernels per output unit and depthwise ParamRefs per (channel, multiplier)', () => {
    const d = seededVariable(3, [7, 3], 'd', 0, 2);
    centerWeights([d]);
    expect(worstFilterMeanRatio(d)).toBeLessThan(1e-6);
    const dw = seededVariable(4, [3, 3, 4, 2], 'dw', 0, 2);
    const ref = { variable: dw, name: dw.name, layerName: 'dw', layerClass: 'DepthwiseConv2D', kind: 'depthwiseConv2d' as const, role: 'kernel' as const, trainable: true };
    centerWeights([ref]);
    expect(worstFilterMeanRatio(dw, [0, 1])).toBeLessThan(1e-6);
    // the same kernel as a bare variable is centred over (kh, kw, in) only: its per-(channel, multiplier) means are not 0
    const plain = seededVariable(4, [3, 3, 4, 2], 'dw2', 0, 2);
    centerWeights([plain]);
    expect(worstFilterMeanRatio(plain)).toBeLessThan(1e-6);
    expect(worstFilterMeanRatio(plain, [0, 1])).toBeGreaterThan(1e-3);
    tf.dispose([d, dw, plain]);
  });

  it('is idempotent and leaves a centred kernel as it is', () => {
    const w = seededVariable(5, [3, 3, 6, 4], 'k', -0.5, 1.5);
    centerWeights([w]);
    const once = w.dataSync().slice();
    centerWeights([w]);
    expectTensorClose(w, once, { atol: 1e-7, rtol: 0 });
    w.dispose();
  });

  it('annihilates a constant input: a centred valid conv outputs its bias', () => {
    const w = seededVariable(6, [3, 3, 4, 5], 'k', 0, 1);
    centerWeights([w]);
    const bias = [0.1, -0.2, 0.3, 0, 2];
    const out = tf.tidy(() => tf.add(tf.conv2d(tf.fill([1, 5, 5, 4], 2.5) as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'), tf.tensor1d(bias)));
    const expected = tf.tidy(() => tf.tile(tf.reshape(tf.tensor1d(bias), [1, 1, 1, 5]), [1, 3, 3, 1]));
    expectTensorClose(out, expected, { atol: 1e-5 });
    // 'same' padding: the border sees zeros, so it is not annihilated
    const same = tf.tidy(() => tf.conv2d(tf.fill([1, 5, 5, 4], 2.5) as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
    expect(Math.abs(same.dataSync()[0] as number)).toBeGreaterThan(1e-3);
    tf.dispose([w, out, expected, same]);
  });

  it('on a model, centres only the eligible kernels and leaves the others bit for bit', () => {
    const model = convNet();
    const refs = paramsOf(model);
    const before = new Map(refs.map((r) => [r.name, r.variable.dataSync().slice()]));
    centerWeights(model);
    for (const r of refs) {
      if (r.layerName === 'mid' && r.role === 'kernel') {
        expect(worstFilterMeanRatio(r.variable)).toBeLessThan(1e-6);
      } else {
        expect(Array.from(r.variable.dataSync()), r.name).toEqual(Array.from(before.get(r.name) as Float32Array));
      }
    }
    expect(worstFilterMeanRatio(refs.find((r) => r.layerName === 'stem' && r.role === 'kernel')!.variable)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('leaves no tensor behind', async () => {
    const w = seededVariable(7, [3, 3, 2, 2], 'k');
    await expectNoLeak(() => centerWeights([w]));
    w.dispose();
  });

  it('rejects bad params with TrainkitError', () => {
    const bias = seededVariable(8, [4], 'b');
    const k = seededVariable(9, [2, 2, 2, 2], 'k2');
    const z = tf.zeros([2, 2]);
    const bad: unknown[] = [[], [bias], [k, k], [z], null, 'model', {}];
    for (const p of bad) expect(() => centerWeights(p as never), String(p)).toThrow(TrainkitError);
    const tiny = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3 })] });
    expect(() => centerWeights(tiny)).toThrow(/minFanIn/);
    const ints = tf.tidy(() => tf.variable(tf.zeros([2, 2], 'int32'), true, 'ints'));
    expect(() => centerWeights([ints])).toThrow(TrainkitError);
    tf.dispose([bias, k, ints, z]);
    tiny.dispose();
  });
});
