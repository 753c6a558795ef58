import { describe, expect, it } from 'vitest';
import { TrainkitError, withHooks } from '@trainkit/core';
import { expectTensorClose, seededData, tf } from '@trainkit/test-utils';
import { batch, smallNet, snapshot } from '../../test/fixtures';
import { byolMomentum } from '../momentum';
import { emaTeacherCallback, emanHook, EmaTeacherCallback } from './hook';
import { emaTeacher } from './teacher';

function ceLoss(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(model.apply(x, { training: true }) as tf.Tensor)), -1))) as tf.Scalar);
}

describe('emanHook', () => {
  it('updates the teacher after each optimizer step with the 0-based step of the schedule', () => {
    const student = smallNet(1);
    const schedule = byolMomentum({ base: 0.5, totalSteps: 4 });
    const teacher = emaTeacher(student, { schedule });
    const opt = withHooks(tf.train.sgd(0.1), emanHook(teacher));
    const x = batch(3, 8);
    const { x: unusedX, y } = seededData(4, 8, 4, 3);
    unusedX.dispose();
    for (let step = 0; step < 3; step++) {
      const before = snapshot(teacher.model);
      opt.minimize(() => ceLoss(student, x, y));
      const s = snapshot(student); // after the step, BN statistics included
      const m = schedule.at(step);
      const got = snapshot(teacher.model);
      got.forEach((w, i) => expectTensorClose(w, (before[i] as Float64Array).map((v, j) => m * v + (1 - m) * ((s[i] as Float64Array)[j] as number))));
    }
    expect(teacher.step).toBe(3);
    tf.dispose([x, y]);
    opt.dispose();
    teacher.dispose();
    student.dispose();
  });

  it("carries the teacher's state through HookedOptimizer.getWeights/setWeights, so a resumed run matches", async () => {
    const student = smallNet(1);
    const x = batch(5, 8);
    const { x: unusedX, y } = seededData(6, 8, 4, 3);
    unusedX.dispose();
    const a = emaTeacher(student, { momentum: 0.7 });
    const optA = withHooks(tf.train.sgd(0.05), emanHook(a));
    for (let i = 0; i < 2; i++) optA.minimize(() => ceLoss(student, x, y));
    const saved = await optA.getWeights();
    expect(saved.map((w) => w.name)).toContain('hook/eman/step');
    const b = emaTeacher(student, { momentum: 0.7 });
    b.update(); // diverge on purpose; setWeights must overwrite this
    const optB = withHooks(tf.train.sgd(0.05), emanHook(b));
    await optB.setWeights(saved);
    tf.dispose(saved.map((w) => w.tensor));
    expect(b.step).toBe(2);
    expect(snapshot(b.model)).toEqual(snapshot(a.model));
    // both continue from the same student state: the next update must agree bit for bit
    optA.minimize(() => ceLoss(student, x, y));
    b.update(2);
    expect(snapshot(b.model)).toEqual(snapshot(a.model));
    tf.dispose([x, y]);
    optA.dispose();
    optB.dispose();
    a.dispose();
    b.dispose();
    student.dispose();
  });

  it('rejects a non-teacher', () => {
    expect(() => emanHook({} as never)).toThrow(TrainkitError);
    expect(() => emaTeacherCallback(null as never)).toThrow(TrainkitError);
  });
});

describe('emaTeacherCallback', () => {
  it('updates once per batch of model.fit; with m = 0 the teacher ends equal to the student, BN statistics included', async () => {
    const student = smallNet(1);
    const teacher = emaTeacher(student, { momentum: 0 });
    const x = batch(7, 8);
    const { x: unusedX, y } = seededData(8, 8, 4, 3);
    unusedX.dispose();
    student.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const cb = emaTeacherCallback(teacher);
    expect(cb).toBeInstanceOf(EmaTeacherCallback);
    await student.fit(x, y, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0, callbacks: [cb] });
    expect(teacher.step).toBe(4);
    expect(snapshot(teacher.model)).toEqual(snapshot(student));
    tf.dispose([x, y]);
    teacher.dispose();
    (student.optimizer as tf.Optimizer).dispose();
    student.dispose();
  });
});
