import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainkitError } from '@trainkit/core';
import { describe, expect, it } from 'vitest';
import { channelStats, checkDataFor, loadExperimentData, resolveDataset, syntheticCifarBinary } from '../data';
import type { ExperimentDefinition, ProfileSettings, RunContext } from '../experiment';
import { planJobs } from '../runner';
import { experiments } from './index';
import { PAPER_OVERRIDES } from './paper';

/** Tiny official-layout CIFAR folders: CIFAR-10 with 30 records per batch file, CIFAR-100 with 2 per fine class. */
function cifarRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'trainkit-paper-'));
  const c10 = join(root, 'cifar-10-batches-bin');
  const c100 = join(root, 'cifar-100-binary');
  mkdirSync(c10);
  mkdirSync(c100);
  for (let b = 1; b <= 5; b++) writeFileSync(join(c10, `data_batch_${b}.bin`), syntheticCifarBinary(30, (i) => [(i + b) % 10]));
  writeFileSync(join(c10, 'test_batch.bin'), syntheticCifarBinary(20, (i) => [i % 10]));
  writeFileSync(join(c100, 'train.bin'), syntheticCifarBinary(200, (i) => [i % 20, i % 100]));
  writeFileSync(join(c100, 'test.bin'), syntheticCifarBinary(100, (i) => [i % 20, i % 100]));
  return root;
}

const byId = (id: string): ExperimentDefinition => experiments.find((e) => e.id === id) as ExperimentDefinition;

function ctxFor(e: ExperimentDefinition, armId: string, settings: ProfileSettings, dataDir: string): RunContext {
  const arm = e.arms(settings, 'paper').concat(e.arms(settings, 'gpu')).find((a) => a.id === armId);
  if (!arm) throw new Error(`${e.id} has no arm ${armId}`);
  return {
    experimentId: e.id,
    arm,
    seed: 1,
    profile: 'paper',
    settings,
    backend: { name: 'cpu', device: 'cpu', trainingKernels: 'native', threads: 1 },
    dataDir,
    log: () => {},
    progress: { start: () => {}, tick: () => {} },
  };
}

describe('CIFAR data for the experiments', () => {
  const root = cifarRoot();

  it('auto picks CIFAR-10 only when --data holds it; CIFAR profiles refuse to start without it, naming --data', () => {
    expect(resolveDataset({ dataset: 'auto' }, root)).toBe('cifar-10');
    expect(resolveDataset({ dataset: 'auto' }, join(root, 'cifar-10-batches-bin'))).toBe('cifar-10');
    const empty = mkdtempSync(join(tmpdir(), 'trainkit-nocifar-'));
    expect(resolveDataset({ dataset: 'auto' }, empty)).toBe('fashion-mnist');
    expect(resolveDataset({}, root)).toBe('fashion-mnist');
    const saved = process.env['TRAINKIT_DATA'];
    delete process.env['TRAINKIT_DATA'];
    try {
      expect(resolveDataset({ dataset: 'auto' }, undefined)).toBe('fashion-mnist');
      expect(() => checkDataFor({ dataset: 'cifar-100' }, undefined, 'mimicnorm --profile paper')).toThrow(/mimicnorm --profile paper trains on cifar-100: pass --data DIR, a folder holding cifar-100-binary/);
    } finally {
      if (saved !== undefined) process.env['TRAINKIT_DATA'] = saved;
    }
    let err: unknown;
    try {
      checkDataFor({ dataset: 'cifar-10' }, empty, 'prune --profile paper');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainkitError);
    expect(err).toMatchObject({ code: 'BAD_FILE', argument: '--data' });
    expect((err as Error).message).toMatch(/--data .* lacks cifar-10-batches-bin \(data_batch_1\.bin/);
    expect(() => checkDataFor({ dataset: 'cifar-10' }, root, 'x')).not.toThrow();
    expect(() => checkDataFor({}, undefined, 'x')).not.toThrow();
  });

  it('loads CIFAR standardised by the training set, memoised, class-balanced', async () => {
    const a = await loadExperimentData({ dataset: 'cifar-100', trainSize: 100, testSize: 100 }, root);
    const b = await loadExperimentData({ dataset: 'cifar-100', trainSize: 100, testSize: 100 }, root);
    expect(b.train).toBe(a.train); // one load per process and subset
    expect([a.train.n, a.train.classes, a.test.n]).toEqual([100, 100, 100]);
    expect(a.train.shape).toEqual([32, 32, 3]);
    expect(new Set(a.train.labels).size).toBe(100);
    const full = await loadExperimentData({ dataset: 'cifar-10' }, root);
    const st = channelStats(full.train);
    for (let c = 0; c < 3; c++) expect(Math.abs(st.mean[c] as number)).toBeLessThan(1e-5);
    expect(full.info.name).toMatch(/cifar-10 \(150\/20, .*per-channel mean\/std/);
  });
});

describe('paper profiles', () => {
  const root = cifarRoot();

  it('exist for afan, mimicnorm and prune only, with the spec recipes', () => {
    expect(experiments.filter((e) => e.profiles.paper).map((e) => e.id)).toEqual(['afan', 'mimicnorm', 'prune']);
    const afan = byId('afan').profiles.paper!;
    expect(afan).toMatchObject({ dataset: 'cifar-10', augment: 'crop-flip', epochs: 200, batchSize: 128, lr: 0.1, weightDecay: 5e-4, resnetDepth: 56, resnetWidth: 16, steps: 5 });
    expect(afan['milestones']).toEqual([0.25, 0.75]);
    const mimic = byId('mimicnorm').profiles.paper!;
    expect(mimic).toMatchObject({ dataset: 'cifar-100', augment: 'crop-flip', epochs: 150, batchSize: 256, lr: 0.1, weightDecay: 5e-4, warmupEpochs: 2, vggWidth: 1 });
    const prune = byId('prune').profiles.paper!;
    expect(prune).toMatchObject({ dataset: 'cifar-10', augment: 'crop-flip', epochs: 150, batchSize: 128, lrHigh: 0.1, lrLow: 0.01, models: ['resnet'], resnetDepth: 20, seeds: 5 });
    // arms × seeds: afan 4 × 3, mimicnorm 10 × 3, prune (ResNet-20 at LR 0.1 and 0.01) 2 × 5
    const counts = Object.fromEntries(['afan', 'mimicnorm', 'prune'].map((id) => [id, planJobs([byId(id)], { profile: 'paper' }).jobs.length]));
    expect(counts).toEqual({ afan: 12, mimicnorm: 30, prune: 10 });
    for (const id of Object.keys(PAPER_OVERRIDES)) {
      const { paper, standard } = byId(id).profiles;
      for (const k of Object.keys(standard!)) expect(paper, `${id}.${k}`).toHaveProperty(k);
    }
  });

  // Each paper profile, shrunk to one step per training (a test-only override), on the tiny CIFAR binaries.
  const shrink: Record<string, { arm: string; over: Record<string, unknown> }> = {
    afan: { arm: 'afan-afn', over: { trainSize: 20, testSize: 20, gapSize: 10, epochs: 1, batchSize: 20, resnetDepth: 8, resnetWidth: 4, steps: 1 } },
    mimicnorm: { arm: 'vgg-mimic', over: { trainSize: 100, testSize: 100, epochs: 1, batchSize: 100, vggWidth: 0.0625, memoryBatchSize: 4 } },
    prune: { arm: 'resnet-lr-high', over: { trainSize: 20, testSize: 20, epochs: 1, batchSize: 20, resnetDepth: 8, resnetWidth: 4, rounds: [1], ps: [0.2], gradual: false, oneShot: false } },
  };
  for (const [id, { arm, over }] of Object.entries(shrink)) {
    it(`${id}: one step of the paper recipe on 32×32×3 CIFAR (${arm})`, async () => {
      const e = byId(id);
      const settings = { ...e.profiles.paper!, ...over };
      const out = await e.run(ctxFor(e, arm, settings, root));
      expect(out.data?.name).toMatch(/^cifar-10{1,2} \(/);
      expect(out.data?.trainSize).toBe(over['trainSize']);
      const acc = out.metrics['testAcc'] ?? out.metrics['acc_dense'];
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
    }, 240_000);
  }
});

describe('gpu profile on CIFAR', () => {
  const root = cifarRoot();

  it('afan, mimicnorm, prune and unify take CIFAR-10 from --data (dataset auto); the others stay on Fashion-MNIST', () => {
    const auto = experiments.filter((e) => e.profiles.gpu?.['dataset'] === 'auto').map((e) => e.id);
    expect(auto).toEqual(['afan', 'mimicnorm', 'prune', 'unify']);
    for (const e of experiments) expect(resolveDataset(e.profiles.gpu!, root), e.id).toBe(auto.includes(e.id) ? 'cifar-10' : 'fashion-mnist');
  });

  it('unify: one step per phase of the gpu recipe on 32×32×3 CIFAR-10 (ResNet, ADMM arm)', async () => {
    const e = byId('unify');
    const settings = { ...e.profiles.gpu!, trainSize: 20, testSize: 20, batchSize: 20, denseEpochs: 1, admmEpochs: 1, fineTuneEpochs: 1, admmUpdatesPerEpoch: 1, resnetDepth: 8, resnetWidth: 4 };
    const arm = e.arms(settings, 'gpu').find((a) => a['method'] === 'admm')!;
    const out = await e.run({ ...ctxFor(e, arm.id, settings, root), profile: 'gpu' });
    expect(out.data?.name).toMatch(/^cifar-10 \(150\/20/);
    expect(out.metrics['ratio']).toBeGreaterThan(1);
  }, 240_000);
});

