import { describe, expect, it } from 'vitest';
import { expectNoLeak, seededData, tf } from '@trainkit/test-utils';
import { HookedOptimizer, TrainkitError, paramsOf, withHooks } from '@trainkit/core';
import { MimicNormHook, mimicNorm, mimicNormHook, registerMimicNormHook } from './hook';
import { worstFilterMeanRatio } from './internal/testing';

function net(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.randomUniform({ minval: -0.3, maxval: 0.5, seed: seed * 10 + s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [4, 4, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'stem', kernelInitializer: init(1) }), // 27: excluded
      tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'body', kernelInitializer: init(2) }), // 72: centred
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, name: 'fc', kernelInitializer: init(3) }),
    ],
  });
}

function batch(seed: number) {
  const { x, y } = seededData(seed, 8, 48, 3);
  const x4 = tf.reshape(x, [8, 4, 4, 3]);
  x.dispose();
  return { x: x4, y };
}

function loss(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, wd = 0): tf.Scalar {
  const logits = model.apply(x, { training: true }) as tf.Tensor;
  const ce = tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1)));
  if (wd === 0) return ce as tf.Scalar;
  const l2 = tf.addN(model.trainableWeights.map((w) => tf.sum(tf.square(w.read()))));
  return tf.add(ce, tf.mul(wd / 2, l2)) as tf.Scalar;
}

const body = (m: tf.LayersModel) => paramsOf(m).find((p) => p.layerName === 'body' && p.role === 'kernel')!.variable;
const optimizers: Record<string, () => tf.Optimizer> = {
  sgd: () => tf.train.sgd(0.5),
  momentum: () => tf.train.momentum(0.5, 0.9),
  adam: () => tf.train.adam(0.05),
};

describe('mimicNormHook', () => {
  for (const [name, make] of Object.entries(optimizers)) {
    it(`keeps every centred filter at mean 0 after each ${name} step (with weight decay); without it the mean drifts`, () => {
      const { x, y } = batch(1);
      const model = net(1);
      const opt = mimicNorm(make(), { params: model });
      expect(worstFilterMeanRatio(body(model))).toBeLessThan(1e-6); // centred on creation
      for (let step = 1; step <= 6; step++) {
        opt.minimize(() => loss(model, x, y, 5e-4), true)?.dispose();
        expect(worstFilterMeanRatio(body(model)), `step ${step}`).toBeLessThan(1e-6);
      }
      // control: the same start without the hook drifts away from mean 0
      const plainModel = net(1);
      const plain = withHooks(make());
      tf.tidy(() => body(plainModel).assign(tf.sub(body(plainModel), tf.mean(body(plainModel), [0, 1, 2], true))));
      for (let step = 1; step <= 3; step++) plain.minimize(() => loss(plainModel, x, y, 5e-4), true)?.dispose();
      expect(worstFilterMeanRatio(body(plainModel))).toBeGreaterThan(1e-4);
      opt.dispose();
      plain.dispose();
      tf.dispose([x, y]);
      model.dispose();
      plainModel.dispose();
    });
  }

  it('runs after the step: one step equals the plain step followed by centring; excluded kernels match bit for bit', () => {
    const { x, y } = batch(2);
    const a = net(2);
    const b = net(2);
    const hooked = mimicNorm(tf.train.momentum(0.3, 0.9), { params: a });
    const plain = tf.train.momentum(0.3, 0.9);
    tf.tidy(() => body(b).assign(tf.sub(body(b), tf.mean(body(b), [0, 1, 2], true)))); // same start as a
    hooked.minimize(() => loss(a, x, y));
    plain.minimize(() => loss(b, x, y));
    for (const [pa, pb] of paramsOf(a).map((p, i) => [p, paramsOf(b)[i]!] as const)) {
      if (pa.layerName === 'body' && pa.role === 'kernel') {
        const expected = tf.tidy(() => tf.sub(pb.variable, tf.mean(pb.variable, [0, 1, 2], true)));
        expect(tf.tidy(() => tf.max(tf.abs(tf.sub(pa.variable, expected))).dataSync()[0]!)).toBeLessThan(1e-6);
        expected.dispose();
      } else {
        expect(Array.from(pa.variable.dataSync()), pa.name).toEqual(Array.from(pb.variable.dataSync()));
      }
    }
    hooked.dispose();
    plain.dispose();
    (plain as unknown as { c?: tf.Tensor }).c?.dispose(); // tfjs#4647: Momentum.dispose forgets its lr scalar
    tf.dispose([x, y]);
    a.dispose();
    b.dispose();
  });

  it('works through model.compile + fit', async () => {
    const { x, y } = batch(3);
    const model = net(3);
    model.compile({ optimizer: mimicNorm(tf.train.sgd(0.5), { params: model }), loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });
    expect(worstFilterMeanRatio(body(model))).toBeLessThan(1e-6);
    model.optimizer.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });

  it('leaks no tensor per step', async () => {
    const { x, y } = batch(4);
    const model = net(4);
    const opt = mimicNorm(tf.train.adam(0.01), { params: model });
    opt.minimize(() => loss(model, x, y), true)?.dispose(); // creates Adam's slots
    await expectNoLeak(() => {
      for (let i = 0; i < 3; i++) opt.minimize(() => loss(model, x, y), true)?.dispose();
    });
    opt.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });

  it('centerOnCreate: false leaves the weights until the first step', () => {
    const model = net(5);
    const before = body(model).dataSync().slice();
    const opt = mimicNorm(tf.train.sgd(0.1), { params: model, centerOnCreate: false, name: 'mn' });
    expect(Array.from(body(model).dataSync())).toEqual(Array.from(before));
    expect(opt.hook<MimicNormHook>('mn')?.variables.map((v) => v.name)).toEqual([body(model).name]);
    opt.dispose();
    model.dispose();
  });

  it('round-trips getConfig → fromConfig and finds its kernels at the first step', () => {
    registerMimicNormHook();
    const { x, y } = batch(6);
    const model = net(6);
    const opt = mimicNorm(tf.train.sgd(0.5), { params: [body(model)] });
    const cfg = opt.getConfig();
    expect(cfg['hooks']).toEqual([{ name: 'mimicnorm', className: 'MimicNormHook', config: { name: 'mimicnorm', kernels: [{ name: 'body/kernel', axes: [0, 1, 2] }] } }]); // tfjs' _N suffix dropped
    const restored = HookedOptimizer.fromConfig(HookedOptimizer as never, JSON.parse(JSON.stringify(cfg))) as HookedOptimizer;
    const hook = restored.hook<MimicNormHook>('mimicnorm')!;
    expect(hook).toBeInstanceOf(MimicNormHook);
    expect(hook.getConfig()).toEqual((cfg['hooks'] as { config: unknown }[])[0]!.config);
    restored.minimize(() => loss(model, x, y), true)?.dispose();
    expect(hook.variables.map((v) => v.name)).toEqual([body(model).name]);
    expect(worstFilterMeanRatio(body(model))).toBeLessThan(1e-6);
    // a restored hook given another model's gradients says so
    const other = tf.sequential({ layers: [tf.layers.dense({ inputShape: [48], units: 3, name: 'unrelated' })] });
    const lost = HookedOptimizer.fromConfig(HookedOptimizer as never, JSON.parse(JSON.stringify(cfg))) as HookedOptimizer;
    const x2 = tf.reshape(x, [8, 48]);
    const { value, grads } = lost.computeGradients(() => tf.mean(tf.square(other.apply(x2) as tf.Tensor)));
    expect(() => lost.applyGradients(grads)).toThrow(/no trained variable/);
    tf.dispose([x, y, x2, value, ...Object.values(grads)]);
    [opt, restored, lost].forEach((o) => o.dispose());
    model.dispose();
    other.dispose();
  });

  it('composes with other hooks and rejects bad args with TrainkitError', () => {
    const model = net(7);
    const opt = withHooks(tf.train.sgd(0.1), mimicNormHook({ params: model }), { name: 'other' });
    expect(opt.hooks.map((h) => h.name)).toEqual(['mimicnorm', 'other']);
    opt.dispose();
    const bad: unknown[] = [
      undefined,
      { params: [] },
      { params: 'model' },
      { params: model, name: '' },
      { params: model, name: 'a/b' },
      { params: model, select: { minFanIn: -2 } },
      { params: model, select: { minFanIn: 100 } }, // nothing left to centre
    ];
    for (const a of bad) expect(() => mimicNormHook(a as never), JSON.stringify(a)).toThrow(TrainkitError);
    const sgd = tf.train.sgd(0.1); // still the caller's when mimicNorm throws
    expect(() => mimicNorm(sgd, { params: model, centerOnCreate: 'yes' as never })).toThrow(TrainkitError);
    sgd.dispose();
    expect(() => mimicNorm({} as never, { params: model })).toThrow(TrainkitError);
    expect(() => new MimicNormHook({ kernels: [{ name: 'x', axes: [-1] }] } as never)).toThrow(TrainkitError);
    model.dispose();
  });
});
