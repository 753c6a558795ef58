import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BAD_KINDS, checkContract, tf, type FuzzCase } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { byolMomentum, constantMomentum, emaUpdate, pseudoLabelLoss, pseudoLabels } from './index';
import { emaTeacher, emanHook, fixMatchLoss, type EmaTeacher } from './layers/index';

function pairs() {
  const t1 = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
  const t2 = tf.tidy(() => tf.variable(tf.tensor2d([[1, 0], [0, 1]])));
  const s1 = tf.tidy(() => tf.variable(tf.tensor1d([0, 0, 0])));
  const s2 = tf.tidy(() => tf.variable(tf.tensor2d([[2, 2], [2, 2]])));
  return { target: [t1, t2], source: [s1, s2], free: () => tf.dispose([t1, t2, s1, s2]) };
}

function student() {
  return tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] }), tf.layers.batchNormalization(), tf.layers.dense({ units: 2 })] });
}

/** A student, its teacher, and every teacher variable (what update/setWeights may write). */
function withTeacher() {
  const s = student();
  const t = emaTeacher(s, { momentum: 0.9 });
  tf.tidy(() => s.weights.forEach((w) => w.write(tf.add(w.read(), 0.5))));
  const watch = t.model.weights.map((w) => w.read() as tf.Variable);
  return { s, t, watch, free: () => { t.dispose(); s.dispose(); } };
}

const logitsCase = (name: string, call: (a: unknown[]) => unknown, release: (r: unknown) => void): FuzzCase => ({
  name,
  setup() {
    const a = tf.tensor2d([[2, 1, 0], [0.1, 0.2, 5]]);
    const b = tf.tensor2d([[1, 1, 0], [0, 2, 1]]);
    return { args: [a, b, { threshold: 0.5, temperature: 1 }], watch: [], teardown: () => tf.dispose([a, b]) };
  },
  call,
  release,
});

const CASES: FuzzCase[] = [
  {
    name: 'emaUpdate',
    setup() {
      const p = pairs();
      return { args: [p.target, p.source, 0.9], watch: [...p.target, ...p.source], teardown: p.free };
    },
    call: (a) => emaUpdate(a[0] as never, a[1] as never, a[2] as never),
  },
  logitsCase('pseudoLabels', (a) => pseudoLabels(a[0] as never, a[2] as never), (r) => tf.dispose(Object.values(r as object))),
  logitsCase('pseudoLabelLoss', (a) => pseudoLabelLoss(a[0] as never, a[1] as never, a[2] as never), (r) => (r as tf.Tensor).dispose()),
  { name: 'constantMomentum', setup: () => ({ args: [0.99], watch: [], teardown: () => undefined }), call: (a) => constantMomentum(a[0] as never).at(1) },
  { name: 'byolMomentum', setup: () => ({ args: [{ base: 0.99, totalSteps: 10 }], watch: [], teardown: () => undefined }), call: (a) => byolMomentum(a[0] as never).at(1) },
  {
    name: 'emaTeacher',
    setup() {
      const s = student();
      return { args: [s, { momentum: 0.9, mode: 'eman' }], watch: s.weights.map((w) => w.read() as tf.Variable), teardown: () => s.dispose() };
    },
    call: (a) => emaTeacher(a[0] as never, a[1] as never),
    release: (r) => (r as EmaTeacher).dispose(),
  },
  {
    name: 'EmaTeacher.update',
    setup() {
      const w = withTeacher();
      return { args: [3], ctx: w.t, watch: w.watch, teardown: w.free };
    },
    call: (a, t) => (t as EmaTeacher).update(a[0] as never),
  },
  {
    name: 'EmaTeacher.setWeights',
    setup() {
      const w = withTeacher();
      const state = w.t.getWeights();
      tf.tidy(() => w.t.update());
      return { args: [state], ctx: w.t, watch: w.watch, teardown: () => { tf.dispose(state.map((x) => x.tensor)); w.free(); } };
    },
    call: (a, t) => (t as EmaTeacher).setWeights(a[0] as never),
  },
  {
    name: 'emanHook',
    setup() {
      const w = withTeacher();
      return { args: [w.t, 'eman'], watch: w.watch, teardown: w.free };
    },
    call: (a) => emanHook(a[0] as never, a[1] as never),
  },
  {
    name: 'fixMatchLoss',
    setup() {
      const w = withTeacher();
      const x = tf.tensor2d([[1, 2], [0, 1]]);
      const y = tf.tensor2d([[1, 0], [0, 1]]);
      const weak = tf.tensor2d([[0.5, 0.5], [1, -1]]);
      const strong = tf.tensor2d([[0.4, 0.6], [1.1, -1]]);
      return {
        args: [{ student: w.s, labeller: w.t, labeledX: x, labeledY: y, weak, strong, unlabeledWeight: 1, threshold: 0.5 }],
        watch: w.watch,
        teardown: () => { tf.dispose([x, y, weak, strong]); w.free(); },
      };
    },
    call: (a) => fixMatchLoss(a[0] as never),
    release: (r) => (r as tf.Tensor).dispose(),
  },
];

const mutation = fc.record({ pos: fc.nat(3), deep: fc.boolean(), member: fc.nat(8), kind: fc.constantFrom(...BAD_KINDS) });

describe('fuzz: every public function either works or throws TrainkitError, changes nothing when it throws, leaks nothing', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 30 });
    });
  }

  it('teacher.update(1.5) is INVALID_ARGUMENT and moves nothing', () => {
    const w = withTeacher();
    const before = w.watch.map((v) => Array.from(v.dataSync()));
    expect(() => w.t.update(1.5)).toThrow(TrainkitError);
    expect(w.watch.map((v) => Array.from(v.dataSync()))).toEqual(before);
    expect(w.t.step).toBe(0);
    w.free();
  });

  it('teacher.update with a disposed student weight (a BN buffer) writes nothing: DISPOSED', () => {
    const w = withTeacher();
    const before = w.watch.map((v) => Array.from(v.dataSync()));
    const studentVars = w.s.weights.map((x) => x.read() as tf.Variable);
    const buffer = w.s.weights.find((x) => x.name.includes('moving_mean'))!;
    (buffer.read() as tf.Variable).dispose();
    expect(() => w.t.update()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(w.watch.map((v) => Array.from(v.dataSync()))).toEqual(before);
    w.t.dispose();
    studentVars.forEach((v) => { if (!v.isDisposed) v.dispose(); });
  });

  it('emaUpdate with a disposed second pair writes nothing and names it (DISPOSED)', () => {
    const p = pairs();
    p.source[1]!.dispose();
    let err: TrainkitError | undefined;
    try {
      emaUpdate(p.target, p.source, 0.5);
    } catch (e) {
      err = e as TrainkitError;
    }
    expect(err?.code).toBe('DISPOSED');
    expect(err?.argument).toBe('source[1]');
    expect(Array.from(p.target[0]!.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([...p.target, p.source[0]!]);
  });

  it('pseudoLabels on disposed logits is DISPOSED', () => {
    const z = tf.zeros([2, 3]);
    z.dispose();
    expect(() => pseudoLabels(z)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });
});
