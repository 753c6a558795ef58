import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectNoLeak, expectTensorClose, seededArray, seededRandom } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { BlockState, assignBlocks } from './assign';
import { blockView } from './blocks';
import { blockCosts, blockCounts, unifyProjection } from './projection';

/** Brute force: the minimum of Σ_P p + Σ_U e over all assignments with |P| = nP, |U| = nU (3^B of them). */
function bruteForce(p: number[], e: number[], nP: number, nU: number): number {
  const B = p.length;
  let best = Infinity;
  const labels = new Array<number>(B).fill(0);
  const rec = (b: number, np: number, nu: number, cost: number): void => {
    if (np > nP || nu > nU) return;
    if (b === B) {
      if (np === nP && nu === nU) best = Math.min(best, cost);
      return;
    }
    for (const s of [0, 1, 2]) {
      labels[b] = s;
      rec(b + 1, np + (s === 2 ? 1 : 0), nu + (s === 1 ? 1 : 0), cost + (s === 2 ? p[b]! : s === 1 ? e[b]! : 0));
    }
  };
  rec(0, 0, 0, 0);
  return best;
}

/** The spec §3 greedy: prune the nP smallest ‖w‖², then unify the nU smallest e among the rest. */
function greedy(p: number[], e: number[], nP: number, nU: number): number {
  const idx = p.map((_, i) => i);
  const P = [...idx].sort((a, b) => p[a]! - p[b]! || a - b).slice(0, nP);
  const rest = idx.filter((i) => !P.includes(i)).sort((a, b) => e[a]! - e[b]! || a - b).slice(0, nU);
  return P.reduce((s, i) => s + p[i]!, 0) + rest.reduce((s, i) => s + e[i]!, 0);
}

function sqErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

describe('unification of one block (spec §2)', () => {
  it('gives every weight the mean magnitude with its own sign, at the closed-form error', () => {
    const w = tf.tensor2d([0.5, -1, 0, 2], [4, 1]); // dense [in=4, out=1]: one (1,4,1) block
    const { weights, plan } = unifyProjection(w, { blockSize: 4, pruneRatio: 0, unifyRatio: 1 });
    // a = (0.5 + 1 + 0 + 2) / 4 = 0.875; sign(0) := +1
    expectTensorClose(weights, [0.875, -0.875, 0.875, 0.875]);
    // e = ‖w‖² − g·a² = 5.25 − 4·0.765625 = 2.1875
    expect(plan.cost).toBeCloseTo(2.1875, 10);
    expect(sqErr(weights.dataSync(), w.dataSync())).toBeCloseTo(2.1875, 6);
    // the L1 norm is preserved: Σ|ŵ| = Σ|w| = 3.5
    expect(Array.from(weights.dataSync()).reduce((a, x) => a + Math.abs(x), 0)).toBeCloseTo(3.5, 6);
    expect(plan.unifyCount).toBe(1);
    expect(plan.magnitudes[0]).toBe(0.875);
    expect(Array.from(plan.signs)).toEqual([1, -1, 1, 1]);
    tf.dispose([w, weights]);
  });

  it('beats every other shared magnitude and sign pattern (brute force, g = 4)', () => {
    const r = seededRandom(3);
    for (let trial = 0; trial < 8; trial++) {
      const w = Array.from({ length: 4 }, () => r() * 4 - 2);
      const e = blockCosts(w, blockView([4, 1], { blockSize: 4 })).unify[0]!;
      for (let s = 0; s < 16; s++) {
        for (let a = 0; a <= 2.5; a += 0.02) {
          let err = 0;
          for (let j = 0; j < 4; j++) err += (w[j]! - ((s >> j) & 1 ? -a : a)) ** 2;
          expect(err).toBeGreaterThanOrEqual(e - 1e-12);
        }
      }
    }
  });

  it('leaves a block whose magnitudes are already equal unchanged (e = 0)', () => {
    const w = tf.tensor2d([0.3, -0.3, -0.3, 0.3], [4, 1]);
    const { weights, plan } = unifyProjection(w, { blockSize: 4, pruneRatio: 0, unifyRatio: 1 });
    expect(Array.from(weights.dataSync())).toEqual(Array.from(w.dataSync()));
    expect(plan.cost).toBeLessThan(1e-14);
    tf.dispose([w, weights]);
  });
});

describe('assignBlocks: exact minimum-cost selection', () => {
  it('matches brute force over all assignments for every count pair on random block layers', () => {
    const r = seededRandom(11);
    for (let trial = 0; trial < 60; trial++) {
      const B = 1 + Math.floor(r() * 8);
      const g = [1, 2, 4][trial % 3]!;
      const vals = Array.from({ length: B * g }, () => (r() * 2 - 1) * (r() < 0.3 ? 3 : 1));
      const { prune, unify } = blockCosts(vals, blockView([g, B], { blockSize: g }));
      for (let nP = 0; nP <= B; nP++) {
        for (let nU = 0; nP + nU <= B; nU++) {
          const got = assignBlocks(prune, unify, nP, nU);
          const want = bruteForce(Array.from(prune), Array.from(unify), nP, nU);
          expect(got.cost).toBeCloseTo(want, 10);
          // exact counts, and the reported cost is the cost of the returned states
          const states = Array.from(got.states);
          expect(states.filter((s) => s === BlockState.prune).length).toBe(nP);
          expect(states.filter((s) => s === BlockState.unify).length).toBe(nU);
          const recomputed = states.reduce((s, st, b) => s + (st === 2 ? prune[b]! : st === 1 ? unify[b]! : 0), 0);
          expect(recomputed).toBeCloseTo(got.cost, 10);
        }
      }
    }
  });

  it('is exact for arbitrary costs too (not only p >= e), with ties', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 7 }),
        fc.nat(),
        fc.nat(),
        (costs, a, b) => {
          const p = costs.map((c) => c[0]);
          const e = costs.map((c) => c[1]);
          const nP = a % (p.length + 1);
          const nU = b % (p.length - nP + 1);
          expect(assignBlocks(p, e, nP, nU).cost).toBe(bruteForce(p, e, nP, nU));
        },
      ),
      { seed: 42, numRuns: 50 },
    );
  });

  it('beats the greedy prune-first order where a cheap-to-zero block is cheaper still to unify', () => {
    // A = 0.49·[1,1,1,1]: p = 0.9604, e = 0.  B = [1,0,0,0]: p = 1, e = 1 − 4·0.25² = 0.75.
    // Greedy prunes A (0.9604) and unifies B (0.75) = 1.7104; optimal prunes B (1) and unifies A (0) = 1.
    const vals = [0.49, 0.49, 0.49, 0.49, 1, 0, 0, 0];
    const { prune, unify } = blockCosts(vals, blockView([4, 2], { blockSize: 4, along: 'in' }));
    // dense [in=4, out=2]: block 0 is column o=0 = indices 0,2,4,6
    const colA = [0.49, 0.49, 0.49, 0.49];
    const colB = [1, 0, 0, 0];
    const kernel = tf.tensor2d([colA[0]!, colB[0]!, colA[1]!, colB[1]!, colA[2]!, colB[2]!, colA[3]!, colB[3]!], [4, 2]);
    const { weights, plan } = unifyProjection(kernel, { blockSize: 4, pruneRatio: 0.5, unifyRatio: 0.5 });
    expect(Array.from(plan.states)).toEqual([BlockState.unify, BlockState.prune]);
    expect(plan.cost).toBeCloseTo(1, 6);
    const c = blockCosts(kernel.dataSync(), blockView([4, 2], { blockSize: 4 }));
    expect(greedy(Array.from(c.prune), Array.from(c.unify), 1, 1)).toBeCloseTo(1.7104, 5);
    expect(prune.length).toBe(2);
    expect(unify.length).toBe(2);
    tf.dispose([kernel, weights]);
  });

  // Speed is measured in the bench, not asserted here (timings on a shared 2-core machine are noise).
  it('solves a layer with 10^5 blocks with exact counts and a consistent cost', () => {
    const B = 100_000;
    const r = seededRandom(5);
    const p = new Float64Array(B);
    const e = new Float64Array(B);
    for (let b = 0; b < B; b++) {
      p[b] = r() * 4;
      e[b] = p[b]! * r();
    }
    const { states, cost } = assignBlocks(p, e, 40_000, 45_000);
    expect(states.filter((s) => s === 2).length).toBe(40_000);
    expect(states.filter((s) => s === 1).length).toBe(45_000);
    let sum = 0;
    for (let b = 0; b < B; b++) sum += states[b] === 2 ? p[b]! : states[b] === 1 ? e[b]! : 0;
    expect(cost).toBeCloseTo(sum, 6);
  });
});

describe('unifyProjection (Π_S)', () => {
  const shape = [3, 3, 10, 6]; // in = 10: the last 2 input channels are edge elements for (1,4,1)
  const values = seededArray(21, 3 * 3 * 10 * 6, -1, 1);

  it('has exact counts, zero / unified blocks as planned, untouched edges, and error = cost', () => {
    const kernel = tf.tensor4d(values, shape as [number, number, number, number]);
    const v = blockView(shape);
    for (const [rp, ru] of [
      [0.3, 0.5],
      [0, 0.7],
      [0.6, 0],
      [0.5, 0.5],
    ] as const) {
      const { weights, plan } = unifyProjection(kernel, { pruneRatio: rp, unifyRatio: ru });
      const w = weights.dataSync();
      const { numPrune, numUnify } = blockCounts(v.numBlocks, rp, ru);
      expect(plan.pruneCount).toBe(numPrune);
      expect(plan.unifyCount).toBe(numUnify);
      expect(numPrune).toBe(Math.round(rp * v.numBlocks));
      let zeros = 0;
      let unified = 0;
      const inBlock = new Uint8Array(values.length);
      for (let b = 0; b < v.numBlocks; b++) {
        const idx = Array.from(v.indices.subarray(b * 4, b * 4 + 4));
        for (const i of idx) inBlock[i] = 1;
        const mags = idx.map((i) => Math.abs(w[i]!));
        if (plan.states[b] === BlockState.prune) {
          expect(mags).toEqual([0, 0, 0, 0]);
          zeros++;
        } else if (plan.states[b] === BlockState.unify) {
          expect(new Set(mags).size).toBe(1);
          for (const i of idx) expect(Math.sign(w[i]!) || 1).toBe(values[i]! < 0 ? -1 : 1);
          unified++;
        } else {
          for (const i of idx) expect(w[i]).toBe(values[i]);
        }
      }
      expect(zeros).toBe(numPrune);
      expect(unified).toBe(numUnify);
      for (let i = 0; i < values.length; i++) if (!inBlock[i]) expect(w[i]).toBe(values[i]);
      expect(sqErr(w, values)).toBeCloseTo(plan.cost, 4);
      weights.dispose();
    }
    kernel.dispose();
  });

  it('is the exact projection: no other assignment with the same counts is closer (brute force, small layer)', () => {
    const vals = seededArray(8, 4 * 6, -1, 1); // dense [in=4, out=6]: 6 blocks of (1,4,1)
    const kernel = tf.tensor2d(vals, [4, 6]);
    const c = blockCosts(vals, blockView([4, 6]));
    for (let nP = 0; nP <= 6; nP++) {
      for (let nU = 0; nP + nU <= 6; nU++) {
        const { weights, plan } = unifyProjection(kernel, { pruneRatio: nP / 6, unifyRatio: nU / 6 });
        expect(sqErr(weights.dataSync(), vals)).toBeCloseTo(bruteForce(Array.from(c.prune), Array.from(c.unify), nP, nU), 5);
        expect(plan.cost).toBeCloseTo(bruteForce(Array.from(c.prune), Array.from(c.unify), nP, nU), 10);
        weights.dispose();
      }
    }
    kernel.dispose();
  });

  it('unify-only picks the n_u blocks of smallest unification error', () => {
    const kernel = tf.tensor4d(values, shape as [number, number, number, number]);
    const v = blockView(shape);
    const c = blockCosts(values, v);
    const { weights, plan } = unifyProjection(kernel, { pruneRatio: 0, unifyRatio: 0.25 });
    const chosen = Array.from(plan.states.keys()).filter((b) => plan.states[b] === BlockState.unify);
    const threshold = [...c.unify].sort((a, b) => a - b)[plan.unifyCount - 1]!;
    for (const b of chosen) expect(c.unify[b]!).toBeLessThanOrEqual(threshold);
    tf.dispose([kernel, weights]);
  });

  it('with blocks of one weight and no unification, equals unstructured magnitude pruning', () => {
    const kernel = tf.tensor2d(values.subarray(0, 60), [10, 6]);
    const { weights } = unifyProjection(kernel, { blockSize: 1, pruneRatio: 0.4, unifyRatio: 0 });
    const w = weights.dataSync();
    const order = Array.from(values.subarray(0, 60).keys()).sort((a, b) => Math.abs(values[a]!) - Math.abs(values[b]!));
    order.slice(0, 24).forEach((i) => expect(w[i]).toBe(0));
    order.slice(24).forEach((i) => expect(w[i]).toBe(values[i]));
    tf.dispose([kernel, weights]);
  });

  it('is idempotent, the identity at zero ratios, and the identity for size-1 blocks all unified', () => {
    const kernel = tf.tensor4d(values, shape as [number, number, number, number]);
    const once = unifyProjection(kernel, { pruneRatio: 0.3, unifyRatio: 0.4 });
    const twice = unifyProjection(once.weights, { pruneRatio: 0.3, unifyRatio: 0.4 });
    expect(Array.from(twice.weights.dataSync())).toEqual(Array.from(once.weights.dataSync()));
    expect(twice.plan.cost).toBe(0);
    const id = unifyProjection(kernel, { pruneRatio: 0, unifyRatio: 0 });
    expect(Array.from(id.weights.dataSync())).toEqual(Array.from(values));
    const ones = unifyProjection(kernel, { blockSize: 1, pruneRatio: 0, unifyRatio: 1 });
    expect(Array.from(ones.weights.dataSync())).toEqual(Array.from(values));
    tf.dispose([kernel, once.weights, twice.weights, id.weights, ones.weights]);
  });

  it('prunes an all-zero block first (it is both prunable and unifiable)', () => {
    const vals = [0, 0, 0, 0, 0.1, 0.1, 0.1, 0.1, 1, -2, 3, -4];
    // dense [in=4, out=3] with columns = blocks: build so that column o holds vals[4o..4o+3]
    const k = new Float32Array(12);
    for (let o = 0; o < 3; o++) for (let i = 0; i < 4; i++) k[i * 3 + o] = vals[4 * o + i]!;
    const kernel = tf.tensor2d(k, [4, 3]);
    const { weights, plan } = unifyProjection(kernel, { pruneRatio: 1 / 3, unifyRatio: 1 / 3 });
    expect(Array.from(plan.states)).toEqual([BlockState.prune, BlockState.unify, BlockState.keep]);
    tf.dispose([kernel, weights]);
  });

  it('rejects invalid ratios, NaN/Inf weights and block sizes that fit nowhere, naming the argument', () => {
    const kernel = tf.tensor2d(values.subarray(0, 24), [4, 6]);
    const bad: [number, number, RegExp][] = [
      [-0.1, 0.2, /pruneRatio must be/],
      [0.2, 1.5, /unifyRatio must be/],
      [0.6, 0.5, /pruneRatio \+ unifyRatio must be at most 1/],
      [Number.NaN, 0.2, /pruneRatio must be/],
    ];
    for (const [pruneRatio, unifyRatio, msg] of bad) {
      expect(() => unifyProjection(kernel, { pruneRatio, unifyRatio })).toThrowError(msg);
    }
    expect(() => unifyProjection(kernel, { blockSize: 8, pruneRatio: 0.5, unifyRatio: 0 })).toThrowError(/blockSize must be a block \[1,8,1\] that fits/);
    // no complete block but nothing asked for: the identity
    const id = unifyProjection(kernel, { blockSize: 8, pruneRatio: 0, unifyRatio: 0 });
    expect(Array.from(id.weights.dataSync())).toEqual(Array.from(kernel.dataSync()));
    const nan = tf.tensor2d([1, Number.NaN, 0, 1], [4, 1]);
    expect(() => unifyProjection(nan, { pruneRatio: 0, unifyRatio: 1 })).toThrowError(TrainkitError);
    expect(() => unifyProjection(nan, { pruneRatio: 0, unifyRatio: 1 })).toThrowError(/NaN or infinite/);
    tf.dispose([kernel, nan, id.weights]);
  });

  it('rounds counts as round(r·B) and never over-assigns', () => {
    expect(blockCounts(3, 0.5, 0.5)).toEqual({ numPrune: 2, numUnify: 1 });
    expect(blockCounts(10, 0.25, 0.35)).toEqual({ numPrune: 3, numUnify: 4 });
    expect(blockCounts(0, 0.5, 0.5)).toEqual({ numPrune: 0, numUnify: 0 });
  });

  it('leaks nothing: one new tensor, freed by the caller', async () => {
    const kernel = tf.tensor2d(values.subarray(0, 24), [4, 6]);
    await expectNoLeak(() => {
      const { weights } = unifyProjection(kernel, { pruneRatio: 0.3, unifyRatio: 0.3 });
      weights.dispose();
    });
    kernel.dispose();
  });
});
