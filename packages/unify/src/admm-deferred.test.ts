import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { expectTensorClose, seededArray, seededVariable } from '@trainkit/test-utils';
import { withHooks } from '@trainkit/core';
import { admmUnifyHook } from './admm';

// Stand in for webgpu in Node, where dataSync() does not work: the hook must defer its Z/U updates.
vi.mock('@trainkit/core', async (importOriginal) => ({ ...(await importOriginal<typeof import('@trainkit/core')>()), canReadSync: () => false }));

const ARGS = { blockSize: 4, pruneRatio: 0.25, unifyRatio: 0.5, rho: 0.5 } as const;

function toy(tag: string) {
  const w = seededVariable(1, [8, 6], `admmd_w_${tag}`);
  const t = tf.tensor(seededArray(3, 48), [8, 6]);
  const loss = () => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(w, t)))) as tf.Scalar);
  return { w, loss, dispose: () => tf.dispose([w, t]) };
}

describe('AdmmUnifyHook without synchronous readback', () => {
  it('a deferred Z/U update (read back between steps) gives the same trajectory as running it at once', async () => {
    const a = toy('a');
    const b = toy('b');
    const deferred = admmUnifyHook({ params: [a.w], ...ARGS, updateEvery: 2 });
    const manual = admmUnifyHook({ params: [b.w], ...ARGS, updateEvery: 1_000_000 });
    const optA = withHooks(tf.train.sgd(0.1), deferred);
    const optB = withHooks(tf.train.sgd(0.1), manual);
    for (let step = 1; step <= 5; step++) {
      const la = optA.minimize(a.loss, true)!;
      await la.data(); // the trainer's await between steps lets the read-back finish
      la.dispose();
      optB.minimize(b.loss);
      if (step % 2 === 0) manual.zuStep(step);
    }
    await deferred.settle(); // applies the update due after step 4 (no step came after it)
    expect(deferred.residuals.map((r) => r.step)).toEqual([2, 4]);
    expect(deferred.residuals.map((r) => r.primal)).toEqual(manual.residuals.map((r) => r.primal)); // same backend, same ops
    expectTensorClose(a.w, b.w, { atol: 0, rtol: 0 });
    const [za, ua] = deferred.getWeights().slice(1).map((n) => n.tensor);
    const [zb, ub] = manual.getWeights().slice(1).map((n) => n.tensor);
    expectTensorClose(za!, zb!, { atol: 0, rtol: 0 });
    expectTensorClose(ua!, ub!, { atol: 0, rtol: 0 });
    optA.dispose();
    optB.dispose();
    a.dispose();
    b.dispose();
  });

  it('disposing with an update still pending frees its snapshot', () => {
    const a = toy('c');
    const opt = withHooks(tf.train.sgd(0.1), admmUnifyHook({ params: [a.w], ...ARGS, updateEvery: 1 }));
    opt.minimize(a.loss); // Z/U update due: W snapshotted, read-back started
    opt.dispose(); // the leak check after the test counts the snapshot
    a.dispose();
  });
});
