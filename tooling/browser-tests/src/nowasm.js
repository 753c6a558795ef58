// A bundle with only @tensorflow/tfjs (webgl + cpu): auto must not land on cpu.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '@trainkit/backend';

const results = [];
window.__results = results;
try {
  const info = await useBackend('auto');
  const wasmLine = info.skipped.find((l) => l.startsWith('skip wasm')) ?? '';
  const ok = info.name === 'webgl' && info.device === 'cpu' && tf.getBackend() === 'webgl' &&
    /^skip wasm: @tensorflow\/tfjs-backend-wasm is not in this bundle: import it in the app/.test(wasmLine) &&
    info.skipped.some((l) => l.startsWith('skip webgl: software adapter')) && info.skipped.some((l) => /^skip webgpu: @tensorflow\/tfjs-backend-webgpu is not in this bundle|^skip webgpu: software adapter/.test(l));
  results.push({ name: "auto without wasm in the bundle picks the software webgl over cpu", ok, detail: `${info.name}; ${info.skipped.join(' / ')}` });
} catch (err) {
  results.push({ name: 'auto without wasm in the bundle picks the software webgl over cpu', ok: false, detail: String(err) });
}
window.__done = true;
