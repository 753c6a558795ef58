import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { seededVariable } from '@trainkit/test-utils';
import { withHooks, type HookedOptimizer, type NamedTensor, type StepHook } from './hooks';
import { TrainkitError } from './errors';

const OPTIMIZERS: Record<string, () => tf.Optimizer> = {
  adam: () => tf.train.adam(0.01),
  rmsprop: () => tf.train.rmsprop(0.01, 0.9, 0.5, 1e-7, true),
  momentum: () => tf.train.momentum(0.1, 0.9),
  adagrad: () => tf.train.adagrad(0.1),
  adadelta: () => tf.train.adadelta(0.1),
};

function problem(tag: string) {
  const w = seededVariable(1, [3, 2], `w_${tag}`);
  const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]);
  const loss = () => tf.tidy(() => tf.sum(tf.square(tf.matMul(x, w))) as tf.Scalar);
  return { w, loss, dispose: () => tf.dispose([w, x]) };
}

/** A hook with one state variable; `strict` gives it a checkWeights that rejects negative counts. */
function stateHook(name: string, opts: { strict?: boolean; failSet?: boolean } = {}): StepHook & { count: tf.Variable } {
  const count = tf.tidy(() => tf.variable(tf.scalar(0), false));
  let failNext = opts.failSet === true;
  return {
    name,
    count,
    afterApply: () => count.assign(tf.add(count, 1)),
    getWeights: () => [{ name: 'count', tensor: count }],
    checkWeights: opts.strict
      ? (w: NamedTensor[]) => {
          if ((w[0]!.tensor.dataSync()[0] as number) < 0) throw new TrainkitError('STATE_MISMATCH', 'negative count', 'weights');
        }
      : undefined,
    setWeights: (w: NamedTensor[]) => {
      count.assign(w[0]!.tensor as tf.Scalar);
      if (failNext) {
        failNext = false; // fails once, so the rollback (another setWeights) works
        throw new Error('setWeights failed after writing');
      }
    },
    dispose: () => count.dispose(),
  };
}

async function stateOf(opt: HookedOptimizer): Promise<Array<[string, number[]]>> {
  const ws = await opt.getWeights();
  const out = ws.map((w) => [w.name, Array.from(w.tensor.dataSync())] as [string, number[]]);
  tf.dispose(ws.map((w) => w.tensor));
  return out;
}

function step(opt: tf.Optimizer, p: ReturnType<typeof problem>, n: number): void {
  for (let i = 0; i < n; i++) opt.minimize(p.loss, false, [p.w]);
}

describe('HookedOptimizer.setWeights frees what it replaces', () => {
  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: repeated restores leave the tensor count unchanged, and dispose() frees everything`, async () => {
      const p = problem(`leak_${name}`);
      const before = tf.memory().numTensors;
      const opt = withHooks(make(), stateHook('h'));
      step(opt, p, 2);
      const saved = await opt.getWeights();
      const live = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) await opt.setWeights(saved);
      expect(tf.memory().numTensors).toBe(live);
      tf.dispose(saved.map((w) => w.tensor));
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before);
      p.dispose();
    });
  }
});

describe('HookedOptimizer.setWeights is all or nothing', () => {
  it('a hook that rejects its state leaves iterations, inner moments and every hook bit-identical', async () => {
    const p = problem('atomic_reject');
    const opt = withHooks(tf.train.adam(0.01), stateHook('a'), stateHook('b', { strict: true }));
    step(opt, p, 3);
    const saved = await opt.getWeights();
    step(opt, p, 2);
    const now = await stateOf(opt);
    const bad = saved.map((w) => (w.name === 'hook/b/count' ? { name: w.name, tensor: tf.scalar(-1) } : w));
    const err = await opt.setWeights(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainkitError);
    expect(await stateOf(opt)).toEqual(now);
    expect(opt.iterations).toBe(5);
    tf.dispose([...saved.map((w) => w.tensor), bad.find((w) => w.name === 'hook/b/count')!.tensor]);
    opt.dispose();
    p.dispose();
  });

  it('a hook state of the wrong shape is rejected before anything is written', async () => {
    const p = problem('atomic_shape');
    const opt = withHooks(tf.train.rmsprop(0.01), stateHook('a'));
    step(opt, p, 2);
    const saved = await opt.getWeights();
    step(opt, p, 1);
    const now = await stateOf(opt);
    const wrong = tf.zeros([2]);
    const bad = saved.map((w) => (w.name === 'hook/a/count' ? { name: w.name, tensor: wrong } : w));
    await expect(opt.setWeights(bad)).rejects.toMatchObject({ code: 'STATE_MISMATCH' });
    expect(await stateOf(opt)).toEqual(now);
    tf.dispose([...saved.map((w) => w.tensor), wrong]);
    opt.dispose();
    p.dispose();
  });

  it('a hook whose setWeights throws after writing is rolled back, and nothing leaks', async () => {
    const p = problem('atomic_rollback');
    const opt = withHooks(tf.train.adam(0.01), stateHook('a'), stateHook('b', { failSet: true }));
    step(opt, p, 2);
    const saved = await opt.getWeights();
    step(opt, p, 2);
    const now = await stateOf(opt);
    const live = tf.memory().numTensors;
    await expect(opt.setWeights(saved)).rejects.toThrow(/failed after writing/);
    expect(await stateOf(opt)).toEqual(now);
    expect(tf.memory().numTensors).toBe(live);
    tf.dispose(saved.map((w) => w.tensor));
    opt.dispose();
    p.dispose();
  });

  it('a disposed tensor gives DISPOSED naming the entry; nothing changes', async () => {
    const p = problem('atomic_disposed');
    const opt = withHooks(tf.train.adam(0.01), stateHook('a'));
    step(opt, p, 2);
    const saved = await opt.getWeights();
    step(opt, p, 1);
    const now = await stateOf(opt);
    saved[saved.length - 1]!.tensor.dispose();
    const err = (await opt.setWeights(saved).catch((e: unknown) => e)) as TrainkitError;
    expect(err).toBeInstanceOf(TrainkitError);
    expect(err.code).toBe('DISPOSED');
    expect(err.message).toContain('hook/a/count');
    expect(await stateOf(opt)).toEqual(now);
    tf.dispose(saved.map((w) => w.tensor));
    opt.dispose();
    p.dispose();
  });

  it('inner state with the wrong slot count is STATE_MISMATCH, before anything is written', async () => {
    const p = problem('atomic_slots');
    const opt = withHooks(tf.train.adam(0.01), stateHook('a'));
    step(opt, p, 2);
    const saved = await opt.getWeights();
    const now = await stateOf(opt);
    const bad = saved.filter((w) => !w.name.endsWith('/v'));
    await expect(opt.setWeights(bad)).rejects.toMatchObject({ code: 'STATE_MISMATCH' });
    expect(await stateOf(opt)).toEqual(now);
    tf.dispose(saved.map((w) => w.tensor));
    opt.dispose();
    p.dispose();
  });

  it('rejects a negative or fractional "iter"', async () => {
    const opt = withHooks(tf.train.sgd(0.1));
    const iter = tf.scalar(-2);
    const innerIter = tf.scalar(0, 'int32');
    await expect(opt.setWeights([{ name: 'iter', tensor: iter }, { name: 'inner/iter', tensor: innerIter }])).rejects.toMatchObject({ code: 'STATE_MISMATCH' });
    expect(opt.iterations).toBe(0);
    tf.dispose([iter, innerIter]);
    opt.dispose();
  });
});

describe('HookedOptimizer step when a hook throws', () => {
  it('afterApply throws: the inner step moved the weights and iterations advanced with it; nothing leaks', () => {
    const p = problem('after_throw');
    let fail = false;
    const hook: StepHook = {
      name: 'flaky',
      afterApply: () => {
        if (fail) throw new TrainkitError('INVALID_ARGUMENT', 'boom');
      },
    };
    const opt = withHooks(tf.train.sgd(0.1), hook);
    step(opt, p, 1);
    const before = Array.from(p.w.dataSync());
    fail = true;
    expect(() => opt.minimize(p.loss, false, [p.w])).toThrow(/boom/);
    expect(Array.from(p.w.dataSync())).not.toEqual(before);
    expect(opt.iterations).toBe(2);
    expect(opt.iterations).toBe(opt.inner.iterations);
    opt.dispose();
    p.dispose();
  });

  it('transformGradients throws: nothing moved and iterations stays', () => {
    const p = problem('grad_throw');
    const hook: StepHook = {
      name: 'bad',
      transformGradients: () => {
        throw new TrainkitError('INVALID_ARGUMENT', 'nope');
      },
    };
    const opt = withHooks(tf.train.sgd(0.1), hook);
    const before = Array.from(p.w.dataSync());
    expect(() => opt.minimize(p.loss, false, [p.w])).toThrow(/nope/);
    expect(Array.from(p.w.dataSync())).toEqual(before);
    expect(opt.iterations).toBe(0);
    opt.dispose();
    p.dispose();
  });
});
