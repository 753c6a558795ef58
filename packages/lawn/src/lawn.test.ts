import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { seededData, seededVariable } from '@trainkit/test-utils';
import { TrainkitError, withHooks, type StepHook } from '@trainkit/core';
import { LawnOptimizer, lawn, lawnHook, registerLawnSerializables, type LawnArgs } from './index';

type Factory = () => tf.Optimizer;
const INNERS: Record<string, Factory> = {
  sgd: () => tf.train.sgd(0.2),
  momentum: () => tf.train.momentum(0.1, 0.9),
  adam: () => tf.train.adam(0.05),
  rmsprop: () => tf.train.rmsprop(0.02, 0.9, 0.5),
};

const crossEntropy = (y: tf.Tensor, logits: tf.Tensor): tf.Scalar =>
  tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1))) as tf.Scalar;

let uid = 0;
/** A tiny MLP as plain variables: w1 [4,6] and w2 [6,3] are constrained, b1 [6] is not. */
function problem(opts: { zeroHead?: boolean; zeroColumn?: boolean } = {}) {
  const tag = `p${++uid}`;
  const w1 = seededVariable(1, [4, 6], `w1_${tag}`);
  const b1 = seededVariable(9, [6], `b1_${tag}`, 0, 0.1);
  const w2 = opts.zeroHead
    ? tf.tidy(() => tf.variable(tf.zeros([6, 3]), true, `w2_${tag}`))
    : seededVariable(2, [6, 3], `w2_${tag}`);
  if (opts.zeroColumn) tf.tidy(() => w2.assign(tf.mul(w2, tf.tensor1d([1, 0, 1]))));
  const { x, y } = seededData(7, 16, 4, 3);
  const logits = () => tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2);
  const loss = () => tf.tidy(() => crossEntropy(y, logits()));
  return { w1, b1, w2, vars: [w1, b1, w2], x, y, logits, loss, dispose: () => tf.dispose([w1, b1, w2, x, y]) };
}
type Problem = ReturnType<typeof problem>;

const step = (opt: tf.Optimizer, p: Problem) => opt.minimize(p.loss, false, p.vars);
const values = (v: tf.Tensor) => Array.from(v.dataSync());

/** float64 norms: one per tensor, or one per output unit (last axis). */
function norms64(v: tf.Tensor, granularity: 'layer' | 'unit'): number[] {
  const d = v.dataSync();
  const units = granularity === 'layer' ? 1 : v.shape[v.rank - 1]!;
  const sq = new Float64Array(units);
  for (let i = 0; i < d.length; i++) {
    const k = granularity === 'layer' ? 0 : i % units;
    sq[k] = sq[k]! + (d[i] as number) ** 2;
  }
  return Array.from(sq, Math.sqrt);
}

function disposeBare(opt: tf.Optimizer) {
  opt.dispose();
  const c = (opt as unknown as { c?: tf.Tensor }).c; // tfjs#4647: Momentum.dispose leaks its lr scalar
  if (opt.getClassName() === 'Momentum' && c && !c.isDisposed) c.dispose();
}

/** A hook placed after LAWN that records the gradients the inner optimizer receives and W before the step. */
function spyHook(names: string[]) {
  const seen: { step: number; g: Record<string, number[]>; w: Record<string, number[]> }[] = [];
  const vars = new Map<string, tf.Variable>();
  const hook: StepHook = {
    name: 'spy',
    transformGradients(grads, ctx) {
      const rec = { step: ctx.step, g: {} as Record<string, number[]>, w: {} as Record<string, number[]> };
      for (const n of names) {
        rec.g[n] = values(grads[n]!);
        rec.w[n] = values(vars.get(n)!);
      }
      seen.push(rec);
      return grads;
    },
  };
  return { hook, seen, bind: (v: tf.Variable[]) => v.forEach((x) => vars.set(x.name, x)) };
}

afterEach(() => vi.restoreAllMocks());

describe('lawn() with each inner optimizer', () => {
  for (const [innerName, make] of Object.entries(INNERS)) {
    for (const granularity of ['layer', 'unit'] as const) {
      it(`${innerName}/${granularity}: free phase bit-identical, norms recorded at the switch, frozen after every later step`, () => {
        const freeSteps = 5;
        const a = problem();
        const b = problem();
        const bare = make();
        const opt = lawn(make(), { params: [b.w1, b.w2], freeSteps, granularity });
        for (let s = 0; s < freeSteps; s++) {
          expect(opt.phase).toBe('free');
          step(bare, a);
          step(opt, b);
          for (let i = 0; i < 3; i++) expect(values(b.vars[i]!)).toEqual(values(a.vars[i]!)); // bit for bit
        }
        // The switch: right after step freeSteps the norms are the weights' norms at that moment.
        expect(opt.phase).toBe('constrained');
        expect(opt.lawn.switchStep).toBe(freeSteps);
        const frozen = opt.frozenNorms();
        expect(frozen.map((f) => f.name)).toEqual([b.w1.name, b.w2.name]);
        const c = [norms64(b.w1, granularity), norms64(b.w2, granularity)];
        frozen.forEach((f, k) => {
          expect(f.norms).toHaveLength(granularity === 'layer' ? 1 : [6, 3][k]!);
          f.norms.forEach((n, j) => expect(Math.abs(n - c[k]![j]!)).toBeLessThanOrEqual(1e-6 * c[k]![j]!));
        });
        const before = values(b.w2);
        for (let s = 0; s < 15; s++) {
          step(opt, b);
          [b.w1, b.w2].forEach((v, k) => {
            norms64(v, granularity).forEach((n, j) => expect(Math.abs(n - c[k]![j]!)).toBeLessThanOrEqual(1e-5 * c[k]![j]!));
          });
        }
        // It still trains: the head moved along the sphere.
        expect(Math.max(...values(b.w2).map((v, i) => Math.abs(v - before[i]!)))).toBeGreaterThan(1e-3);
        opt.dispose();
        disposeBare(bare);
        a.dispose();
        b.dispose();
      });
    }
  }
});

describe('constrained phase', () => {
  for (const granularity of ['layer', 'unit'] as const) {
    it(`gives the inner optimizer tangent gradients (${granularity}; spec invariant 3)`, () => {
      const p = problem();
      const spy = spyHook([p.w1.name, p.w2.name]);
      spy.bind([p.w1, p.w2]);
      const opt = new LawnOptimizer(tf.train.adam(0.05), [lawnHook({ params: [p.w1, p.w2], freeSteps: 2, granularity }), spy.hook]);
      for (let s = 0; s < 8; s++) step(opt, p);
      let checked = 0;
      for (const rec of spy.seen.filter((r) => r.step > 2)) {
        for (const n of [p.w1.name, p.w2.name]) {
          const g = rec.g[n]!;
          const w = rec.w[n]!;
          const units = granularity === 'layer' ? 1 : n === p.w1.name ? 6 : 3;
          for (let u = 0; u < units; u++) {
            let gw = 0, gg = 0, ww = 0;
            for (let i = 0; i < g.length; i++) {
              if (granularity === 'unit' && i % units !== u) continue;
              gw += g[i]! * w[i]!;
              gg += g[i]! ** 2;
              ww += w[i]! ** 2;
            }
            expect(Math.abs(gw)).toBeLessThanOrEqual(1e-6 * Math.sqrt(gg * ww) + 1e-12);
            checked++;
          }
        }
      }
      expect(checked).toBe(6 * (granularity === 'layer' ? 2 : 9));
      // Free steps were not projected: the raw gradient of step 1 has a radial part.
      const r1 = spy.seen[0]!;
      const radial = r1.g[p.w2.name]!.reduce((s, gi, i) => s + gi * r1.w[p.w2.name]![i]!, 0);
      expect(Math.abs(radial)).toBeGreaterThan(1e-4);
      opt.dispose();
      p.dispose();
    });
  }

  it('with projectGradient: false passes raw gradients and still holds the norms', () => {
    const p = problem();
    const q = problem();
    const spy = spyHook([p.w2.name]);
    spy.bind([p.w2]);
    const opt = new LawnOptimizer(tf.train.adam(0.05), [lawnHook({ params: [p.w1, p.w2], freeSteps: 1, projectGradient: false }), spy.hook]);
    const c = tf.tidy(() => tf.norm(p.w2).dataSync()[0]!);
    for (let s = 0; s < 6; s++) {
      // the gradient the spy sees equals the plain autodiff gradient at the same weights
      const { value, grads } = tf.variableGrads(p.loss, [p.w2]);
      const expected = values(grads[p.w2.name]!);
      tf.dispose([value, grads[p.w2.name]!]);
      step(opt, p);
      expect(spy.seen.at(-1)!.g[p.w2.name]).toEqual(expected);
    }
    const c1 = opt.frozenNorms()[1]!.norms[0]!;
    expect(Math.abs(norms64(p.w2, 'layer')[0]! - c1)).toBeLessThanOrEqual(1e-5 * c1);
    expect(c1).not.toBe(c); // frozen after step 1, not before it
    opt.dispose();
    p.dispose();
    q.dispose();
  });

  for (const innerName of ['momentum', 'adam'] as const) {
    it(`updates variables outside the set exactly as the bare ${innerName} does (spec invariant 4)`, () => {
      const a = problem();
      const b = problem();
      const bare = INNERS[innerName]!();
      const opt = lawn(INNERS[innerName]!(), { params: [b.w1, b.w2], freeSteps: 2 });
      for (let s = 0; s < 10; s++) {
        // the same gradient values for both runs, so only LAWN's own effect could differ
        const g = tf.tidy(() => tf.mul(tf.sin(tf.add(tf.range(0, 6), s)), 0.3));
        const gw1 = tf.ones([4, 6]);
        const gw2 = tf.ones([6, 3]);
        bare.applyGradients({ [a.b1.name]: g, [a.w1.name]: gw1, [a.w2.name]: gw2 });
        opt.applyGradients({ [b.b1.name]: g, [b.w1.name]: gw1, [b.w2.name]: gw2 });
        tf.dispose([g, gw1, gw2]);
        expect(values(b.b1)).toEqual(values(a.b1));
      }
      expect(values(b.w2)).not.toEqual(values(a.w2)); // while the constrained ones did differ
      opt.dispose();
      disposeBare(bare);
      a.dispose();
      b.dispose();
    });
  }

  it('bounds the logits of a bias-free ReLU net by ||x|| · ∏ c_k (spec invariant 5), while plain SGD grows ∏ ||W_k||', () => {
    const tag = `bound${++uid}`;
    const w1 = seededVariable(3, [4, 8], `w1_${tag}`);
    const w2 = seededVariable(4, [8, 3], `w2_${tag}`);
    const { x, y } = seededData(11, 16, 4, 3);
    const net = (xx: tf.Tensor) => tf.matMul(tf.relu(tf.matMul(xx, w1)), w2);
    const loss = () => tf.tidy(() => crossEntropy(y, net(x)));
    const prodNorm = () => norms64(w1, 'layer')[0]! * norms64(w2, 'layer')[0]!;
    const plain = tf.train.sgd(0.5);
    const start = prodNorm();
    for (let s = 0; s < 20; s++) plain.minimize(loss, false, [w1, w2]);
    expect(prodNorm()).toBeGreaterThan(start * 1.05); // the growth LAWN prevents
    const opt = lawn(tf.train.sgd(0.5), { params: [w1, w2], freeSteps: 0 });
    for (let s = 0; s < 20; s++) opt.minimize(loss, false, [w1, w2]);
    const bound = opt.frozenNorms().reduce((acc, f) => acc * f.norms[0]!, 1);
    const probe = tf.randomNormal([32, 4], 0, 3, 'float32', 5);
    const [zn, xn] = tf.tidy(() => [tf.norm(net(probe), 'euclidean', 1), tf.norm(probe, 'euclidean', 1)]);
    const z = zn!.dataSync();
    const xv = xn!.dataSync();
    for (let i = 0; i < 32; i++) expect(z[i]!).toBeLessThanOrEqual(xv[i]! * bound * (1 + 1e-5));
    expect(Math.abs(prodNorm() - bound)).toBeLessThanOrEqual(2e-5 * bound);
    tf.dispose([w1, w2, x, y, probe, zn!, xn!]);
    opt.dispose();
    plain.dispose();
  });
});

describe('switch and state', () => {
  it('freeSteps 0 constrains from the first step; beginConstrainedPhase switches early', () => {
    const p = problem();
    const opt = lawn(tf.train.sgd(0.2), { params: [p.w2], freeSteps: 0 });
    expect(opt.phase).toBe('constrained');
    expect(opt.frozenNorms()).toEqual([]); // recorded when step 1 begins
    const c = norms64(p.w2, 'layer')[0]!;
    step(opt, p);
    expect(opt.lawn.switchStep).toBe(0);
    expect(Math.abs(opt.frozenNorms()[0]!.norms[0]! - c)).toBeLessThanOrEqual(1e-6 * c);
    opt.dispose();

    const late = lawn(tf.train.sgd(0.2), { params: [p.w2], freeSteps: 1000 });
    step(late, p);
    step(late, p);
    expect(late.phase).toBe('free');
    const c2 = norms64(p.w2, 'layer')[0]!;
    late.beginConstrainedPhase();
    expect(late.phase).toBe('constrained');
    expect(late.lawn.switchStep).toBe(2);
    for (let s = 0; s < 3; s++) step(late, p);
    expect(Math.abs(norms64(p.w2, 'layer')[0]! - c2)).toBeLessThanOrEqual(1e-5 * c2);
    late.dispose();
    p.dispose();
  });

  for (const innerName of ['momentum', 'adam'] as const) {
    it(`resumes after the switch and continues identically (${innerName}, spec invariant 9)`, async () => {
      const ref = problem();
      const p = problem();
      const args = (q: Problem): LawnArgs => ({ params: [q.w1, q.w2], freeSteps: 4, granularity: 'unit' });
      const refOpt = lawn(INNERS[innerName]!(), args(ref));
      for (let s = 0; s < 12; s++) step(refOpt, ref);

      const first = lawn(INNERS[innerName]!(), args(p));
      for (let s = 0; s < 7; s++) step(first, p);
      const saved = await first.getWeights(); // new tensors, ours to dispose
      const norms = first.frozenNorms();
      first.dispose();

      const second = lawn(INNERS[innerName]!(), args(p));
      expect(second.phase).toBe('free');
      await second.setWeights(saved);
      tf.dispose(saved.map((w) => w.tensor));
      expect(second.iterations).toBe(7);
      expect(second.phase).toBe('constrained');
      expect(second.frozenNorms()).toEqual(norms);
      for (let s = 0; s < 5; s++) step(second, p);
      for (let i = 0; i < 3; i++) expect(values(p.vars[i]!)).toEqual(values(ref.vars[i]!));
      refOpt.dispose();
      second.dispose();
      ref.dispose();
      p.dispose();
    });
  }

  it('round-trips getConfig → fromConfig (JSON) and rebinds the variables by name', async () => {
    registerLawnSerializables();
    registerLawnSerializables(); // idempotent
    const ref = problem();
    const p = problem();
    const refOpt = lawn(tf.train.adam(0.05), { params: [ref.w1, ref.w2], freeSteps: 2, eps: 1e-9 });
    for (let s = 0; s < 6; s++) step(refOpt, ref);
    const first = lawn(tf.train.adam(0.05), { params: [p.w1, p.w2], freeSteps: 2, eps: 1e-9 });
    for (let s = 0; s < 3; s++) step(first, p);
    const config = JSON.parse(JSON.stringify(first.getConfig()));
    expect(config.hooks[0]).toEqual({
      name: 'lawn',
      className: 'LawnHook',
      config: { name: 'lawn', params: [{ name: p.w1.name }, { name: p.w2.name }], freeSteps: 2, granularity: 'layer', projectGradient: true, eps: 1e-9 },
    });
    const saved = await first.getWeights();
    first.dispose();
    const rebuilt = LawnOptimizer.fromConfig(LawnOptimizer, config) as unknown as LawnOptimizer;
    expect(rebuilt).toBeInstanceOf(LawnOptimizer);
    expect(rebuilt.getClassName()).toBe('LawnOptimizer');
    await rebuilt.setWeights(saved);
    tf.dispose(saved.map((w) => w.tensor));
    for (let s = 0; s < 3; s++) step(rebuilt, p);
    for (let i = 0; i < 3; i++) expect(values(p.vars[i]!)).toEqual(values(ref.vars[i]!));
    expect(rebuilt.lawn.variables()).toEqual([p.w1, p.w2]);
    refOpt.dispose();
    rebuilt.dispose();
    ref.dispose();
    p.dispose();
  });

  it('leaves a zero-norm tensor unconstrained with a warning and never produces NaN (spec invariant 7)', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const p = problem({ zeroHead: true });
    const opt = lawn(tf.train.adam(0.05), { params: [p.w1, p.w2], freeSteps: 0 });
    for (let s = 0; s < 10; s++) step(opt, p);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain(p.w2.name);
    for (const v of p.vars) expect(values(v).every(Number.isFinite)).toBe(true);
    expect(norms64(p.w2, 'layer')[0]!).toBeGreaterThan(1e-3); // free to grow from zero
    const c1 = opt.frozenNorms()[0]!.norms[0]!;
    expect(Math.abs(norms64(p.w1, 'layer')[0]! - c1)).toBeLessThanOrEqual(1e-5 * c1); // the other one is held
    opt.dispose();
    p.dispose();
  });

  it("with granularity 'unit' leaves only the zero unit free", () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const p = problem({ zeroColumn: true });
    const opt = lawn(tf.train.adam(0.05), { params: [p.w2], freeSteps: 0, granularity: 'unit' });
    const c = norms64(p.w2, 'unit');
    for (let s = 0; s < 10; s++) step(opt, p);
    expect(String(warn.mock.calls[0]![0])).toContain('1 of 3 units');
    const n = norms64(p.w2, 'unit');
    expect(Math.abs(n[0]! - c[0]!)).toBeLessThanOrEqual(1e-5 * c[0]!);
    expect(Math.abs(n[2]! - c[2]!)).toBeLessThanOrEqual(1e-5 * c[2]!);
    expect(n[1]!).toBeGreaterThan(1e-3);
    expect(values(p.w2).every(Number.isFinite)).toBe(true);
    opt.dispose();
    p.dispose();
  });

  it('keeps the tensor count stable over 100 steps (spec invariant 10)', () => {
    const p = problem();
    const opt = lawn(tf.train.adam(0.01), { params: [p.w1, p.w2], freeSteps: 3, granularity: 'unit' });
    const before = tf.memory().numTensors;
    for (let s = 0; s < 5; s++) step(opt, p);
    const afterWarmup = tf.memory().numTensors; // Adam's slots were created lazily
    expect(afterWarmup - before).toBe(3 * 2); // Adam's m and v per variable; LAWN's state exists from construction
    for (let s = 0; s < 95; s++) step(opt, p);
    expect(tf.memory().numTensors).toBe(afterWarmup);
    opt.dispose();
    opt.dispose(); // idempotent
    expect(() => tf.tidy(() => void step(opt, p))).toThrow(TrainkitError);
    p.dispose();
  });
});

describe('conv kernels and state round trips', () => {
  it("holds every filter's norm of a Conv2D kernel [kh, kw, in, out] with granularity 'unit'", () => {
    const tag = `conv${++uid}`;
    const k = seededVariable(12, [3, 3, 2, 4], `k_${tag}`);
    const x = tf.randomNormal([4, 5, 5, 2], 0, 1, 'float32', 8);
    const target = tf.randomNormal([4, 5, 5, 4], 0, 1, 'float32', 9);
    const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same'), target))) as tf.Scalar);
    const opt = lawn(tf.train.momentum(0.05, 0.9), { params: [k], freeSteps: 2, granularity: 'unit' });
    for (let s = 0; s < 2; s++) opt.minimize(loss, false, [k]);
    const c = norms64(k, 'unit'); // one per output filter, over axes 0, 1, 2
    expect(c).toHaveLength(4);
    expect(opt.frozenNorms()[0]!.norms.map((n, j) => Math.abs(n - c[j]!) / c[j]!).every((r) => r <= 1e-6)).toBe(true);
    for (let s = 0; s < 10; s++) {
      opt.minimize(loss, false, [k]);
      norms64(k, 'unit').forEach((n, j) => expect(Math.abs(n - c[j]!)).toBeLessThanOrEqual(1e-5 * c[j]!));
    }
    opt.dispose();
    tf.dispose([k, x, target]);
  });

  it('round-trips hook state through getWeights/setWeights for any shape and granularity (property, 25 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom<'layer' | 'unit'>('layer', 'unit'),
        fc.integer({ min: 1, max: 1e6 }),
        (shape, granularity, seed) => {
          const v = tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', seed), true, `prop${++uid}`));
          const a = lawnHook({ params: [v], freeSteps: 0, granularity });
          a.beginConstrainedPhase(3);
          const b = lawnHook({ params: [v], freeSteps: 0, granularity });
          b.setWeights(a.getWeights()); // live tensors, copied by setWeights
          expect(b.phase).toBe('constrained');
          expect(b.switchStep).toBe(3);
          expect(b.frozenNorms()).toEqual(a.frozenNorms());
          expect(b.frozenNorms()[0]!.norms).toHaveLength(granularity === 'layer' ? 1 : shape[shape.length - 1]!);
          a.dispose();
          b.dispose();
          v.dispose();
        },
      ),
      { seed: 7, numRuns: 25 },
    );
  });
});

describe('bad arguments', () => {
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(TrainkitError);
      return (e as TrainkitError).code + ':' + (e as TrainkitError).argument;
    }
    return undefined;
  };

  it('rejects bad freeSteps, params, granularity, eps and name with TrainkitError', () => {
    const p = problem();
    const frozen = tf.tidy(() => tf.variable(tf.ones([2]), false, `frozen${++uid}`));
    const ints = tf.tidy(() => tf.variable(tf.ones([2], 'int32'), true, `ints${uid}`));
    const ok = { params: [p.w2], freeSteps: 1 };
    expect(codeOf(() => lawnHook({ ...ok, freeSteps: -1 }))).toBe('INVALID_ARGUMENT:freeSteps');
    expect(codeOf(() => lawnHook({ ...ok, freeSteps: 1.5 }))).toBe('INVALID_ARGUMENT:freeSteps');
    expect(codeOf(() => lawnHook({ ...ok, freeSteps: undefined as unknown as number }))).toBe('INVALID_ARGUMENT:freeSteps');
    expect(codeOf(() => lawnHook({ ...ok, params: [] }))).toBe('INVALID_ARGUMENT:params');
    expect(codeOf(() => lawnHook({ ...ok, params: undefined as unknown as [] }))).toBe('INVALID_ARGUMENT:params');
    expect(codeOf(() => lawnHook({ ...ok, params: [p.w2, p.w2] }))).toBe('INVALID_ARGUMENT:params');
    expect(codeOf(() => lawnHook({ ...ok, params: [frozen] }))).toMatch(/^INVALID_ARGUMENT:params\[0\]/);
    expect(codeOf(() => lawnHook({ ...ok, params: [ints] }))).toMatch(/^INVALID_ARGUMENT:params\[0\]/);
    expect(codeOf(() => lawnHook({ ...ok, granularity: 'row' as 'unit' }))).toBe('INVALID_ARGUMENT:granularity');
    expect(codeOf(() => lawnHook({ ...ok, eps: 0 }))).toBe('INVALID_ARGUMENT:eps');
    expect(codeOf(() => lawnHook({ ...ok, projectGradient: 'yes' as unknown as boolean }))).toBe('INVALID_ARGUMENT:projectGradient');
    expect(codeOf(() => lawnHook({ ...ok, name: 'a/b' }))).toBe('INVALID_ARGUMENT:name');
    const sgd = tf.train.sgd(0.1);
    expect(codeOf(() => new LawnOptimizer(sgd, []))).toBe('INVALID_ARGUMENT:hooks');
    sgd.dispose(); // not owned by an optimizer that failed to build
    tf.dispose([frozen, ints]);
    p.dispose();
  });

  it('rejects a variable that is not among the trained variables at the first step', () => {
    const p = problem();
    const stranger = seededVariable(5, [3, 3], `stranger${++uid}`);
    const opt = lawn(tf.train.sgd(0.1), { params: [p.w2, stranger], freeSteps: 3 });
    let err: unknown;
    try {
      tf.tidy(() => void step(opt, p)); // tidy frees the gradients minimize made before the throw
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainkitError);
    expect((err as TrainkitError).code).toBe('UNKNOWN_VARIABLE');
    expect((err as TrainkitError).message).toContain(stranger.name);
    expect(opt.iterations).toBe(0);
    opt.dispose();
    stranger.dispose();
    p.dispose();
  });

  it('keeps the norms frozen under a decoupled weight-decay hook placed before it (spec invariant 8)', () => {
    const p = problem();
    // AdamW-style decay after the inner step: W ← (1 − 0.05) W for every variable (tfjs has no decoupled decay built in)
    let decays = 0;
    const decay: StepHook = { name: 'decay', afterApply: () => { decays++; p.vars.forEach((v) => v.assign(tf.mul(v, 0.95))); } };
    const opt = withHooks(tf.train.adam(0.05), decay, lawnHook({ params: [p.w1, p.w2], freeSteps: 2 }));
    for (let s = 0; s < 2; s++) step(opt, p);
    const c = [norms64(p.w1, 'layer')[0]!, norms64(p.w2, 'layer')[0]!];
    for (let s = 0; s < 8; s++) {
      step(opt, p);
      [p.w1, p.w2].forEach((v, k) => expect(Math.abs(norms64(v, 'layer')[0]! - c[k]!)).toBeLessThanOrEqual(1e-5 * c[k]!));
    }
    expect(decays).toBe(10); // the decay ran every step; LAWN's retraction after it undid it on the set
    opt.dispose();
    p.dispose();
  });

  it('composes with other hooks through withHooks', () => {
    const p = problem();
    const opt = withHooks(tf.train.sgd(0.2), lawnHook({ params: [p.w2], freeSteps: 1 }));
    const c0 = norms64(p.w2, 'layer');
    for (let s = 0; s < 4; s++) step(opt, p);
    const c = opt.hook<ReturnType<typeof lawnHook>>('lawn')!.frozenNorms()[0]!.norms[0]!;
    expect(c).not.toBeCloseTo(c0[0]!, 6);
    expect(Math.abs(norms64(p.w2, 'layer')[0]! - c)).toBeLessThanOrEqual(1e-5 * c);
    opt.dispose();
    p.dispose();
  });
});
