import { describe, expect, it } from 'vitest';
import { TrainkitError } from '@trainkit/core';
import { expectTensorClose, tf } from '@trainkit/test-utils';
import { fakeStep, smallNet, snapshot } from '../../test/fixtures';
import { byolMomentum } from '../momentum';
import { emaTeacher } from './teacher';

// Float64 reference of timm ModelEmaV3.get_decay with its 1-based step written 0-based (t = step − startStep):
// t <= 0 → 0; else max(min(1 − (1 + t/γ)^(−p), decay), min_decay).
const timmDecay = (step: number, decay: number, o: { startStep?: number; gamma?: number; power?: number; minDecay?: number }): number => {
  const t = step - (o.startStep ?? 0);
  if (t <= 0) return 0;
  return Math.max(Math.min(1 - (1 + t / (o.gamma ?? 1)) ** -(o.power ?? 2 / 3), decay), o.minDecay ?? 0);
};

describe('EmaTeacher averaging controls', () => {
  it('defaults keep today’s behaviour: m = the schedule at every step', () => {
    const student = smallNet(1);
    const plain = emaTeacher(student, { schedule: byolMomentum({ base: 0.9, totalSteps: 10 }) });
    const sched = byolMomentum({ base: 0.9, totalSteps: 10 });
    for (let s = 0; s < 12; s++) expect(plain.momentumAt(s)).toBe(sched.at(s));
    plain.dispose();
    student.dispose();
  });

  it('warmup + minMomentum + startStep: momentum and teacher follow the float64 reference of timm’s formula', () => {
    const student = smallNet(2);
    const opts = { startStep: 2, gamma: 2, power: 0.75, minDecay: 0.3 };
    const teacher = emaTeacher(student, { momentum: 0.95, warmup: { gamma: 2, power: 0.75 }, minMomentum: 0.3, startStep: 2 });
    let ref = snapshot(student);
    for (let s = 0; s < 12; s++) {
      fakeStep(student, 10 + s);
      const m = s < 2 ? 0 : timmDecay(s, 0.95, opts);
      expect(Math.abs(teacher.momentumAt(s) - m)).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(teacher.update() - m)).toBeLessThanOrEqual(1e-12);
      const cur = snapshot(student);
      ref = ref.map((r, i) => r.map((v, j) => m * v + (1 - m) * (cur[i] as Float64Array)[j]!));
    }
    // Hand-worked: s = 3 → t = 1 → 1 − 1.5^(−0.75) = 0.2619… < minMomentum → 0.3; s = 11 → t = 9 → 1 − 5.5^(−0.75) = 0.7216.
    expect(teacher.momentumAt(3)).toBe(0.3);
    expect(Math.abs(teacher.momentumAt(11) - (1 - 5.5 ** -0.75))).toBeLessThan(1e-12);
    const got = snapshot(teacher.model);
    got.forEach((g, i) => expectTensorClose(g, ref[i] as Float64Array, { atol: 1e-5, rtol: 1e-4 }));
    teacher.dispose();
    student.dispose();
  });

  it('updateEvery: only every k-th step (from startStep) averages; the others leave the teacher bit-identical', () => {
    const student = smallNet(3);
    const teacher = emaTeacher(student, { momentum: 0.5, updateEvery: 3, startStep: 1 });
    const moved: boolean[] = [];
    for (let s = 0; s < 8; s++) {
      fakeStep(student, 30 + s);
      const before = snapshot(teacher.model);
      const m = teacher.update();
      const after = snapshot(teacher.model);
      moved.push(after.some((a, i) => a.some((v, j) => v !== (before[i] as Float64Array)[j])));
      expect(m).toBe(s <= 1 ? 0 : (s - 1) % 3 === 0 ? 0.5 : 1); // steps 0 and 1 (= startStep) copy, as timm
    }
    expect(moved).toEqual([true, true, false, false, true, false, false, true]);
    expect(teacher.step).toBe(8);
    teacher.dispose();
    student.dispose();
  });

  it("averaging 'swa': the teacher is the equal-weight mean of the student at every update since startStep (BN statistics too)", () => {
    const student = smallNet(4);
    const teacher = emaTeacher(student, { averaging: 'swa', startStep: 2, updateEvery: 2 });
    const averaged: Float64Array[][] = [];
    for (let s = 0; s < 9; s++) {
      fakeStep(student, 50 + s);
      const m = teacher.update();
      if (s >= 2 && (s - 2) % 2 === 0) {
        averaged.push(snapshot(student));
        expect(Math.abs(m - (1 - 1 / averaged.length))).toBeLessThanOrEqual(1e-15);
      }
    }
    expect(averaged.length).toBe(4); // steps 2, 4, 6, 8
    const mean = (averaged[0] as Float64Array[]).map((w, i) => w.map((_, j) => averaged.reduce((acc, a) => acc + (a[i] as Float64Array)[j]!, 0) / averaged.length));
    snapshot(teacher.model).forEach((g, i) => expectTensorClose(g, mean[i] as Float64Array, { atol: 1e-5, rtol: 1e-4 }));
    teacher.dispose();
    student.dispose();
  });

  it('resumes through getWeights/setWeights with the new controls (state is the step and the weights)', () => {
    const student = smallNet(5);
    const a = emaTeacher(student, { averaging: 'swa', updateEvery: 2 });
    for (let s = 0; s < 3; s++) a.update();
    const saved = a.getWeights();
    const b = emaTeacher(student, { averaging: 'swa', updateEvery: 2 });
    b.setWeights(saved);
    tf.dispose(saved.map((w) => w.tensor));
    fakeStep(student, 70);
    a.update();
    b.update();
    expect(snapshot(b.model)).toEqual(snapshot(a.model));
    a.dispose();
    b.dispose();
    student.dispose();
  });

  it('rejects bad controls with TrainkitError', () => {
    const student = smallNet(6);
    const bad = [
      { updateEvery: 0 },
      { startStep: -1 },
      { minMomentum: 1.5 },
      { warmup: { gamma: 0 } },
      { warmup: { power: -1 } },
      { averaging: 'mean' as 'swa' },
      { averaging: 'swa' as const, momentum: 0.9 },
      { averaging: 'swa' as const, warmup: true },
    ];
    for (const args of bad) expect(() => emaTeacher(student, args)).toThrow(TrainkitError);
    expect(() => emaTeacher(student, { updateEvery: 0 })).toThrow(/updateEvery must be an integer >= 1; received 0/);
    student.dispose();
  });
});
