import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { expectTensorClose, seededData, seededVariable } from '@trainkit/test-utils';
import { HookedOptimizer, registerCoreSerializables, withHooks, type StepHook } from './hooks';
import { TrainkitError } from './errors';

type Factory = () => tf.Optimizer;
const OPTIMIZERS: Record<string, Factory> = {
  sgd: () => tf.train.sgd(0.1),
  momentum: () => tf.train.momentum(0.1, 0.9, true),
  adam: () => tf.train.adam(0.01),
  adamax: () => tf.train.adamax(0.01),
  rmsprop: () => tf.train.rmsprop(0.01, 0.9, 0.5, 1e-7, true),
  adagrad: () => tf.train.adagrad(0.1),
};

// tf.losses.softmaxCrossEntropy trips tfjs' IS_TEST kernel leak check (a tfjs quirk), so compute it directly.
const crossEntropy = (y: tf.Tensor, logits: tf.Tensor): tf.Scalar =>
  tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1))) as tf.Scalar;

/** A tiny 2-layer net as plain variables, plus a loss closure over fixed seeded data. */
function problem(tag: string) {
  const w1 = seededVariable(1, [4, 3], `w1_${tag}`);
  const b1 = seededVariable(9, [3], `b1_${tag}`, 0, 0.1);
  const w2 = seededVariable(2, [3, 2], `w2_${tag}`);
  const { x, y } = seededData(7, 16, 4, 2);
  const loss = () =>
    tf.tidy(() => crossEntropy(y, tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2)));
  const vars = [w1, b1, w2];
  return { vars, loss, dispose: () => tf.dispose([...vars, x, y]) };
}

function run(opt: tf.Optimizer, p: ReturnType<typeof problem>, steps: number) {
  for (let i = 0; i < steps; i++) opt.minimize(p.loss, false, p.vars);
}

describe('HookedOptimizer without hooks', () => {
  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`matches bare ${name} bit for bit over 20 steps`, () => {
      const a = problem(`bare_${name}`);
      const b = problem(`hooked_${name}`);
      const bare = make();
      const hooked = withHooks(make());
      run(bare, a, 20);
      run(hooked, b, 20);
      for (let i = 0; i < a.vars.length; i++) {
        expect(Array.from(b.vars[i]!.dataSync())).toEqual(Array.from(a.vars[i]!.dataSync()));
      }
      expect(hooked.iterations).toBe(20);
      bare.dispose();
      if (name === 'momentum') (bare as unknown as { c: tf.Tensor }).c.dispose(); // tfjs#4647: Momentum leaks it
      hooked.dispose();
      a.dispose();
      b.dispose();
    });
  }
});

/** A hook with state: counts steps in a variable, scales gradients by 0.5, records call order. */
function countingHook(name: string, log: string[]): StepHook & { count: tf.Variable } {
  const count: tf.Variable = tf.tidy(() => tf.variable(tf.scalar(0), false));
  return {
    name,
    className: 'TestCountingHook',
    count,
    transformGradients(grads, ctx) {
      log.push(`${name}:grad:${ctx.step}`);
      const out: tf.NamedTensorMap = {};
      for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, 0.5);
      return out;
    },
    afterApply(ctx) {
      log.push(`${name}:after:${ctx.step}`);
      count.assign(tf.add(count, 1));
    },
    getWeights: () => [{ name: 'count', tensor: count }],
    setWeights: (w) => count.assign(w[0]!.tensor),
    getConfig: () => ({ tag: name }),
    dispose: () => count.dispose(),
  };
}

describe('HookedOptimizer with hooks', () => {
  it('runs transformGradients in order before the step and afterApply after it, with 1-based steps', () => {
    const p = problem('order');
    const log: string[] = [];
    const h1 = countingHook('a', log);
    const h2 = countingHook('b', log);
    const opt = withHooks(tf.train.sgd(0.1), h1, h2);
    run(opt, p, 2);
    expect(log).toEqual(['a:grad:1', 'b:grad:1', 'a:after:1', 'b:after:1', 'a:grad:2', 'b:grad:2', 'a:after:2', 'b:after:2']);
    expect(h1.count.dataSync()[0]).toBe(2);
    opt.dispose();
    p.dispose();
  });

  it('applies transformed gradients: two 0.5 scalings equal sgd at lr/4', () => {
    const a = problem('scaled_a');
    const b = problem('scaled_b');
    const hooked = withHooks(tf.train.sgd(0.4), countingHook('a', []), countingHook('b', []));
    const bare = tf.train.sgd(0.1);
    run(hooked, a, 5);
    run(bare, b, 5);
    for (let i = 0; i < 3; i++) expectTensorClose(a.vars[i]!, b.vars[i]!, { atol: 1e-6, rtol: 1e-5 });
    hooked.dispose();
    bare.dispose();
    a.dispose();
    b.dispose();
  });

  it('resumes after k steps with a fresh optimizer on the same trajectory (adam, with hook state)', async () => {
    const ref = problem('resume_ref');
    const p = problem('resume_run');
    const refOpt = withHooks(tf.train.adam(0.01), countingHook('h', []));
    run(refOpt, ref, 10);

    const first = withHooks(tf.train.adam(0.01), countingHook('h', []));
    run(first, p, 4);
    const saved = await first.getWeights(); // new tensors, ours to dispose
    first.dispose();

    const second = withHooks(tf.train.adam(0.01), countingHook('h', []));
    await second.setWeights(saved);
    tf.dispose(saved.map((c) => c.tensor));
    expect(second.iterations).toBe(4);
    expect((second.hook('h') as ReturnType<typeof countingHook>).count.dataSync()[0]).toBe(4);
    run(second, p, 6);
    for (let i = 0; i < 3; i++) expectTensorClose(p.vars[i]!, ref.vars[i]!, { atol: 1e-6, rtol: 1e-5 });
    refOpt.dispose();
    second.dispose();
    ref.dispose();
    p.dispose();
  });

  it('resumes momentum bit for bit', async () => {
    const ref = problem('mom_ref');
    const p = problem('mom_run');
    const refOpt = withHooks(tf.train.momentum(0.1, 0.9));
    run(refOpt, ref, 8);
    const first = withHooks(tf.train.momentum(0.1, 0.9));
    run(first, p, 3);
    const saved = await first.getWeights();
    first.dispose();
    const second = withHooks(tf.train.momentum(0.1, 0.9));
    await second.setWeights(saved);
    tf.dispose(saved.map((c) => c.tensor));
    run(second, p, 5);
    for (let i = 0; i < 3; i++) expect(Array.from(p.vars[i]!.dataSync())).toEqual(Array.from(ref.vars[i]!.dataSync()));
    refOpt.dispose();
    second.dispose();
    ref.dispose();
    p.dispose();
  });

  it('rejects state for a hook it does not have, and missing hook state', async () => {
    const p = problem('mismatch');
    const a = withHooks(tf.train.sgd(0.1), countingHook('h', []));
    run(a, p, 1);
    const saved = await a.getWeights();
    const b = withHooks(tf.train.sgd(0.1));
    await expect(b.setWeights(saved)).rejects.toThrow(TrainkitError);
    const c = withHooks(tf.train.sgd(0.1), countingHook('other', []));
    await expect(c.setWeights(saved)).rejects.toThrow(/belongs to no hook/);
    const d = withHooks(tf.train.sgd(0.1), countingHook('h', []), countingHook('g', []));
    await expect(d.setWeights(saved)).rejects.toThrow(/no saved state for hook "g"/);
    tf.dispose(saved.map((w) => w.tensor));
    [a, b, c, d].forEach((o) => o.dispose());
    p.dispose();
  });

  it('leaks no tensors over 100 steps', () => {
    const p = problem('leak');
    const opt = withHooks(tf.train.adam(0.01), countingHook('h', []));
    run(opt, p, 2); // slots are created lazily on the first step
    const before = tf.memory().numTensors;
    run(opt, p, 100);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    p.dispose();
  });

  it('a throwing hook leaves no tensors behind and the variables untouched', () => {
    const p = problem('throws');
    const before = p.vars.map((v) => Array.from(v.dataSync()));
    const opt = withHooks(tf.train.sgd(0.1), {
      name: 'bad',
      transformGradients: () => {
        throw new Error('boom');
      },
    });
    const n = tf.memory().numTensors;
    expect(() => opt.minimize(p.loss, true, p.vars)).toThrow('boom');
    expect(tf.memory().numTensors).toBe(n);
    p.vars.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(before[i]));
    expect(opt.iterations).toBe(0);
    opt.dispose();
    p.dispose();
  });

  it('dispose is idempotent and later use throws DISPOSED', () => {
    const opt = withHooks(tf.train.sgd(0.1), countingHook('h', []));
    opt.dispose();
    opt.dispose();
    expect(() => opt.applyGradients({})).toThrow(/disposed/);
  });

  it('validates its arguments', () => {
    expect(() => new HookedOptimizer({} as tf.Optimizer)).toThrow(/inner must be a tf.Optimizer/);
    const sgd = tf.train.sgd(0.1);
    expect(() => withHooks(sgd, { name: 'x' }, { name: 'x' })).toThrow(/unique/);
    expect(() => withHooks(sgd, { name: '' })).toThrow(/non-empty name/);
    expect(() => withHooks(sgd, { name: 'a/b' })).toThrow(/without "\/"/);
    sgd.dispose();
  });
});

describe('HookedOptimizer serialization', () => {
  it('getConfig → fromConfig rebuilds the inner optimizer and registered hooks', () => {
    registerCoreSerializables();
    registerCoreSerializables(); // idempotent
    class TestCountingHook extends tf.serialization.Serializable {
      static get className() {
        return 'TestCountingHook';
      }
      readonly name: string;
      constructor(cfg: { tag: string }) {
        super();
        this.name = cfg.tag;
      }
      getConfig() {
        return { tag: this.name };
      }
      static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, c: tf.serialization.ConfigDict): T {
        return new (cls as unknown as new (c: { tag: string }) => T)(c as { tag: string });
      }
    }
    tf.serialization.registerClass(TestCountingHook);
    const opt = withHooks(tf.train.adam(0.02, 0.8, 0.95), countingHook('h', []));
    const cfg = JSON.parse(JSON.stringify(opt.getConfig())) as tf.serialization.ConfigDict;
    const back = HookedOptimizer.fromConfig(HookedOptimizer, cfg) as HookedOptimizer;
    expect(back.inner.getClassName()).toBe('Adam');
    expect(back.inner.getConfig()).toEqual(opt.inner.getConfig());
    expect(back.hooks.map((h) => h.name)).toEqual(['h']);
    expect(back.getClassName()).toBe('HookedOptimizer');
    opt.dispose();
    back.dispose();
  });

  it('fromConfig names an unregistered hook class', () => {
    const cfg = { innerClassName: 'SGD', innerConfig: { learningRate: 0.1 }, hooks: [{ name: 'x', className: 'Nope', config: {} }] };
    expect(() => HookedOptimizer.fromConfig(HookedOptimizer, cfg)).toThrow(/"Nope", which is not registered/);
  });
});

describe('HookedOptimizer with tf.LayersModel', () => {
  it('trains with compile + fit exactly like the bare optimizer', async () => {
    const build = () => {
      const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })] });
      return m;
    };
    const { x, y } = seededData(5, 16, 4, 2);
    const m1 = build();
    const m2 = build();
    m1.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const hooked = withHooks(tf.train.adam(0.01));
    m2.compile({ optimizer: hooked, loss: 'categoricalCrossentropy' });
    await m1.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
    await m2.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
    expect(hooked.iterations).toBe(6);
    const w1 = m1.getWeights();
    const w2 = m2.getWeights();
    for (let i = 0; i < w1.length; i++) expect(Array.from(w2[i]!.dataSync())).toEqual(Array.from(w1[i]!.dataSync()));
    m1.optimizer.dispose();
    hooked.dispose();
    m1.dispose();
    m2.dispose();
    tf.dispose([x, y]);
  });
});
