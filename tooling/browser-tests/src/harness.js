// Runs in the page: checks useBackend('auto'), selects the page's backend, runs every training case on it and on
// cpu, then each package's README example. Results go to window.__results; window.__done ends the page.
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { useBackend } from '@trainkit/backend';
import { canReadSync } from '@trainkit/core';
import { TRAINING, maxAbs } from './cases.js';
import { README } from './readme-lines.js';

// Each README example (copied in as readme-<pkg>.gen.js by run.mjs) runs when imported. Literal specifiers, so that
// esbuild, vite and webpack all split each one into a chunk that loads only when its case runs.
const EXAMPLES = {
  core: () => import('./readme-core.gen.js'),
  lawn: () => import('./readme-lawn.gen.js'),
  prune: () => import('./readme-prune.gen.js'),
  eman: () => import('./readme-eman.gen.js'),
  unify: () => import('./readme-unify.gen.js'),
  afan: () => import('./readme-afan.gen.js'),
  mimicnorm: () => import('./readme-mimicnorm.gen.js'),
  backend: () => import('./readme-backend.gen.js'),
};

const q = new URLSearchParams(location.search);
const backend = q.get('backend');
const threads = q.has('threads') ? Number(q.get('threads')) : undefined;
const only = q.get('only');
const results = [];
window.__results = results;
window.__tf = tf; // for debugging from the runner
window.__wasm = wasm;

// setup=0: the auto and selection checks still run but are recorded only when they fail (one page per case).
const quietSetup = q.get('setup') === '0';
async function check(name, fn, setup = false) {
  const t0 = performance.now();
  try {
    const detail = await fn();
    if (!(setup && quietSetup)) results.push({ name, ok: true, detail: detail ?? '', ms: Math.round(performance.now() - t0) });
  } catch (err) {
    results.push({ name, ok: false, detail: String(err?.stack ?? err).split('\n').slice(0, 3).join(' | '), ms: Math.round(performance.now() - t0) });
  }
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

const wasmOpts = { wasmModule: wasm, wasmPaths: '/wasm/', threads };
const isolated = globalThis.crossOriginIsolated === true;
// tfjs runs min(threads, hardwareConcurrency / 2, 8) wasm threads.
const expectedThreads = threads == null || !isolated ? 1 : Math.min(threads, Math.max(1, Math.floor(navigator.hardwareConcurrency / 2)), 8);

await check('auto picks wasm over the software GPU adapters', async () => {
  // isolated=1: the server is meant to send COOP/COEP (e.g. vite's dev server from the recipe's server.headers).
  expect(q.get('isolated') !== '1' || isolated, 'the page is not cross-origin isolated: its COOP/COEP headers are missing');
  const info = await useBackend('auto', wasmOpts);
  expect(info.name === 'wasm' && info.device === 'cpu', `picked ${info.name}`);
  const webgpu = info.skipped.find((l) => l.startsWith('skip webgpu'));
  const webgl = info.skipped.find((l) => l.startsWith('skip webgl'));
  expect(/^skip webgpu: software adapter \(isFallbackAdapter/.test(webgpu ?? ''), `webgpu line: ${webgpu}`);
  expect(/^skip webgl: software adapter \(SwiftShader: ANGLE/.test(webgl ?? ''), `webgl line: ${webgl}`);
  if (threads != null && isolated) {
    expect(info.threads === expectedThreads, `threads ${info.threads}, expected ${expectedThreads}`);
    const capped = info.warnings.some((w) => w.startsWith(`threads: ${threads} requested, tfjs runs ${expectedThreads} (it caps`));
    expect(expectedThreads === threads ? info.warnings.length === 0 : capped, `warnings ${info.warnings}`);
  }
  if (threads != null && !isolated) {
    expect(info.threads === 1, `threads ${info.threads}`);
    expect(info.warnings.some((w) => w.startsWith(`threads: ${threads} ignored: the page is not cross-origin isolated`)), `warnings ${info.warnings}`);
  }
  return `${info.name}, ${info.threads} thread(s); ${info.skipped.length} skipped`;
}, true);

await check(`useBackend('${backend}')`, async () => {
  const info = await useBackend(backend, wasmOpts);
  expect(info.name === backend && tf.getBackend() === backend, `got ${info.name}`);
  expect(info.device === 'cpu', `device ${info.device} on SwiftShader/wasm`);
  if (backend === 'webgl') expect(/SwiftShader/.test(info.adapter?.renderer ?? '') && info.adapter?.software === 'SwiftShader', JSON.stringify(info.adapter));
  if (backend === 'webgpu') {
    tf.backend().device.lost.then((i) => results.push({ name: 'webgpu device lost', ok: false, detail: `${i.reason}: ${i.message}` }));
  }
  if (backend === 'webgpu') expect(info.adapter?.isFallbackAdapter === true && info.adapter?.architecture === 'swiftshader', JSON.stringify(info.adapter));
  // webgpu's synchronous readback is broken here (see cases.js): the libraries must take their asynchronous paths.
  expect(canReadSync() === (backend !== 'webgpu'), `canReadSync() is ${canReadSync()} on ${backend}`);
  if (backend === 'wasm') expect(info.trainingKernels === 'trainkit' && info.threads === expectedThreads, `threads ${info.threads}`);
  return JSON.stringify(info.adapter ?? { threads: info.threads });
}, true);

const float16 = backend === 'webgl' && !tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
const tol = float16 ? 1e-1 : 1e-3; // STYLE.md: across backends 1e-3 (1e-1 on 16-bit backends)
const close = (a, b) => a.every((v, i) => Math.abs(v - b[i]) <= tol + tol * Math.abs(b[i]));

for (const [name, run] of Object.entries(TRAINING)) {
  if (only && !only.split(',').includes(name)) continue;
  await check(`train ${name}`, async () => {
    tf.engine().startScope();
    try {
      await tf.setBackend(backend);
      const got = await run();
      await tf.setBackend('cpu');
      const ref = await run();
      await tf.setBackend(backend);
      expect(got.invariant === '', `invariant on ${backend}: ${got.invariant}`);
      expect(ref.invariant === '', `invariant on cpu: ${ref.invariant}`);
      expect(close(got.losses, ref.losses), `losses ${got.losses} vs cpu ${ref.losses}`);
      const worst = Math.max(...got.weights.map((w, i) => maxAbs(w, ref.weights[i])));
      expect(got.weights.every((w, i) => close(w, ref.weights[i])), `weights differ from cpu by up to ${worst}`);
      return `loss ${got.losses.at(-1).toFixed(4)}, max |w - w_cpu| ${worst.toExponential(1)}`;
    } finally {
      tf.engine().endScope();
    }
  });
}

for (const [pkg, line] of Object.entries(README)) {
  if (only && !only.split(',').includes(`readme-${pkg}`)) continue;
  await check(`README ${pkg}`, async () => {
    await tf.setBackend(backend);
    const out = [];
    const log = console.log;
    console.log = (...a) => { out.push(a.join(' ')); log(...a); };
    try {
      await EXAMPLES[pkg]();
    } finally {
      console.log = log;
    }
    const text = out.join('\n');
    expect(line.test(text), `printed ${JSON.stringify(text)}, expected ${line}`);
    return `${text} (on ${pkg === 'backend' ? tf.getBackend() : backend})`;
  });
}
if (backend === 'webgpu') {
  // A lost device is reported asynchronously: give it time, then make one round trip, so a case that broke the device
  // is caught on its own page.
  await new Promise((r) => setTimeout(r, 1000));
  await check('webgpu device alive after the cases', async () => {
    // 1600 values: above tfjs-webgpu's CPU hand-off size, so this runs on the GPU (a tiny op would run on the CPU).
    const t = tf.tidy(() => tf.matMul(tf.ones([40, 40]), tf.ones([40, 40])));
    const v = await t.data();
    t.dispose();
    expect(v.length === 1600 && v.every((x) => x === 40), `read back ${v.slice(0, 4)}…`);
  }, true);
}
window.__done = true;
