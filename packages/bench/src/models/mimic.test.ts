import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { paramsOf } from '@trainkit/core';
import { mimicNormParams } from '@trainkit/mimicnorm';
import { resnet, vgg } from './index';

const classes = (m: tf.LayersModel): string[] => m.layers.map((l) => l.getClassName());
const worstMean = (m: tf.LayersModel): number =>
  Math.max(...mimicNormParams(m).map((p) => tf.tidy(() => tf.max(tf.abs(tf.mean(p.variable, [0, 1, 2]))).dataSync()[0] as number)));

describe("norm: 'mimic' (MimicNorm variant)", () => {
  it('resnet: no BN, conv biases, one residual scalar per block at 1.44 / l, last BN after the logits, centred convs', () => {
    const m = resnet({ depth: 20, width: 8, norm: 'mimic', seed: 2 });
    expect(classes(m)).not.toContain('BatchNormalization');
    expect(m.layers.at(-1)?.name).toBe('last_bn');
    expect(m.layers.at(-1)?.getClassName()).toBe('MimicNormLastBatchNorm');
    expect(m.layers.at(-2)?.name).toBe('logits');
    const scales = paramsOf(m).filter((p) => p.layerClass === 'MimicNormResidualScale');
    expect(scales.map((p) => p.layerName)).toEqual(['s1b1_scale', 's1b2_scale', 's1b3_scale', 's2b1_scale', 's2b2_scale', 's2b3_scale', 's3b1_scale', 's3b2_scale', 's3b3_scale']);
    scales.forEach((p, i) => expect(Math.abs((p.variable.dataSync()[0] as number) - 1.44 / (i + 1))).toBeLessThan(1e-6));
    const convs = paramsOf(m, { kinds: ['conv2d'] });
    expect(convs.filter((p) => p.role === 'bias')).toHaveLength(convs.filter((p) => p.role === 'kernel').length);
    expect(mimicNormParams(m).length).toBeGreaterThan(10);
    expect(worstMean(m)).toBeLessThan(1e-6);
    const out = tf.tidy(() => (m.apply(tf.ones([2, 28, 28, 1]), { training: true }) as tf.Tensor).shape);
    expect(out).toEqual([2, 10]);
    m.dispose();
  });

  it('vgg: no BN, last BN, convs drawn with variance 2.8 / fan-in, then centred', () => {
    const m = vgg({ norm: 'mimic', seed: 3, widthMultiplier: 0.25 });
    expect(classes(m)).not.toContain('BatchNormalization');
    expect(m.layers.at(-1)?.getClassName()).toBe('MimicNormLastBatchNorm');
    expect(worstMean(m)).toBeLessThan(1e-6);
    // conv6..8: 3·3·128 = 1152 inputs, 128 filters: var·fan_in ≈ 2.8·(1 − 1/n) after centring, within 5%
    const k = paramsOf(m).find((p) => p.layerName === 'conv8' && p.role === 'kernel')!.variable;
    const v = tf.tidy(() => tf.moments(k).variance.dataSync()[0] as number);
    expect(Math.abs(v * 1152 - 2.8) / 2.8).toBeLessThan(0.05);
    m.dispose();
  });
});
