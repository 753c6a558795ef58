import { describe, expect, it } from 'vitest';
import { expectTensorClose, seededData, tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { afanLoss } from '../afan-loss';
import { splitModel } from './split';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/** A tiny functional ResNet-style model: stem conv, one residual block, pooling, dense head. */
function tinyResnet(): tf.LayersModel {
  const inp = tf.input({ shape: [6, 6, 1], name: 'image' });
  const stem = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(1), name: 'stem_conv' }).apply(inp) as tf.SymbolicTensor;
  const stemBn = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(stem) as tf.SymbolicTensor;
  const stemOut = tf.layers.reLU({ name: 'stem_relu' }).apply(stemBn) as tf.SymbolicTensor;
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(2), name: 'block_conv1' }).apply(stemOut) as tf.SymbolicTensor;
  const r1 = tf.layers.reLU({ name: 'block_relu1' }).apply(c1) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(3), name: 'block_conv2' }).apply(r1) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'block_add' }).apply([c2, stemOut]) as tf.SymbolicTensor;
  const out = tf.layers.reLU({ name: 'block_out' }).apply(sum) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(out) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 3, kernelInitializer: init(4), name: 'logits' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: logits, name: 'tiny_resnet' });
}

function images(seed: number, n: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const { x, y } = seededData(seed, n, 36, 3);
  const x4 = tf.reshape(x, [n, 6, 6, 1]) as tf.Tensor4D;
  x.dispose();
  return { x: x4, y };
}

describe('splitModel', () => {
  it('splits a functional model at a block output: back(front(x)) = model(x), and the weights are shared', () => {
    const model = tinyResnet();
    const { front, back } = splitModel(model, 'stem_relu');
    const { x, y } = images(1, 4);
    const whole = model.predict(x) as tf.Tensor;
    const split = tf.tidy(() => back.predict(front.predict(x) as tf.Tensor) as tf.Tensor);
    expectTensorClose(split, whole, { atol: 1e-6, rtol: 1e-5 });
    expect(front.outputs[0]?.shape).toEqual([null, 6, 6, 4]);
    const ids = new Set(model.weights.map((w) => w.read().id));
    for (const w of [...front.weights, ...back.weights]) expect(ids.has(w.read().id)).toBe(true);
    expect(front.weights.length + back.weights.length).toBe(model.weights.length);
    tf.dispose([x, y, whole, split]);
    model.dispose();
    front.dispose();
    back.dispose();
  });

  it('splits a sequential model, and a model can be split twice', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 5, inputShape: [4], kernelInitializer: init(5), name: 'd1' }),
        tf.layers.dense({ units: 4, activation: 'relu', kernelInitializer: init(6), name: 'd2' }),
        tf.layers.dense({ units: 2, kernelInitializer: init(7), name: 'd3' }),
      ],
    });
    const a = splitModel(model, 'd1');
    const b = splitModel(model, 'd2');
    const x = tf.tensor2d([[1, 2, 3, 4], [-1, 0, 0.5, 2]]);
    const whole = model.predict(x) as tf.Tensor;
    for (const { front, back } of [a, b]) {
      const out = tf.tidy(() => back.predict(front.predict(x) as tf.Tensor) as tf.Tensor);
      expectTensorClose(out, whole, { atol: 1e-6, rtol: 1e-5 });
      out.dispose();
    }
    tf.dispose([x, whole]);
    for (const m of [model, a.front, a.back, b.front, b.back]) m.dispose();
  });

  it('front and back hold their own layer references: disposing them leaves the model usable', () => {
    const model = tinyResnet();
    const { front, back } = splitModel(model, 'block_out');
    const x = tf.ones([2, 6, 6, 1]);
    const before = model.predict(x) as tf.Tensor;
    front.dispose();
    back.dispose();
    const after = model.predict(x) as tf.Tensor;
    expectTensorClose(after, before, { atol: 0, rtol: 0 });
    tf.dispose([x, before, after]);
    model.dispose(); // the afterEach leak check proves this freed every weight
  });

  it('refuses a split inside a residual block and names the layers that cross it', () => {
    const model = tinyResnet();
    let err: unknown;
    try {
      splitModel(model, 'block_relu1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainkitError);
    expect((err as TrainkitError).code).toBe('UNSUPPORTED_MODEL');
    expect((err as TrainkitError).message).toMatch(/does not cross layer "block_relu1" at one tensor: "block_add" reads "stem_relu"/);
    model.dispose();
  });

  it('throws TrainkitError on an unknown layer, the output layer, or a non-model', () => {
    const model = tinyResnet();
    expect(() => splitModel(model, 'nope')).toThrow(/layerName must be the name of a layer the outputs depend on \(image, stem_conv/);
    expect(() => splitModel(model, 'logits')).toThrow(/back would be empty/);
    expect(() => splitModel(model, '')).toThrow(TrainkitError);
    expect(() => splitModel({} as never, 'stem_relu')).toThrow(/model must be a tf.LayersModel/);
    model.dispose();
  });

  it('a model trained with A-FAN keeps its inference graph: same topology, same weights list, outputs = back(front(x))', async () => {
    const model = tinyResnet();
    const topology = JSON.stringify(model.toJSON(null, false));
    const paramCount = model.countParams();
    const { front, back } = splitModel(model, 'stem_relu');
    const { x, y } = images(2, 8);
    const before = model.predict(x) as tf.Tensor;
    const opt = tf.train.sgd(0.1);
    for (let i = 0; i < 3; i++) {
      tf.dispose(opt.minimize(() => afanLoss({ front, back, x, y, steps: 2, stepSize: 0.05, useNormalization: true }), true) as tf.Scalar);
    }
    // the original graph is untouched; training changed the weights it reads
    expect(JSON.stringify(model.toJSON(null, false))).toBe(topology);
    expect(model.countParams()).toBe(paramCount);
    const after = model.predict(x) as tf.Tensor;
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(after, before))).dataSync()[0] as number);
    expect(moved).toBeGreaterThan(1e-4);
    const composed = tf.tidy(() => back.predict(front.predict(x) as tf.Tensor) as tf.Tensor);
    expectTensorClose(after, composed, { atol: 1e-6, rtol: 1e-5 });

    // and it saves and loads as a plain model (nothing to register)
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
    const reloaded = loaded.predict(x) as tf.Tensor;
    expectTensorClose(reloaded, after, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([x, y, before, after, composed, reloaded]);
    opt.dispose();
    for (const m of [loaded, model, front, back]) m.dispose();
  });
});
