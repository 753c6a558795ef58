// Pages that check one behaviour each: a bundle without wasm, and missing .wasm files.
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { useBackend } from '@trainkit/backend';

const results = [];
window.__results = results;
async function check(name, fn) {
  try {
    results.push({ name, ok: true, detail: (await fn()) ?? '' });
  } catch (err) {
    results.push({ name, ok: false, detail: String(err?.stack ?? err).split('\n').slice(0, 3).join(' | ') });
  }
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}
async function rejection(p) {
  const err = await p.then(() => undefined, (e) => e);
  expect(err?.name === 'TrainkitError', `expected a TrainkitError, got ${err}`);
  return err;
}

await check('wasmPaths without wasmModule in a bundle → INVALID_ARGUMENT naming wasmModule', async () => {
  const err = await rejection(useBackend('wasm', { wasmPaths: '/wasm/' }));
  expect(err.code === 'INVALID_ARGUMENT' && err.argument === 'wasmModule', `${err.code} ${err.argument}: ${err.message}`);
  return err.message;
});

await check('missing .wasm files → BACKEND_UNAVAILABLE naming the URL that failed', async () => {
  const err = await rejection(useBackend('wasm', { wasmModule: wasm, wasmPaths: '/nowhere/' }));
  const url = `${location.origin}/nowhere/tfjs-backend-wasm-simd.wasm (HTTP 404`;
  expect(err.code === 'BACKEND_UNAVAILABLE' && err.argument === 'wasmPaths' && err.message.includes(url), `${err.code} ${err.argument}: ${err.message}`);
  expect(tf.getBackend() !== 'wasm', `backend is ${tf.getBackend()}`);
  return err.message;
});
window.__done = true;
