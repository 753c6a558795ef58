import { describe, expect, it } from 'vitest';
import { TrainkitError, paramsOf } from '@trainkit/core';
import { expectNoLeak, expectTensorClose, tf, errorCodeOf } from '@trainkit/test-utils';
import { batch, fakeStep, isBuffer, smallNet, snapshot } from '../../test/fixtures';
import { byolMomentum } from '../momentum';
import { EmaTeacher, emaTeacher } from './teacher';

function bitsEqual(a: Float64Array[], b: Float64Array[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Array.from(a[i] as Float64Array), `weight ${i}`).toEqual(Array.from(b[i] as Float64Array));
}

describe('emaTeacher: construction', () => {
  it('clones the architecture and every weight (BN statistics included) into new, non-trainable variables', () => {
    const student = smallNet(1);
    fakeStep(student, 2); // BN statistics away from 0/1
    const teacher = emaTeacher(student);
    expect(teacher.mode).toBe('eman');
    expect(teacher.momentumAt(0)).toBe(0.999);
    bitsEqual(snapshot(teacher.model), snapshot(student));
    const sv = new Set(paramsOf(student).map((p) => p.variable));
    for (const p of paramsOf(teacher.model)) {
      expect(sv.has(p.variable)).toBe(false);
      expect(p.variable.trainable).toBe(false);
    }
    expect(teacher.model.trainableWeights.length).toBe(0);
    teacher.dispose();
    student.dispose();
  });

  it('frees everything it made on dispose (idempotent); a given teacher stays the caller’s', async () => {
    const student = smallNet(1);
    const given = smallNet(3);
    await expectNoLeak(() => {
      const t = emaTeacher(student, { momentum: 0.9 });
      t.update();
      t.dispose();
      t.dispose();
      const u = emaTeacher(student, { teacher: given });
      u.update();
      u.dispose();
    });
    expect(given.weights[0]?.read().isDisposed).toBe(false);
    expect(() => emaTeacher(student).dispose()).not.toThrow();
    student.dispose();
    given.dispose();
  });

  it('mismatched architectures throw TrainkitError SHAPE_MISMATCH; bad args throw INVALID_ARGUMENT', () => {
    const student = smallNet(1);
    const wider = smallNet(2, { hidden: 7 });
    const deeper = smallNet(2, { extraLayer: true });
    const otherClasses = smallNet(2, { classes: 4 });
    expect(errorCodeOf(() => emaTeacher(student, { teacher: wider }))).toBe('SHAPE_MISMATCH');
    expect(errorCodeOf(() => emaTeacher(student, { teacher: deeper }))).toBe('SHAPE_MISMATCH');
    expect(errorCodeOf(() => emaTeacher(student, { teacher: otherClasses }))).toBe('SHAPE_MISMATCH');
    expect(errorCodeOf(() => emaTeacher(student, { teacher: student }))).toBe('INVALID_ARGUMENT');
    expect(errorCodeOf(() => emaTeacher(student, { momentum: 1.5 }))).toBe('INVALID_ARGUMENT');
    expect(errorCodeOf(() => emaTeacher(student, { mode: 'swa' as 'ema' }))).toBe('INVALID_ARGUMENT');
    expect(errorCodeOf(() => emaTeacher(student, { momentum: 0.9, schedule: byolMomentum({ totalSteps: 5 }) }))).toBe('INVALID_ARGUMENT');
    expect(errorCodeOf(() => emaTeacher({} as tf.LayersModel))).toBe('INVALID_ARGUMENT');
    for (const m of [student, wider, deeper, otherClasses]) m.dispose();
  });
});

describe('emaTeacher: update rule', () => {
  it('after k updates with constant m towards a fixed student, t_k − s = m^k (t_0 − s) for every weight, BN stats too (eman)', () => {
    const student = smallNet(1);
    fakeStep(student, 5);
    const t0model = smallNet(9);
    fakeStep(t0model, 6);
    const teacher = emaTeacher(student, { momentum: 0.8, teacher: t0model });
    const t0 = snapshot(teacher.model);
    const s = snapshot(student);
    const k = 10;
    for (let i = 0; i < k; i++) teacher.update();
    expect(teacher.step).toBe(k);
    const got = snapshot(teacher.model);
    for (let w = 0; w < got.length; w++) {
      const sw = s[w] as Float64Array;
      const expected = (t0[w] as Float64Array).map((v, j) => (sw[j] as number) + 0.8 ** k * (v - (sw[j] as number)));
      expectTensorClose(got[w] as Float64Array, expected, { atol: 1e-5, rtol: 1e-5 });
    }
    teacher.dispose();
    t0model.dispose();
    student.dispose();
  });

  it('tracks a moving student step by step (float64 reference over 8 steps with a BYOL schedule)', () => {
    const student = smallNet(1);
    const schedule = byolMomentum({ base: 0.7, totalSteps: 8 });
    const teacher = emaTeacher(student, { schedule });
    let ref = snapshot(teacher.model);
    for (let step = 0; step < 8; step++) {
      fakeStep(student, 100 + step);
      const m = schedule.at(step);
      const s = snapshot(student);
      ref = ref.map((t, w) => t.map((v, j) => m * v + (1 - m) * ((s[w] as Float64Array)[j] as number)));
      expect(teacher.update()).toBe(m);
    }
    const got = snapshot(teacher.model);
    for (let w = 0; w < got.length; w++) expectTensorClose(got[w] as Float64Array, ref[w] as Float64Array, { atol: 1e-4, rtol: 1e-3 });
    teacher.dispose();
    student.dispose();
  });

  it("averages the BN moving statistics in 'eman' but not in 'ema'", () => {
    const student = smallNet(1);
    const eman = emaTeacher(student, { momentum: 0.5, mode: 'eman' });
    const ema = emaTeacher(student, { momentum: 0.5, mode: 'ema' });
    const buffer = isBuffer(student);
    expect(buffer.filter(Boolean).length).toBe(2);
    const before = snapshot(ema.model);
    fakeStep(student, 7); // moves the student's BN statistics and weights
    const s = snapshot(student);
    // statistics reach a teacher only through update()
    bitsEqual(snapshot(eman.model), before);
    eman.update();
    ema.update();
    const gotEman = snapshot(eman.model);
    const gotEma = snapshot(ema.model);
    for (let w = 0; w < s.length; w++) {
      const averaged = (before[w] as Float64Array).map((v, j) => 0.5 * v + 0.5 * ((s[w] as Float64Array)[j] as number));
      expectTensorClose(gotEman[w] as Float64Array, averaged);
      if (buffer[w]) {
        expect(Array.from(gotEma[w] as Float64Array), `ema keeps buffer ${w}`).toEqual(Array.from(before[w] as Float64Array));
        // and the student's really moved, so the check above is not vacuous
        expect(Math.max(...(s[w] as Float64Array).map((v, j) => Math.abs(v - ((before[w] as Float64Array)[j] as number))))).toBeGreaterThan(1e-2);
      } else {
        expectTensorClose(gotEma[w] as Float64Array, averaged);
      }
    }
    eman.dispose();
    ema.dispose();
    student.dispose();
  });

  it("'copy-buffers' averages the weights, copies the student's BN statistics exactly, and predicts per sample", () => {
    const student = smallNet(1);
    const teacher = emaTeacher(student, { momentum: 0.5, mode: 'copy-buffers' });
    const buffer = isBuffer(student);
    const before = snapshot(teacher.model);
    fakeStep(student, 7);
    const s = snapshot(student);
    teacher.update();
    const got = snapshot(teacher.model);
    for (let w = 0; w < s.length; w++) {
      if (buffer[w]) {
        expect(Array.from(got[w] as Float64Array), `buffer ${w} copied`).toEqual(Array.from(s[w] as Float64Array));
      } else {
        const averaged = (before[w] as Float64Array).map((v, j) => 0.5 * v + 0.5 * ((s[w] as Float64Array)[j] as number));
        expectTensorClose(got[w] as Float64Array, averaged);
      }
    }
    const x = batch(3, 4);
    const one = tf.slice(x, [0, 0], [1, -1]);
    const alone = teacher.predict(one);
    const inBatch = teacher.predict(x);
    const first = tf.slice(inBatch, [0, 0], [1, -1]);
    expectTensorClose(alone, first);
    bitsEqual(snapshot(teacher.model), got); // inference-mode predict leaves the teacher as it was
    tf.dispose([x, one, alone, inBatch, first]);
    teacher.dispose();
    student.dispose();
  });

  it('never modifies the student (update, predict, copyFromStudent in both modes)', () => {
    const student = smallNet(1);
    fakeStep(student, 3);
    const before = snapshot(student);
    for (const mode of ['eman', 'ema'] as const) {
      const teacher = emaTeacher(student, { momentum: 0.9, mode });
      const x = batch(4, 6);
      for (let i = 0; i < 3; i++) {
        teacher.update();
        tf.dispose(teacher.predict(x));
      }
      teacher.copyFromStudent();
      x.dispose();
      teacher.dispose();
    }
    bitsEqual(snapshot(student), before);
    student.dispose();
  });

  it('stays at a constant tensor count over 100 updates', async () => {
    const student = smallNet(1);
    const teacher = emaTeacher(student, { momentum: 0.99 });
    teacher.update();
    await expectNoLeak(() => {
      for (let i = 0; i < 100; i++) teacher.update();
    });
    teacher.dispose();
    student.dispose();
  });
});

describe('emaTeacher: predict', () => {
  it("'eman': a sample's prediction is the same whatever else is in the batch; 'ema' (negative control) differs", () => {
    const student = smallNet(1);
    for (let i = 0; i < 3; i++) fakeStep(student, 20 + i);
    const eman = emaTeacher(student, { momentum: 0.5, mode: 'eman' });
    const ema = emaTeacher(student, { momentum: 0.5, mode: 'ema' });
    fakeStep(student, 30);
    eman.update();
    ema.update();
    const a = batch(40, 4);
    const b = tf.tidy(() => tf.mul(batch(41, 5), 3));
    const ab = tf.concat([a, b], 0);
    const perm = tf.tidy(() => tf.gather(ab, tf.tensor1d([8, 2, 5, 0, 7, 1, 6, 3, 4], 'int32')));
    const alone = eman.predict(a);
    const mixed = eman.predict(ab);
    const permuted = eman.predict(perm);
    tf.tidy(() => {
      expectTensorClose(tf.slice(mixed, [0, 0], [4, 3]), alone, { atol: 1e-5, rtol: 1e-5 });
      // rows 3, 5, 1, 7 of `perm` are samples 0, 1, 2, 3 of `a`
      expectTensorClose(tf.gather(permuted, tf.tensor1d([3, 5, 1, 7], 'int32')), alone, { atol: 1e-5, rtol: 1e-5 });
    });
    const emaAlone = ema.predict(a);
    const emaMixed = ema.predict(ab);
    const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.slice(emaMixed, [0, 0], [4, 3]), emaAlone))).dataSync()[0] as number);
    expect(gap).toBeGreaterThan(1e-2);
    tf.dispose([a, b, ab, perm, alone, mixed, permuted, emaAlone, emaMixed]);
    eman.dispose();
    ema.dispose();
    student.dispose();
  });

  it("'eman' predict is pure (teacher state bit-identical); 'ema' moves the teacher's own BN statistics (Mean Teacher)", () => {
    const student = smallNet(1);
    const eman = emaTeacher(student, { mode: 'eman' });
    const ema = emaTeacher(student, { mode: 'ema' });
    const x = batch(50, 8);
    const e0 = snapshot(eman.model);
    const m0 = snapshot(ema.model);
    tf.dispose([eman.predict(x), ema.predict(x)]);
    bitsEqual(snapshot(eman.model), e0);
    const m1 = snapshot(ema.model);
    const buffer = isBuffer(student);
    m1.forEach((w, i) => {
      const same = Array.from(w).every((v, j) => v === (m0[i] as Float64Array)[j]);
      expect(same, `weight ${i}`).toBe(!buffer[i]);
    });
    x.dispose();
    eman.dispose();
    ema.dispose();
    student.dispose();
  });

  it('sends no gradient to the teacher: variableGrads through teacher.predict has no teacher entry', () => {
    const student = smallNet(1);
    const teacher = emaTeacher(student);
    const x = batch(60, 4);
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => tf.sum(tf.mul(teacher.predict(x), student.apply(x, { training: true }) as tf.Tensor))) as tf.Scalar,
    );
    const teacherNames = new Set(paramsOf(teacher.model).map((p) => p.name));
    expect(Object.keys(grads).length).toBeGreaterThan(0);
    for (const name of Object.keys(grads)) expect(teacherNames.has(name), name).toBe(false);
    tf.dispose([value, x, ...Object.values(grads)]);
    teacher.dispose();
    student.dispose();
  });
});

describe('emaTeacher: state', () => {
  it('getWeights → setWeights into a fresh teacher resumes bit-identically', () => {
    const student = smallNet(1);
    const schedule = byolMomentum({ base: 0.6, totalSteps: 10 });
    const a = emaTeacher(student, { schedule });
    for (let i = 0; i < 3; i++) {
      fakeStep(student, 70 + i);
      a.update();
    }
    const state = a.getWeights();
    expect(state[0]?.name).toBe('step');
    const b = emaTeacher(student, { schedule });
    b.setWeights(state);
    tf.dispose(state.map((w) => w.tensor));
    expect(b.step).toBe(3);
    for (let i = 0; i < 3; i++) {
      fakeStep(student, 80 + i);
      expect(b.update()).toBe(a.update());
    }
    bitsEqual(snapshot(b.model), snapshot(a.model));
    a.dispose();
    b.dispose();
    student.dispose();
  });

  it('setWeights rejects state of another architecture with STATE_MISMATCH', () => {
    const student = smallNet(1);
    const other = smallNet(2, { hidden: 5 });
    const a = emaTeacher(student);
    const b = emaTeacher(other);
    const state = b.getWeights();
    expect(errorCodeOf(() => a.setWeights(state))).toBe('STATE_MISMATCH');
    const extra = [...a.getWeights()];
    const bogus = tf.scalar(1);
    expect(errorCodeOf(() => a.setWeights([...extra, { name: 'nope', tensor: bogus }]))).toBe('STATE_MISMATCH');
    tf.dispose([bogus, ...state.map((w) => w.tensor), ...extra.map((w) => w.tensor)]);
    for (const t of [a, b]) t.dispose();
    student.dispose();
    other.dispose();
    expect(errorCodeOf(() => a.update())).toBe('DISPOSED');
  });

  it('a saved teacher model, loaded back and passed as `teacher`, predicts identically', async () => {
    const student = smallNet(1);
    fakeStep(student, 90);
    const a = emaTeacher(student, { momentum: 0.5 });
    fakeStep(student, 91);
    a.update();
    let artifacts: tf.io.ModelArtifacts | undefined;
    await a.model.save(tf.io.withSaveHandler(async (art) => {
      artifacts = art;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
    const b = emaTeacher(student, { momentum: 0.5, teacher: loaded });
    const x = batch(92, 5);
    const pa = a.predict(x);
    const pb = b.predict(x);
    expect(Array.from(pb.dataSync())).toEqual(Array.from(pa.dataSync()));
    tf.dispose([x, pa, pb]);
    a.dispose();
    b.dispose();
    loaded.dispose();
    student.dispose();
  });
});

describe('EmaTeacher class', () => {
  it('the factory and the constructor are the same thing', () => {
    const student = smallNet(1);
    const t = new EmaTeacher(student, { momentum: 0.9, mode: 'ema' });
    expect(t).toBeInstanceOf(EmaTeacher);
    expect(t.momentumAt(3)).toBe(0.9);
    t.dispose();
    student.dispose();
  });
});
