import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { mimicNormParams } from './select';

function net(channels: number): tf.LayersModel {
  const frozen = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'frozen' });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, channels], filters: 8, kernelSize: 3, padding: 'same', name: 'stem' }), // 9·c
      tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', name: 'c3x3' }), // 72
      tf.layers.conv2d({ filters: 64, kernelSize: 1, name: 'pw16' }), // 16
      tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'pw64' }), // 64
      frozen, // 72 but not trainable
      tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }), // 9
      tf.layers.depthwiseConv2d({ kernelSize: 8, padding: 'same', name: 'dw8' }), // 64
      tf.layers.flatten(),
      tf.layers.dense({ units: 60, name: 'fc1' }), // 288
      tf.layers.dense({ units: 3, name: 'fc2' }), // 60
    ],
  });
  frozen.trainable = false;
  return model;
}

const layersOf = (refs: { layerName: string }[]): string[] => refs.map((r) => r.layerName);

describe('mimicNormParams', () => {
  it('default (CIFAR rule, fan-in > 50): skips the grey/RGB stem, small 1x1, depthwise, dense and frozen kernels', () => {
    for (const c of [1, 3]) {
      const m = net(c);
      const refs = mimicNormParams(m);
      expect(layersOf(refs)).toEqual(['c3x3', 'pw64']);
      expect(refs.every((r) => r.role === 'kernel')).toBe(true);
      m.dispose();
    }
  });

  it('minFanIn: 0 (ImageNet rule) takes every ordinary conv, the stem included; the threshold is strict', () => {
    const m = net(3);
    expect(layersOf(mimicNormParams(m, { minFanIn: 0 }))).toEqual(['stem', 'c3x3', 'pw16', 'pw64']);
    expect(layersOf(mimicNormParams(m, { minFanIn: 27 }))).toEqual(['c3x3', 'pw64']); // 27 is not > 27
    expect(layersOf(mimicNormParams(m, { minFanIn: 26 }))).toEqual(['stem', 'c3x3', 'pw64']);
    m.dispose();
  });

  it('includeDense / includeDepthwise opt in, still under the fan-in threshold', () => {
    const m = net(3);
    expect(layersOf(mimicNormParams(m, { includeDense: true }))).toEqual(['c3x3', 'pw64', 'fc1', 'fc2']);
    expect(layersOf(mimicNormParams(m, { includeDense: true, minFanIn: 100 }))).toEqual(['fc1']);
    expect(layersOf(mimicNormParams(m, { includeDepthwise: true }))).toEqual(['c3x3', 'pw64', 'dw8']);
    expect(layersOf(mimicNormParams(m, { includeDepthwise: true, minFanIn: 0 }))).toEqual(['stem', 'c3x3', 'pw16', 'pw64', 'dw', 'dw8']);
    m.dispose();
  });

  it('rejects bad arguments with TrainkitError', () => {
    const m = net(3);
    const bad: unknown[] = [{ minFanIn: -1 }, { minFanIn: 2.5 }, { minFanIn: '50' }, { includeDense: 1 }, { includeDepthwise: 'yes' }, null];
    for (const o of bad) expect(() => mimicNormParams(m, o as never), JSON.stringify(o)).toThrow(TrainkitError);
    expect(() => mimicNormParams({} as never)).toThrow(TrainkitError);
    m.dispose();
  });
});
