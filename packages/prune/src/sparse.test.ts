import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { expectNoLeak, tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { applyMasks, disposeMasks, magnitudeMasks } from './mask';
import { disposeSnapshot } from './snapshot';
import { exportSparse, importSparse } from './sparse';

function cnn(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, kernelInitializer: tf.initializers.heNormal({ seed }) }),
      tf.layers.batchNormalization(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}
const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
const denseBytes = (m: tf.LayersModel): number => m.weights.reduce((s, w) => s + 4 * (w.shape as number[]).reduce((a, b) => a * b, 1), 0);

describe('exportSparse / importSparse', () => {
  it('round-trips every weight bit for bit into a fresh model, returns the masks, and is smaller than dense at 50%', async () => {
    await expectNoLeak(() => {
      const a = cnn(1);
      const masks = magnitudeMasks(a, { sparsity: 0.5 });
      applyMasks(a, masks);
      const bytes = exportSparse(a, masks);
      // Dense float32 is 4 bytes/weight; masked kernels cost 1/8 + 4·0.5 bytes/weight.
      expect(bytes.byteLength).toBeLessThan(denseBytes(a));
      const b = cnn(99);
      const imported = importSparse(bytes, b);
      a.weights.forEach((w, i) => expect(bits(b.weights[i]?.read() as tf.Tensor)).toEqual(bits(w.read())));
      const [kA, kB] = [a.weights[0]?.name as string, b.weights[0]?.name as string];
      expect(Array.from((imported.masks.get(kB) as tf.Tensor).dataSync())).toEqual(Array.from((masks.get(kA) as tf.Tensor).dataSync()));
      disposeSnapshot(imported.weights);
      disposeMasks(imported.masks);
      disposeMasks(masks);
      a.dispose();
      b.dispose();
    });
  });

  it('size: sparse shrinks with sparsity; without masks it is dense + a small header', () => {
    const m = cnn(2);
    const dense = exportSparse(m, new Map()).byteLength;
    expect(dense - denseBytes(m)).toBeLessThan(1024);
    let prev = dense;
    for (const s of [0.5, 0.8, 0.9, 0.95]) {
      const masks = magnitudeMasks(m, { sparsity: s });
      applyMasks(m, masks);
      const size = exportSparse(m, masks).byteLength;
      expect(size).toBeLessThan(prev);
      prev = size;
      disposeMasks(masks);
    }
    m.dispose();
  });

  it('refuses unmasked weights at pruned positions and corrupt files', () => {
    const m = cnn(3);
    const masks = magnitudeMasks(m, { sparsity: 0.5 });
    expect(() => exportSparse(m, masks)).toThrow(/applyMasks/);
    applyMasks(m, masks);
    const bytes = exportSparse(m, masks);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as TrainkitError).code;
      }
      return undefined;
    };
    expect(code(() => importSparse(bytes.subarray(0, bytes.length - 3)))).toBe('BAD_FILE');
    const wrongMagic = Uint8Array.from(bytes);
    wrongMagic[0] = 0;
    expect(code(() => importSparse(wrongMagic))).toBe('BAD_FILE');
    const other = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    expect(code(() => importSparse(bytes, other))).toBe('STATE_MISMATCH');
    disposeMasks(masks);
    other.dispose();
    m.dispose();
  });

  it('property: any shapes and sparsities round-trip exactly (values and masks)', () => {
    const shape = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(shape, { minLength: 1, maxLength: 3 }), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.integer({ min: 1, max: 999 }), (shapes, s, seed) => {
        const before = tf.memory().numTensors;
        const vs = shapes.map((sh, i) => tf.tidy(() => tf.variable(tf.randomNormal(sh, 0, 1, 'float32', seed + i))));
        const masks = magnitudeMasks(vs, { sparsity: s, keepAtLeastOne: false });
        applyMasks(vs, masks);
        const { weights, masks: back } = importSparse(exportSparse(vs, masks));
        for (const v of vs) {
          expect(bits(weights.get(v.name) as tf.Tensor)).toEqual(bits(v));
          expect(Array.from((back.get(v.name) as tf.Tensor).dataSync())).toEqual(Array.from((masks.get(v.name) as tf.Tensor).dataSync()));
        }
        disposeSnapshot(weights);
        disposeMasks(back);
        disposeMasks(masks);
        vs.forEach((v) => v.dispose());
        expect(tf.memory().numTensors).toBe(before);
      }),
      { seed: 77, numRuns: 30 },
    );
  });
});
