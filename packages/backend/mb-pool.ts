import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { initNodeWasmThreads } from './src/node-threads';
import { simdPoolReady, setSimdPoolDisabled, simdPool } from './src/internal/simd';
const n = await initNodeWasmThreads(2);
await tf.setBackend('wasm');
const be = tf.backend();
console.log('threads', n, 'pool', await simdPoolReady(be));
const shapes: Array<[number, number, number, number, number]> = [[32, 32, 16, 16, 1], [16, 16, 32, 32, 1], [8, 8, 64, 64, 1], [32,32,16,32,2]];
for (const [h, w, ci, co, s] of shapes) {
  const x = tf.randomNormal([128, h, w, ci]);
  const dy = tf.randomNormal([128, h / s, w / s, co]);
  for (const off of [true, false, true, false]) {
    setSimdPoolDisabled(off);
    const t: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      const g = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [s, s], pad: 'same', filterShape: [3, 3, ci, co], dataFormat: 'NHWC' }) as tf.Tensor;
      g.dataSync();
      t.push(performance.now() - t0);
      g.dispose();
    }
    t.sort((a, b) => a - b);
    console.log(`${h}x${w}x${ci}->${co} s${s} pool ${off ? 'off' : 'on '} ${t[2]!.toFixed(1)} ms  (pool obj ${simdPool(be) != null})`);
  }
  tf.dispose([x, dy]);
}
