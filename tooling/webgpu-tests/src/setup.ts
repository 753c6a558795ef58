import '@tensorflow/tfjs';
import { afterEach, beforeEach, expect } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { useBackend } from '@trainkit/backend';

// Fails the file (and so the CI run) when webgpu is unavailable: these tests exist to run on it.
tf.env().set('IS_TEST', true);
await useBackend('webgpu');
await tf.setBackend('cpu'); // load cpu too, so tests can switch
await tf.setBackend('webgpu');

let baseline = 0;
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(async () => {
  await tf.setBackend('webgpu');
  expect(tf.memory().numTensors, 'tensors leaked by this test (tf.memory().numTensors)').toBe(baseline);
});
