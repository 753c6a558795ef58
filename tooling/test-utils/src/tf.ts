import * as tf from '@tensorflow/tfjs';

let ready: Promise<string> | undefined;

/**
 * Loads tfjs with the cpu backend and all gradients (the tfjs-core CJS entry registers none), selects the backend
 * named by `TFJS_BACKEND` (default `cpu`) and sets `IS_TEST` (silences the tfjs-node banner). Idempotent.
 *
 * @returns the active backend name
 */
export function setupTf(): Promise<string> {
  ready ??= (async () => {
    tf.env().set('IS_TEST', true);
    const name = process.env['TFJS_BACKEND'] ?? 'cpu';
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`TFJS_BACKEND=${name} could not be initialised`);
    await tf.ready();
    return tf.getBackend();
  })();
  return ready;
}

export { tf };
