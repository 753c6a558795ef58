import * as tf from '@tensorflow/tfjs';
import { compressionStats, encodeUnified, unifyProjection } from '@trainkit/unify';

const kernel = tf.variable(tf.randomNormal([3, 3, 16, 32], 0, 0.1, 'float32', 7));
const { weights, plan } = unifyProjection(kernel, { blockSize: 4, pruneRatio: 0.5, unifyRatio: 0.4 });
kernel.assign(weights);
const bytes = encodeUnified([kernel], plan);
const { ratio } = compressionStats([kernel], plan);
console.log(`${plan.numBlocks} blocks: ${plan.pruneCount} pruned, ${plan.unifyCount} unified; ${bytes.byteLength} bytes, ${ratio.toFixed(2)}x smaller`);
