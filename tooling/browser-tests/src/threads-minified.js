// A minified (vite) bundle asks for wasm threads on an isolated page: tfjs's workers die at start-up, and useBackend
// must fail fast naming the cause (not hang), then leave tfjs usable on another backend.
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { useBackend } from '@trainkit/backend';

const results = [];
window.__results = results;
async function check(name, fn) {
  const t0 = performance.now();
  try {
    results.push({ name, ok: true, detail: (await fn()) ?? '', ms: performance.now() - t0 });
  } catch (err) {
    results.push({ name, ok: false, detail: String(err?.stack ?? err).split('\n').slice(0, 3).join(' | '), ms: performance.now() - t0 });
  }
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

await check('threads in a minified bundle → BACKEND_UNAVAILABLE naming threads and minification, within 60 s', async () => {
  expect(crossOriginIsolated, 'the page is not cross-origin isolated');
  const hang = new Promise((resolve) => setTimeout(() => resolve(new Error('useBackend still pending after 90 s')), 90_000));
  const err = await Promise.race([useBackend('wasm', { wasmModule: wasm, wasmPaths: '/wasm/', threads: 2 }).then(() => undefined, (e) => e), hang]);
  expect(err?.name === 'TrainkitError', `expected a TrainkitError, got ${err}`);
  expect(err.code === 'BACKEND_UNAVAILABLE' && err.argument === 'threads', `${err.code} ${err.argument}: ${err.message}`);
  expect(/worker thread threw/.test(err.message) && /minif/.test(err.message) && !/Install:/.test(err.message), err.message);
  return err.message;
});

await check('after it, auto picks another backend and tfjs computes', async () => {
  const info = await useBackend('auto');
  expect(info.name !== 'wasm' && tf.getBackend() === info.tfjsName, `${info.name} / ${tf.getBackend()}`);
  expect(info.skipped.some((l) => l.startsWith('skip wasm: ') && /minif/.test(l)), info.skipped.join(' | '));
  const sum = (await tf.sum(tf.range(0, 2000)).data())[0];
  expect(sum === 1999000, `sum ${sum}`);
  return `${info.name}; ${info.skipped.find((l) => l.startsWith('skip wasm'))?.slice(0, 120)}`;
});
window.__done = true;
