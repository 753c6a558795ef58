import * as tf from '@tensorflow/tfjs';
import { useBackend } from '@trainkit/backend';

// Fastest available: tfjs-node-gpu > tfjs-node > webgpu > webgl > wasm (+ trainkit kernels) > cpu.
// Each is optional: with only @tensorflow/tfjs installed this runs on cpu.
const info = await useBackend('auto');
const x = tf.ones([1, 5, 5, 1]);
const dw = tf.grad((w) => tf.sum(tf.conv2d(x, w, 1, 'same')))(tf.zeros([3, 3, 1, 2]));
console.log(`backend ${info.name} (${info.device}, ${info.trainingKernels} kernels): filter gradient sum ${(await tf.sum(dw).data())[0]}`);
