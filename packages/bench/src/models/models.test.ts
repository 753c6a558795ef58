import { tf } from '@trainkit/test-utils';
import { describe, expect, it } from 'vitest';
import { countParams, mlp, mobileNetV2, resnet, smallCnn, vgg } from './index';

function bnLayers(m: tf.LayersModel): number {
  return m.layers.filter((l) => l.getClassName() === 'BatchNormalization').length;
}

async function withModel<T>(m: tf.LayersModel, fn: (m: tf.LayersModel) => T | Promise<T>): Promise<T> {
  try {
    return await fn(m);
  } finally {
    m.dispose();
  }
}

describe('reference models', () => {
  // The README's parameter table: trainable parameters, 10 classes.
  const cases: Array<[string, () => tf.LayersModel, number, [number, number, number]]> = [
    ['smallCnn batch', () => smallCnn(), 105_978, [28, 28, 1]],
    ['smallCnn none', () => smallCnn({ norm: 'none' }), 105_866, [28, 28, 1]],
    ['mlp batch', () => mlp(), 235_530, [28, 28, 1]],
    ['mlp none', () => mlp({ norm: 'none' }), 235_146, [28, 28, 1]],
    ['resnet8', () => resnet({ depth: 8, inputShape: [32, 32, 3] }), 78_042, [32, 32, 3]],
    ['resnet20', () => resnet({ depth: 20, inputShape: [32, 32, 3] }), 272_474, [32, 32, 3]],
    ['vgg11', () => vgg({ inputShape: [32, 32, 3] }), 145_554, [32, 32, 3]],
    ['mobileNetV2', () => mobileNetV2({ inputShape: [32, 32, 3] }), 162_602, [32, 32, 3]],
  ];
  for (const [name, build, params, shape] of cases) {
    it(`${name}: ${params} parameters, logits of shape [n, 10]`, async () => {
      await withModel(build(), (m) => {
        expect(countParams(m)).toBe(params);
        const y = tf.tidy(() => m.apply(tf.zeros([2, ...shape]), { training: false }) as tf.Tensor);
        expect(y.shape).toEqual([2, 10]);
        y.dispose();
      });
    });
  }

  it('resnet56 has 855,770 parameters and 6n+2 conv layers on its main path', async () => {
    await withModel(resnet({ depth: 56, inputShape: [32, 32, 3] }), (m) => {
      expect(countParams(m)).toBe(855_770);
      const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D' && !l.name.endsWith('_proj')).length;
      expect(convs + 1).toBe(56); // + the dense classifier
    });
  });

  it("norm 'batch' puts a BN after every conv/dense of the body and drops their bias; 'none' has no BN", async () => {
    await withModel(resnet({ depth: 8, width: 4, inputShape: [16, 16, 3] }), (m) => {
      const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D');
      expect(bnLayers(m)).toBe(convs.length);
      expect(convs.every((l) => (l.getConfig() as { useBias: boolean }).useBias === false)).toBe(true);
    });
    for (const build of [() => smallCnn({ norm: 'none' }), () => vgg({ norm: 'none' }), () => mobileNetV2({ norm: 'none', inputShape: [16, 16, 3] })]) {
      await withModel(build(), (m) => expect(bnLayers(m)).toBe(0));
    }
  });

  it('seeded initialisers: same seed, same weights; another seed, other weights', async () => {
    const weights = (seed: number): number[] => {
      const m = smallCnn({ seed, filters: [4, 4], hidden: 8 });
      const out = Array.from(m.getLayer('conv2').getWeights()[0]!.dataSync());
      m.dispose();
      return out;
    };
    expect(weights(3)).toEqual(weights(3));
    expect(weights(4)).not.toEqual(weights(3));
  });

  it('rejects bad arguments by name', () => {
    expect(() => resnet({ depth: 10 })).toThrow(/depth must be 6n \+ 2/);
    expect(() => smallCnn({ norm: 'group' as 'batch' })).toThrow(/norm must be 'batch' \| 'none'/);
    expect(() => smallCnn({ seed: 0 })).toThrow(/seed/);
    expect(() => mlp({ classes: 1 })).toThrow(/classes/);
  });
});
