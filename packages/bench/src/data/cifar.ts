import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainkitError, checkSeed } from '@trainkit/core';
import type { DataInfo } from '../experiment';
import { fileIdentity, noteDataUse, type DataIdentity } from './identity';
import { readMaybeGzip } from './idx';
import { balancedIndices, take, type Split } from './split';

const PIXELS = 32 * 32;

/** Options of {@link loadCifar}. */
export interface CifarArgs {
  /** The `cifar-10-batches-bin` / `cifar-100-binary` folder, or a folder that contains it. */
  dir: string;
  /** 10 or 100. @defaultValue 10 */
  classes?: 10 | 100;
  /** CIFAR-100 only: which label byte to use. @defaultValue 'fine' */
  label?: 'fine' | 'coarse';
  /** Seeded, class-balanced subsets. @defaultValue all */
  trainSize?: number;
  testSize?: number;
  /** @defaultValue 1 */
  seed?: number;
  /**
   * Standardise each colour channel with the mean and standard deviation of the whole training set (all of its files,
   * before any subset), applied to train and test alike: torchvision's `Normalize(mean, std)`, the CIFAR recipes'
   * input normalisation. @defaultValue false (pixels stay in [0, 1])
   */
  normalize?: boolean;
}

/** Per-channel statistics of a CIFAR training set (R, G, B), in [0, 1] pixel units. */
export interface ChannelStats {
  mean: [number, number, number];
  std: [number, number, number];
}

/** Official record counts: each CIFAR-10 batch file and the CIFAR-100 test file hold 10,000 records, CIFAR-100 train.bin 50,000. */
const OFFICIAL_RECORDS = 10_000;

/**
 * Parses CIFAR binary records (CIFAR-10: 1 label byte + 3072 pixel bytes; CIFAR-100: coarse + fine label bytes + 3072),
 * pixels stored as R, G, B planes of 32×32, into NHWC floats in [0, 1].
 *
 * @param bytes - the file's bytes (gzip is accepted)
 * @param file - file name for errors
 * @param labelBytes - 1 (CIFAR-10) or 2 (CIFAR-100)
 * @param labelIndex - which label byte to keep (CIFAR-100: 0 coarse, 1 fine)
 * @param classes - labels must lie in [0, classes)
 * @throws TrainkitError `BAD_FILE` naming the file when its size is not a whole number of records or a label is out of range
 */
export function parseCifarBinary(bytes: Uint8Array, file: string, labelBytes: 1 | 2, labelIndex: number, classes: number): Split {
  const record = labelBytes + 3 * PIXELS;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new TrainkitError(
      'BAD_FILE',
      `${file}: ${bytes.length} bytes is not a whole number of ${record}-byte CIFAR-${classes === 10 ? '10' : '100'} records (truncated or another format); ` +
        `accepted: a positive multiple of ${record} bytes (the official files hold ${OFFICIAL_RECORDS * record} or, CIFAR-100 train.bin, ${5 * OFFICIAL_RECORDS * record})`,
      file,
    );
  }
  const n = bytes.length / record;
  const x = new Float32Array(n * 3 * PIXELS);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * record;
    const label = bytes[base + labelIndex] as number;
    if (label >= classes) {
      throw new TrainkitError('BAD_FILE', `${file}: record ${i} has label ${label}, outside [0, ${classes}) (wrong CIFAR variant?)`, file);
    }
    labels[i] = label;
    const px = base + labelBytes;
    const out = i * 3 * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      x[out + 3 * p] = (bytes[px + p] as number) / 255;
      x[out + 3 * p + 1] = (bytes[px + PIXELS + p] as number) / 255;
      x[out + 3 * p + 2] = (bytes[px + 2 * PIXELS + p] as number) / 255;
    }
  }
  return { x, labels, n, shape: [32, 32, 3], classes };
}

function concat(parts: Split[]): Split {
  const n = parts.reduce((a, p) => a + p.n, 0);
  const first = parts[0] as Split;
  const x = new Float32Array(n * 3 * PIXELS);
  const labels = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * 3 * PIXELS);
    labels.set(p.labels, at);
    at += p.n;
  }
  return { x, labels, n, shape: [32, 32, 3], classes: first.classes };
}

/**
 * Mean and (population) standard deviation of each channel over all pixels of an NHWC split with 3 channels.
 *
 * @throws TrainkitError when the split is not 3-channel or a channel is constant
 */
export function channelStats(split: Split): ChannelStats {
  if (split.shape[2] !== 3) throw new TrainkitError('INVALID_ARGUMENT', `channelStats: expected 3 channels; received shape [${split.shape.join(', ')}]`, 'split');
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  for (let i = 0; i < split.x.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = split.x[i + c] as number;
      sum[c]! += v;
      sq[c]! += v * v;
    }
  }
  const count = split.x.length / 3;
  const mean = sum.map((v) => v / count) as [number, number, number];
  const std = sq.map((v, c) => Math.sqrt(Math.max(0, v / count - (mean[c] as number) ** 2))) as [number, number, number];
  if (!std.every((v) => v > 0)) throw new TrainkitError('INVALID_ARGUMENT', `channelStats: a channel is constant (std ${std.map((v) => v.toFixed(4)).join(', ')}); cannot standardise`, 'split');
  return { mean, std };
}

/** (x − mean) / std per channel, in place. */
function standardise(split: Split, st: ChannelStats): void {
  const inv = st.std.map((v) => 1 / v);
  for (let i = 0; i < split.x.length; i += 3) {
    for (let c = 0; c < 3; c++) split.x[i + c] = ((split.x[i + c] as number) - (st.mean[c] as number)) * (inv[c] as number);
  }
}

function pick(dir: string, sub: string, names: string[]): string {
  for (const d of [dir, join(dir, sub)]) {
    if (names.every((f) => existsSync(join(d, f)))) return d;
  }
  throw new TrainkitError('BAD_FILE', `${dir}: expected the CIFAR binary files ${names.join(', ')} there or in ${join(dir, sub)}`, dir);
}

interface CifarLayout {
  dir: string;
  trainFiles: string[];
  testFiles: string[];
  labelBytes: 1 | 2;
  labelIndex: number;
  nClasses: number;
}

function cifarLayout(args: CifarArgs): CifarLayout {
  const root = resolve(args.dir);
  if ((args.classes ?? 10) === 10) {
    const trainFiles = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
    const testFiles = ['test_batch.bin'];
    return { dir: pick(root, 'cifar-10-batches-bin', [...trainFiles, ...testFiles]), trainFiles, testFiles, labelBytes: 1, labelIndex: 0, nClasses: 10 };
  }
  const labelIndex = (args.label ?? 'fine') === 'fine' ? 1 : 0;
  return { dir: pick(root, 'cifar-100-binary', ['train.bin', 'test.bin']), trainFiles: ['train.bin'], testFiles: ['test.bin'], labelBytes: 2, labelIndex, nClasses: labelIndex === 1 ? 100 : 20 };
}

/**
 * The identity of the data {@link loadCifar} would load with these arguments now: folder, and size + SHA-256 of each file.
 *
 * @throws TrainkitError `BAD_FILE` when the folder lacks the files
 */
export function cifarIdentity(args: CifarArgs): DataIdentity {
  const classes = args.classes ?? 10;
  const { dir, trainFiles, testFiles } = cifarLayout(args);
  return {
    dataset: classes === 10 ? 'cifar-10' : `cifar-100-${args.label ?? 'fine'}`,
    source: 'user',
    dir,
    files: [...trainFiles, ...testFiles].map((f) => fileIdentity(join(dir, f))),
    subset: { trainSize: args.trainSize ?? null, testSize: args.testSize ?? null, seed: args.seed ?? 1 },
    request: { loader: 'cifar', dir: args.dir, classes, label: args.label ?? 'fine' },
  };
}

/**
 * Loads CIFAR-10 or CIFAR-100 from the official binary version (`cifar-10-binary.tar.gz`, extracted).
 *
 * @returns `{ train, test, info }` with 32×32×3 images in [0, 1], or standardised per channel with `normalize`
 * (`stats` then holds the training set's mean/std)
 * @throws TrainkitError `BAD_FILE` naming the missing or corrupt file
 */
export async function loadCifar(args: CifarArgs): Promise<{ train: Split; test: Split; info: DataInfo; stats?: ChannelStats }> {
  const classes = args.classes ?? 10;
  const seed = checkSeed(args.seed ?? 1);
  const { dir, trainFiles, testFiles, labelBytes, labelIndex, nClasses } = cifarLayout(args);
  const read = (files: string[]): Split =>
    concat(files.map((f) => parseCifarBinary(readMaybeGzip(join(dir, f)), join(dir, f), labelBytes, labelIndex, nClasses)));
  const fullTrain = read(trainFiles);
  const fullTest = read(testFiles);
  noteDataUse(cifarIdentity(args));
  const stats = args.normalize ? channelStats(fullTrain) : undefined;
  if (stats) {
    standardise(fullTrain, stats);
    standardise(fullTest, stats);
  }
  const train = args.trainSize !== undefined ? take(fullTrain, balancedIndices(fullTrain.labels, nClasses, args.trainSize, seed)) : fullTrain;
  const test = args.testSize !== undefined ? take(fullTest, balancedIndices(fullTest.labels, nClasses, args.testSize, seed + 1)) : fullTest;
  return {
    train,
    test,
    info: { name: `cifar-${classes} (${fullTrain.n}/${fullTest.n}, ${dir}${stats ? ', per-channel mean/std of the train set' : ''})`, trainSize: train.n, testSize: test.n, source: 'user', dir },
    ...(stats ? { stats } : {}),
  };
}
