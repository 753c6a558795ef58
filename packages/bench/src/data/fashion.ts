import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrainkitError, checkSeed } from '@trainkit/core';
import type { DataInfo } from '../experiment';
import { noteDataUse, fileIdentity, type DataIdentity } from './identity';
import { readIdxPair } from './idx';
import { balancedIndices, type Split } from './split';

/** The Debian package `dataset-fashion-mnist` installs the full set here. */
export const DEBIAN_FASHION_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST class names, by label. */
export const FASHION_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Where the Fashion-MNIST files were found. */
export interface FashionSource {
  kind: 'full' | 'embedded';
  dir: string;
  /** Why this directory: `--data`, `TRAINKIT_DATA`, the Debian path, or the embedded fallback. */
  via: 'option' | 'env' | 'debian' | 'embedded';
}

function fileIn(dir: string, base: string): string | undefined {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function hasAll(dir: string): boolean {
  return Object.values(FILES).every((f) => fileIn(dir, f) !== undefined);
}

/** The directory of the embedded subset (found by walking up from this module: works from src/ and dist/). */
export function embeddedFashionDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'data', 'fashion-mnist-subset');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new TrainkitError('BAD_FILE', 'the embedded Fashion-MNIST subset (packages/bench/data/fashion-mnist-subset) is missing', 'data');
}

/**
 * Finds Fashion-MNIST: `dataDir` (the CLI's `--data`), then `TRAINKIT_DATA`, then {@link DEBIAN_FASHION_DIR}, then the
 * embedded subset. A directory given explicitly must hold the four IDX files (`.gz` or raw), directly or in a
 * `fashion-mnist/` subfolder.
 *
 * @throws TrainkitError `BAD_FILE` when an explicitly given directory lacks the files
 */
export function findFashionMnist(dataDir?: string, env: NodeJS.ProcessEnv = process.env): FashionSource {
  const explicit: Array<[string | undefined, FashionSource['via']]> = [
    [dataDir, 'option'],
    [env['TRAINKIT_DATA'] || undefined, 'env'],
  ];
  for (const [dir, via] of explicit) {
    if (dir === undefined) continue;
    const abs = resolve(dir);
    for (const d of [abs, join(abs, 'fashion-mnist')]) {
      if (existsSync(d) && statSync(d).isDirectory() && hasAll(d)) return { kind: isEmbedded(d) ? 'embedded' : 'full', dir: d, via };
    }
    const what = via === 'option' ? '--data' : 'TRAINKIT_DATA';
    throw new TrainkitError(
      'BAD_FILE',
      `${what} ${abs}: expected the Fashion-MNIST files ${Object.values(FILES).map((f) => `${f}[.gz]`).join(', ')} there or in ${join(abs, 'fashion-mnist')}`,
      abs,
    );
  }
  if (hasAll(DEBIAN_FASHION_DIR)) return { kind: 'full', dir: DEBIAN_FASHION_DIR, via: 'debian' };
  return { kind: 'embedded', dir: embeddedFashionDir(), via: 'embedded' };
}

function isEmbedded(dir: string): boolean {
  try {
    return resolve(dir) === resolve(embeddedFashionDir());
  } catch {
    return false;
  }
}

const cache = new Map<string, { images: Uint8Array; labels: Uint8Array; n: number; h: number; w: number }>();

function readPart(dir: string, images: string, labels: string): { images: Uint8Array; labels: Uint8Array; n: number; h: number; w: number } {
  const imagesFile = fileIn(dir, images) ?? join(dir, images);
  const labelsFile = fileIn(dir, labels) ?? join(dir, labels);
  // keyed by the files' identities, so a file replaced while the process runs is read again
  const key = JSON.stringify([imagesFile, fileIdentity(imagesFile), labelsFile, fileIdentity(labelsFile)]);
  let hit = cache.get(key);
  if (!hit) {
    hit = readIdxPair(imagesFile, labelsFile, 10);
    // the bench's Fashion-MNIST models take 28×28×1 images: a set of another size fails here, before any training
    if (hit.h !== 28 || hit.w !== 28) {
      throw new TrainkitError('BAD_FILE', `${imagesFile}: images are ${hit.h}×${hit.w}; Fashion-MNIST images are 28×28`, imagesFile);
    }
    cache.set(key, hit);
  }
  return hit;
}

/** The files of a Fashion-MNIST folder, in a fixed order. */
function fashionFiles(dir: string): string[] {
  return Object.values(FILES).map((f) => fileIn(dir, f) ?? join(dir, f));
}

function resolveSource(args: Pick<FashionMnistArgs, 'dataDir' | 'embedded'>): FashionSource {
  return args.embedded && args.dataDir === undefined ? { kind: 'embedded', dir: embeddedFashionDir(), via: 'embedded' } : findFashionMnist(args.dataDir);
}

/**
 * The identity of the data {@link loadFashionMnist} would load with these arguments now (resolving `dataDir`,
 * `TRAINKIT_DATA`, the Debian path and the embedded subset as it does): source, folder, and size + SHA-256 of each file.
 *
 * @throws TrainkitError `BAD_FILE` as {@link findFashionMnist}
 */
export function fashionIdentity(args: FashionMnistArgs = {}): DataIdentity {
  const source = resolveSource(args);
  return {
    dataset: 'fashion-mnist',
    source: source.kind,
    dir: source.dir,
    files: fashionFiles(source.dir).map(fileIdentity),
    subset: { trainSize: args.trainSize ?? null, testSize: args.testSize ?? null, seed: args.seed ?? 1 },
    request: { loader: 'fashion-mnist', ...(args.dataDir !== undefined ? { dir: args.dataDir } : {}), ...(args.embedded ? { embedded: true } : {}) },
  };
}

function toSplit(part: { images: Uint8Array; labels: Uint8Array; n: number; h: number; w: number }, indices: number[]): Split {
  const size = part.h * part.w;
  const x = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  indices.forEach((j, i) => {
    const src = part.images.subarray(j * size, (j + 1) * size);
    for (let k = 0; k < size; k++) x[i * size + k] = (src[k] as number) / 255;
    labels[i] = part.labels[j] as number;
  });
  return { x, labels, n: indices.length, shape: [part.h, part.w, 1], classes: 10 };
}

/** Options of {@link loadFashionMnist}. */
export interface FashionMnistArgs {
  /** Seeded, class-balanced train subset of this size. @defaultValue all */
  trainSize?: number;
  /** Seeded, class-balanced test subset of this size. @defaultValue all */
  testSize?: number;
  /** Directory with the IDX files (the CLI's `--data`). @defaultValue `TRAINKIT_DATA`, then the Debian path, then embedded */
  dataDir?: string;
  /** Seed of the subset choice. @defaultValue 1 */
  seed?: number;
  /**
   * Use the embedded subset even when the full set is on disk (unless `dataDir` is given), so that numbers are
   * comparable across machines. @defaultValue false
   */
  embedded?: boolean;
}

/**
 * Loads Fashion-MNIST (28×28×1, 10 classes, pixels scaled to [0, 1]).
 *
 * @returns `{ train, test, info }`; `info.name` says which data was used (full set and where, or the embedded subset)
 * @throws TrainkitError `BAD_FILE` naming the file when a file is missing, truncated or inconsistent
 */
export async function loadFashionMnist(args: FashionMnistArgs = {}): Promise<{ train: Split; test: Split; info: DataInfo }> {
  const seed = checkSeed(args.seed ?? 1);
  const source = resolveSource(args);
  const train = readPart(source.dir, FILES.trainImages, FILES.trainLabels);
  const test = readPart(source.dir, FILES.testImages, FILES.testLabels);
  noteDataUse(fashionIdentity(args));
  const trainIx = balancedIndices(train.labels, 10, args.trainSize ?? train.n, seed);
  const testIx = balancedIndices(test.labels, 10, args.testSize ?? test.n, seed + 1 === 0 ? 2 : seed + 1);
  const where = source.kind === 'full' ? `full ${train.n}/${test.n}, ${source.dir}` : `embedded subset ${train.n}/${test.n}`;
  const name = `fashion-mnist (${where})`;
  return {
    train: toSplit(train, trainIx),
    test: toSplit(test, testIx),
    info: { name, trainSize: trainIx.length, testSize: testIx.length, source: source.kind, dir: source.dir },
  };
}

const loaded = new Map<string, Promise<{ train: Split; test: Split; info: DataInfo }>>();

/**
 * {@link loadFashionMnist}, memoised for the process: experiments call it once per run and every arm and seed shares
 * one fixed, class-balanced subset (the seed varies initialisation and batch order only). The key includes the data
 * directory the lookup resolves to, so a changed `--data` / `TRAINKIT_DATA` loads afresh.
 *
 * @returns the same promise for the same arguments and data directory; callers must not mutate the splits
 */
export function loadFashionMnistCached(args: FashionMnistArgs = {}): Promise<{ train: Split; test: Split; info: DataInfo }> {
  const identity = fashionIdentity(args);
  noteDataUse(identity); // a memoised load is still a use by the current run
  const key = JSON.stringify([identity.dir, identity.files, args.trainSize ?? null, args.testSize ?? null, args.seed ?? 1]);
  let p = loaded.get(key);
  if (!p) {
    p = loadFashionMnist(args);
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
}
