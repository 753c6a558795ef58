import { afterEach, beforeEach, expect } from 'vitest';
import { setupTf, tf } from './tf';

await setupTf();

let baseline = 0;
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked by this test (tf.memory().numTensors)').toBe(baseline);
});
