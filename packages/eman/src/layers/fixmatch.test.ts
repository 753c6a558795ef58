import { describe, expect, it } from 'vitest';
import { TrainkitError, paramsOf } from '@trainkit/core';
import { expectTensorClose, seededData, tf } from '@trainkit/test-utils';
import { batch, fakeStep, smallNet } from '../../test/fixtures';
import { pseudoLabelLoss } from '../pseudo-label';
import { fixMatchLoss } from './fixmatch';
import { emaTeacher } from './teacher';

function ce(logits: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

describe('fixMatchLoss', () => {
  it("with the student as labeller: one forward of cat(x_l, weak, strong), L = CE + λ·ℓ_u", () => {
    const student = smallNet(1);
    const xl = batch(1, 4);
    const { x: unusedX, y } = seededData(2, 4, 4, 3);
    unusedX.dispose();
    const weak = batch(3, 6);
    const strong = batch(4, 6);
    const loss = fixMatchLoss({ student, labeller: 'student', labeledX: xl, labeledY: y, weak, strong, threshold: 0.4, unlabeledWeight: 2 });
    const expected = tf.tidy(() => {
      const all = student.apply(tf.concat([xl, weak, strong], 0), { training: true }) as tf.Tensor;
      const l = tf.slice(all, [0, 0], [4, 3]);
      const w = tf.slice(all, [4, 0], [6, 3]);
      const s = tf.slice(all, [10, 0], [6, 3]);
      return tf.add(ce(l, y), tf.mul(pseudoLabelLoss(w, s, { threshold: 0.4 }), 2));
    });
    expectTensorClose(loss, expected);
    tf.dispose([xl, y, weak, strong, loss, expected]);
    student.dispose();
  });

  it('with a teacher as labeller: student sees cat(x_l, strong), labels come from teacher.predict(weak); no teacher gradient', () => {
    const student = smallNet(1);
    fakeStep(student, 9);
    const teacher = emaTeacher(student, { momentum: 0.5 });
    fakeStep(student, 10);
    teacher.update();
    const xl = batch(1, 4);
    const { x: unusedX, y } = seededData(2, 4, 4, 3);
    unusedX.dispose();
    const weak = batch(3, 6);
    const strong = batch(4, 6);
    const expected = tf.tidy(() => {
      const all = student.apply(tf.concat([xl, strong], 0), { training: true }) as tf.Tensor;
      const l = tf.slice(all, [0, 0], [4, 3]);
      const s = tf.slice(all, [4, 0], [6, 3]);
      return tf.add(ce(l, y), pseudoLabelLoss(teacher.predict(weak), s, { threshold: 0.3 }));
    });
    const { value, grads } = tf.variableGrads(() => fixMatchLoss({ student, labeller: teacher, labeledX: xl, labeledY: y, weak, strong, threshold: 0.3 }));
    expectTensorClose(value, expected);
    const teacherNames = new Set(paramsOf(teacher.model).map((p) => p.name));
    const studentNames = new Set(paramsOf(student, { trainable: true }).map((p) => p.name));
    for (const name of Object.keys(grads)) expect(teacherNames.has(name)).toBe(false);
    for (const name of studentNames) expect(Object.keys(grads)).toContain(name);
    tf.dispose([xl, y, weak, strong, value, expected, ...Object.values(grads)]);
    teacher.dispose();
    student.dispose();
  });

  it('with τ = 1 only the supervised term remains', () => {
    const student = smallNet(1);
    const xl = batch(1, 4);
    const { x: unusedX, y } = seededData(2, 4, 4, 3);
    unusedX.dispose();
    const weak = batch(3, 6);
    const strong = batch(4, 6);
    const loss = fixMatchLoss({ student, labeller: 'student', labeledX: xl, labeledY: y, weak, strong, threshold: 1 });
    const expected = tf.tidy(() => ce(tf.slice(student.apply(tf.concat([xl, weak, strong], 0), { training: true }) as tf.Tensor, [0, 0], [4, 3]), y));
    expectTensorClose(loss, expected);
    expect(() => fixMatchLoss({ student, labeller: 'teacher' as 'student', labeledX: xl, labeledY: y, weak, strong })).toThrow(TrainkitError);
    expect(() => fixMatchLoss({ student, labeller: 'student', labeledX: xl, labeledY: y, weak, strong: xl })).toThrow(/strong/);
    tf.dispose([xl, y, weak, strong, loss, expected]);
    student.dispose();
  });
});
