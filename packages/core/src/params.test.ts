import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { paramsOf } from './params';
import { toVariables } from './variables';
import { TrainkitError } from './errors';

function model(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, name: 'c1' }),
      tf.layers.batchNormalization({ name: 'bn1' }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, name: 'dw', useBias: false }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 3, name: 'head' }),
    ],
  });
}

describe('paramsOf', () => {
  it('lists every variable with its layer kind and role, in layer order', () => {
    const m = model();
    const refs = paramsOf(m);
    expect(refs.map((p) => [p.layerName, p.kind, p.role, p.trainable])).toEqual([
      ['c1', 'conv2d', 'kernel', true],
      ['c1', 'conv2d', 'bias', true],
      ['bn1', 'batchNorm', 'gamma', true],
      ['bn1', 'batchNorm', 'beta', true],
      ['bn1', 'batchNorm', 'movingMean', false],
      ['bn1', 'batchNorm', 'movingVariance', false],
      ['dw', 'depthwiseConv2d', 'kernel', true],
      ['head', 'dense', 'kernel', true],
      ['head', 'dense', 'bias', true],
    ]);
    expect(refs[0]!.variable).toBe(m.getLayer('c1').weights[0]!.read());
    expect(refs[0]!.name).toBe(refs[0]!.variable.name);
    m.dispose();
  });

  it('gradients from minimize are keyed by ParamRef.name', () => {
    const m = model();
    const x = tf.ones([2, 6, 6, 1]);
    const { grads, value } = tf.variableGrads(() => tf.sum(m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    const trainable = paramsOf(m, { trainable: true }).map((p) => p.name).sort();
    expect(Object.keys(grads).sort()).toEqual(trainable);
    tf.dispose([x, value, ...Object.values(grads)]);
    m.dispose();
  });

  it('filters by fields and by predicate; walks nested models once', () => {
    const inner = model();
    const outer = tf.sequential({ layers: [inner, tf.layers.dense({ units: 2, name: 'outer_head' })] });
    expect(paramsOf(outer, { kinds: ['conv2d', 'dense'], roles: ['kernel'] }).map((p) => p.layerName)).toEqual(['c1', 'head', 'outer_head']);
    expect(paramsOf(outer, (p) => p.layerName === 'bn1').length).toBe(4);
    outer.dispose();
  });

  it('toVariables accepts variables, ParamRefs or a model and rejects empties and duplicates', () => {
    const m = model();
    const refs = paramsOf(m, { roles: ['kernel'] });
    expect(toVariables('params', refs).map((v) => v.name)).toEqual(refs.map((r) => r.name));
    expect(toVariables('params', m).length).toBe(7);
    expect(() => toVariables('params', [])).toThrow(/params must be a non-empty list/);
    expect(() => toVariables('params', [refs[0]!.variable, refs[0]!.variable])).toThrow(TrainkitError);
    expect(() => toVariables('params', [3 as never])).toThrow(/params\[0\] must be a tf.Variable or a ParamRef; received 3/);
    expect(() => paramsOf({} as never)).toThrow(/model must be a tf.LayersModel/);
    m.dispose();
  });
});
