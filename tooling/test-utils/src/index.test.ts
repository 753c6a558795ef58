import { describe, expect, it } from 'vitest';
import { errorCodeOf, expectNoLeak, expectTensorClose, finiteDiffGrad, seededData, tf } from './index';

describe('test-utils', () => {
  it('expectTensorClose fails outside tolerance and passes inside', () => {
    expectTensorClose([1, 2], [1 + 5e-6, 2]);
    expect(() => expectTensorClose([1, 2], [1.01, 2])).toThrow(/element 0/);
  });

  it('expectNoLeak catches a leaked tensor', async () => {
    let leaked: tf.Tensor | undefined;
    await expect(expectNoLeak(() => { leaked = tf.scalar(1); })).rejects.toThrow(/leaked/);
    leaked?.dispose();
  });

  it('seededData is deterministic for a seed', () => {
    const a = seededData(3, 8, 4);
    const b = seededData(3, 8, 4);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expectTensorClose(a.x, b.x, { atol: 0, rtol: 0 });
    tf.dispose([a.x, a.y, b.x, b.y]);
  });

  it('finiteDiffGrad matches the analytic gradient of sum(x^2)', () => {
    const x = tf.tensor1d([0.5, -1, 2]);
    const g = finiteDiffGrad((t) => tf.sum(tf.square(t)), x);
    expectTensorClose(g, [1, -2, 4], { atol: 1e-2, rtol: 1e-2 });
    x.dispose();
  });
});

describe('errorCodeOf', () => {
  it("returns a TrainkitError's code, undefined when nothing throws, and fails on any other error", () => {
    const tk = Object.assign(new Error('bad'), { name: 'TrainkitError', code: 'INVALID_ARGUMENT' });
    expect(errorCodeOf(() => {
      throw tk;
    })).toBe('INVALID_ARGUMENT');
    expect(errorCodeOf(() => 1)).toBeUndefined();
    expect(() => errorCodeOf(() => {
      throw new TypeError('cryptic');
    })).toThrow(/expected a TrainkitError, got: cryptic/);
  });
});
