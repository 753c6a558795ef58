import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { canReadSync, readBack } from './index';

describe('canReadSync / readBack', () => {
  it('cpu reads synchronously; readBack leaves the tensors intact and readable', async () => {
    expect(tf.getBackend()).toBe('cpu');
    expect(canReadSync()).toBe(true);
    const a = tf.tensor([1, -2, 3]);
    const v = tf.tidy(() => tf.variable(tf.zeros([2])));
    await readBack([a, v]);
    expect(a.isDisposed).toBe(false);
    expect(Array.from(a.dataSync())).toEqual([1, -2, 3]); // exact small integers
    expect(Array.from(v.dataSync())).toEqual([0, 0]);
    tf.dispose([a, v]);
  });
});
