import { describe, expect, it, vi } from 'vitest';
import { seededData, tf } from '@trainkit/test-utils';
import { TrainkitError, registerCoreSerializables, withHooks, type HookedOptimizer } from '@trainkit/core';
import { bindMasks, weightKey } from './binding';
import { MaskHook, maskHook, registerPruneSerializables } from './hook';
import { disposeMasks, magnitudeMasks, sparsityOf, applyMasks } from './mask';

function model(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 8, activation: 'relu', name: 'hidden', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

async function saveWithOptimizer(m: tf.LayersModel, opt: tf.Optimizer): Promise<tf.io.ModelArtifacts> {
  const handedOut: tf.Tensor[] = []; // tfjs-layers' save does not dispose the optimizer weights it asks for (tfjs#8238)
  const getWeights = opt.getWeights.bind(opt);
  const spy = vi.spyOn(opt, 'getWeights').mockImplementation(async () => {
    const w = await getWeights();
    handedOut.push(...w.map((t) => t.tensor));
    return w;
  });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await m.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
  spy.mockRestore();
  tf.dispose(handedOut);
  return artifacts!;
}

describe('masks bind by layer and weight name', () => {
  it('weightKey strips tfjs de-duplication suffixes only', () => {
    expect(weightKey('hidden/kernel_3')).toBe('hidden/kernel');
    expect(weightKey('block_1/kernel')).toBe('block_1/kernel');
  });

  it('save with includeOptimizer → load in the same process → fit: sparsity unchanged, exactly', async () => {
    registerCoreSerializables();
    registerPruneSerializables();
    const { x, y } = seededData(3, 16, 6, 3);
    const m = model();
    const masks = magnitudeMasks(m, { sparsity: 0.75 });
    applyMasks(m, masks);
    const opt = withHooks(tf.train.adam(0.05), maskHook(masks));
    m.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    await m.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    const artifacts = await saveWithOptimizer(m, opt);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.trainableWeights.map((w) => (w.read() as tf.Variable).name).some((n) => /_\d+$/.test(n))).toBe(true);
    const before = sparsityOf(loaded);
    expect(before.sparsity).toBe(sparsityOf(m).sparsity);
    await loaded.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    const after = sparsityOf(loaded);
    expect(after.layers.map((l) => l.zeros)).toEqual(before.layers.map((l) => l.zeros));
    expect(after.sparsity).toBe(Math.round(0.75 * 48) / 48 * (48 / 72) + Math.round(0.75 * 24) / 72);
    // The hook followed the loaded variables; the original model's weights did not move.
    const lhook = (loaded.optimizer as HookedOptimizer).hook<MaskHook>('prune')!;
    expect([...lhook.boundVariableNames.values()]).toEqual(loaded.trainableWeights.map((w) => (w.read() as tf.Variable).name).filter((n) => n.includes('/kernel')));
    disposeMasks(masks);
    tf.dispose([x, y]);
    opt.dispose();
    (loaded.optimizer as HookedOptimizer).dispose();
    m.dispose();
    loaded.dispose();
  });

  it('hook.bind(model) and bindMasks(model, masks) re-key masks onto a fresh copy of the model', async () => {
    const a = model();
    const masks = magnitudeMasks(a, { sparsity: 0.5 });
    const b = model(); // hidden/kernel_N, out/kernel_N
    b.setWeights(a.getWeights());
    const rekeyed = bindMasks(b, masks);
    expect([...rekeyed.keys()]).toEqual(b.trainableWeights.map((w) => (w.read() as tf.Variable).name).filter((n) => n.includes('/kernel')));
    const hook = maskHook(masks);
    hook.bind(b);
    hook.apply();
    expect(sparsityOf(b).sparsity).toBe(0.5);
    expect(sparsityOf(a).sparsity).toBe(0);
    const other = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 8, name: 'elsewhere' })] });
    expect(() => bindMasks(other, masks)).toThrow(TrainkitError);
    expect(() => hook.bind(other)).toThrow(/hidden\/kernel/);
    hook.dispose();
    disposeMasks(masks);
    disposeMasks(rekeyed);
    for (const mm of [a, b, other]) mm.dispose();
  });
});
