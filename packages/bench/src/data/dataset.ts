import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainkitError } from '@trainkit/core';
import type { DataInfo } from '../experiment';
import { compose, horizontalFlip, randomCrop, type Augment } from './augment';
import { cifarIdentity, loadCifar } from './cifar';
import { loadFashionMnist, loadFashionMnistCached } from './fashion';
import { noteDataUse } from './identity';
import type { Split } from './split';

/** The data sets an experiment profile can name. */
export type DatasetName = 'fashion-mnist' | 'cifar-10' | 'cifar-100';

/** What an experiment's settings may say about its data; every field is optional, so older profiles mean Fashion-MNIST. */
export interface DataSettings {
  /**
   * `fashion-mnist` (the default), `cifar-10` / `cifar-100` (the official binaries under `--data`; required), or
   * `auto`: CIFAR-10 when `--data` (or `TRAINKIT_DATA`) holds it, else Fashion-MNIST.
   */
  dataset?: DatasetName | 'auto';
  /** `crop-flip`: random crop after 4-pixel zero padding + horizontal flip (the standard CIFAR augmentation). */
  augment?: 'none' | 'crop-flip';
  trainSize?: number;
  testSize?: number;
  /** Fashion-MNIST only: the embedded subset even when the full set is on disk. */
  embedded?: boolean;
}

const CIFAR_HINT: Record<'cifar-10' | 'cifar-100', string> = {
  'cifar-10': 'cifar-10-batches-bin (data_batch_1.bin … data_batch_5.bin, test_batch.bin)',
  'cifar-100': 'cifar-100-binary (train.bin, test.bin)',
};

function dataDirOf(dataDir: string | undefined): string | undefined {
  return dataDir ?? (process.env['TRAINKIT_DATA'] || undefined);
}

function hasCifar10(dir: string): boolean {
  return [dir, join(dir, 'cifar-10-batches-bin')].some((d) => existsSync(join(d, 'data_batch_1.bin')) && existsSync(join(d, 'test_batch.bin')));
}

/**
 * The data set these settings train on with this `--data`: `auto` becomes `cifar-10` when the folder holds the
 * CIFAR-10 binaries, else `fashion-mnist`.
 */
export function resolveDataset(s: DataSettings, dataDir?: string): DatasetName {
  const d = s.dataset ?? 'fashion-mnist';
  if (d !== 'auto') return d;
  const dir = dataDirOf(dataDir);
  return dir !== undefined && hasCifar10(resolve(dir)) ? 'cifar-10' : 'fashion-mnist';
}

/**
 * Checks, before anything trains, that the data these settings need is there: a CIFAR profile needs `--data`
 * pointing at the binaries.
 *
 * @param what - names the profile in the message, e.g. `prune/paper`
 * @throws TrainkitError `BAD_FILE` naming `--data` when the CIFAR files are absent
 */
export function checkDataFor(s: DataSettings, dataDir: string | undefined, what: string): void {
  const d = resolveDataset(s, dataDir);
  if (d === 'fashion-mnist') return;
  const dir = dataDirOf(dataDir);
  if (dir === undefined) {
    throw new TrainkitError('BAD_FILE', `${what} trains on ${d}: pass --data DIR, a folder holding ${CIFAR_HINT[d]} (the official binary version; nothing is downloaded)`, '--data');
  }
  try {
    cifarIdentity({ dir, classes: d === 'cifar-10' ? 10 : 100 });
  } catch (e) {
    throw new TrainkitError('BAD_FILE', `${what} trains on ${d}: --data ${resolve(dir)} lacks ${CIFAR_HINT[d]} (${(e as Error).message})`, '--data');
  }
}

const cifarCache = new Map<string, Promise<{ train: Split; test: Split; info: DataInfo }>>();

/**
 * The data of an experiment run: Fashion-MNIST as before (`loadFashionMnist`, or its memoised form with `cached`), or
 * the CIFAR binaries under `dataDir`, standardised per channel with the training set's mean/std and memoised per
 * process (every arm and seed shares one class-balanced subset, drawn with seed 1).
 *
 * @param opts.cached - Fashion-MNIST only: use {@link loadFashionMnistCached} (CIFAR is always memoised)
 * @param opts.fashionDataDir - Fashion-MNIST only: pass `dataDir` to the loader (false: leave the lookup to
 * `TRAINKIT_DATA`, which the CLI sets to `--data`, as the experiments that never passed it did). @defaultValue true
 * @throws TrainkitError `BAD_FILE` as {@link checkDataFor}, or naming a corrupt file
 */
export async function loadExperimentData(s: DataSettings, dataDir: string | undefined, opts: { cached?: boolean; fashionDataDir?: boolean; what?: string } = {}): Promise<{ train: Split; test: Split; info: DataInfo }> {
  const d = resolveDataset(s, dataDir);
  const sizes = { ...(s.trainSize !== undefined ? { trainSize: s.trainSize } : {}), ...(s.testSize !== undefined ? { testSize: s.testSize } : {}) };
  if (d === 'fashion-mnist') {
    const args = { ...sizes, seed: 1, ...(dataDir !== undefined && opts.fashionDataDir !== false ? { dataDir } : {}), ...(s.embedded !== undefined ? { embedded: s.embedded } : {}) };
    return opts.cached ? loadFashionMnistCached(args) : loadFashionMnist(args);
  }
  checkDataFor(s, dataDir, opts.what ?? 'this profile');
  const args = { dir: dataDirOf(dataDir) as string, classes: d === 'cifar-10' ? (10 as const) : (100 as const), ...sizes, seed: 1, normalize: true };
  const identity = cifarIdentity(args);
  noteDataUse(identity); // a memoised load is still a use by the current run
  const key = JSON.stringify([identity.dir, identity.files, identity.subset, args.classes]);
  let p = cifarCache.get(key);
  if (!p) {
    p = loadCifar(args);
    cifarCache.set(key, p);
    p.catch(() => cifarCache.delete(key));
  }
  return p;
}

/** The augmentation the settings name (`crop-flip`: pad-4 random crop, then a horizontal flip with p = 0.5), if any. */
export function augmentFor(s: DataSettings): Augment | undefined {
  return s.augment === 'crop-flip' ? compose(randomCrop(4), horizontalFlip()) : undefined;
}
