import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainkitError } from '@trainkit/core';
import { describe, expect, it } from 'vitest';
import { channelStats, loadCifar, parseCifarBinary } from './cifar';
import { syntheticCifarBinary } from './synthetic';
import { dataKey, recordDataUse } from './identity';
import { resolveDataIdentity } from './resolve';
import { classCounts } from './split';

const records = syntheticCifarBinary;

describe('CIFAR binary reader', () => {
  const root = mkdtempSync(join(tmpdir(), 'trainkit-cifar-'));

  it('reads CIFAR-10 batches (planes → NHWC in [0, 1]) from the folder or its parent', async () => {
    const dir = join(root, 'cifar-10-batches-bin');
    mkdirSync(dir);
    for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), records(4, (i) => [(4 * (b - 1) + i) % 10]));
    writeFileSync(join(dir, 'test_batch.bin'), records(3, (i) => [i]));
    for (const d of [root, dir]) {
      const { train, test, info } = await loadCifar({ dir: d });
      expect([train.n, test.n, train.classes]).toEqual([20, 3, 10]);
      expect(train.shape).toEqual([32, 32, 3]);
      expect(Array.from(test.labels)).toEqual([0, 1, 2]);
      expect(Array.from(train.labels.subarray(4, 8))).toEqual([4, 5, 6, 7]); // batch 2
      // record 2 of the test file, pixel 7: R = 2, G = 102, B = 207
      const px = (2 * 1024 + 7) * 3;
      expect(test.x[px]).toBeCloseTo(2 / 255, 6);
      expect(test.x[px + 1]).toBeCloseTo(102 / 255, 6);
      expect(test.x[px + 2]).toBeCloseTo(207 / 255, 6);
      expect(info.name).toContain('cifar-10');
    }
  });

  it('reads CIFAR-100 fine or coarse labels', async () => {
    const dir = join(root, 'cifar-100-binary');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.bin'), records(5, (i) => [i, 90 + i]));
    writeFileSync(join(dir, 'test.bin'), records(2, (i) => [19 - i, i]));
    const fine = await loadCifar({ dir: root, classes: 100 });
    expect(Array.from(fine.train.labels)).toEqual([90, 91, 92, 93, 94]);
    expect(fine.train.classes).toBe(100);
    const coarse = await loadCifar({ dir, classes: 100, label: 'coarse' });
    expect(Array.from(coarse.test.labels)).toEqual([19, 18]);
    expect(coarse.test.classes).toBe(20);
  });

  it('standardises each channel with the mean/std of the whole training set, applied to train and test alike', async () => {
    const raw = await loadCifar({ dir: root });
    const st = channelStats(raw.train);
    // R plane of record i of a file is i/255; five files of records 0..3: mean 1.5/255, population std sqrt((4² − 1)/12)/255
    expect(st.mean[0]).toBeCloseTo(1.5 / 255, 6);
    expect(st.std[0]).toBeCloseTo(Math.sqrt((4 * 4 - 1) / 12) / 255, 6);
    const { train, test, stats, info } = await loadCifar({ dir: root, normalize: true, trainSize: 10, seed: 3 });
    expect(stats).toEqual(st); // of all 20 training records, not of the 10 taken
    const after = channelStats(await loadCifar({ dir: root, normalize: true }).then((d) => d.train));
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(after.mean[c] as number)).toBeLessThan(1e-5);
      expect(after.std[c]).toBeCloseTo(1, 5);
    }
    const px = (2 * 1024 + 7) * 3; // test record 2, pixel 7: R = 2
    expect(test.x[px]).toBeCloseTo((2 / 255 - st.mean[0]) / st.std[0], 5);
    expect(train.n).toBe(10);
    expect(info.name).toContain('per-channel mean/std');
    expect(() => channelStats({ x: new Float32Array(12), labels: new Uint8Array(1), n: 1, shape: [2, 2, 3], classes: 1 })).toThrow(/constant/);
  });

  it('takes a class-balanced subset', async () => {
    const { train } = await loadCifar({ dir: root, trainSize: 10, seed: 3 });
    expect(classCounts(train)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('records its data identity for the run (size + SHA-256 of each file) and resolves it again to notice changes', async () => {
    const { value, data } = await recordDataUse(() => loadCifar({ dir: root, trainSize: 10, seed: 3 }));
    expect(value.train.n).toBe(10);
    expect(data).toHaveLength(1);
    const [id] = data;
    expect(id).toMatchObject({ dataset: 'cifar-10', source: 'user', dir: join(root, 'cifar-10-batches-bin'), subset: { trainSize: 10, testSize: null, seed: 3 } });
    expect(id!.files.map((f) => [f.name, f.size])).toEqual([1, 2, 3, 4, 5].map((b) => [`data_batch_${b}.bin`, 4 * 3073]).concat([['test_batch.bin', 3 * 3073]]));
    expect(dataKey(resolveDataIdentity(id!.request, id!.subset))).toBe(dataKey(id!));
    const file = join(root, 'cifar-10-batches-bin', 'test_batch.bin');
    const before = readFileSync(file);
    writeFileSync(file, records(3, (i) => [9 - i])); // same size, other labels
    expect(dataKey(resolveDataIdentity(id!.request, id!.subset))).not.toBe(dataKey(id!));
    writeFileSync(file, before);
  });

  it('rejects truncated files, wrong variants and missing files, naming the file', async () => {
    const bytes = records(2, () => [3]);
    expect(() => parseCifarBinary(bytes.subarray(0, 5000), 'x.bin', 1, 0, 10)).toThrow(/x\.bin: 5000 bytes is not a whole number of 3073-byte.*accepted: a positive multiple of 3073 bytes \(the official files hold 30730000/);
    // a CIFAR-100 file read as CIFAR-10: two 3074-byte records are not a whole number of 3073-byte ones
    expect(() => parseCifarBinary(records(2, () => [0, 55]), 'c100.bin', 1, 0, 10)).toThrow(TrainkitError);
    expect(() => parseCifarBinary(records(1, () => [12]), 'y.bin', 1, 0, 10)).toThrow(/y\.bin: record 0 has label 12/);
    const empty = mkdtempSync(join(tmpdir(), 'trainkit-cifar-empty-'));
    await expect(loadCifar({ dir: empty })).rejects.toThrow(/data_batch_1\.bin/);
    const dir = join(root, 'cifar-10-batches-bin');
    writeFileSync(join(dir, 'data_batch_3.bin'), bytes.subarray(0, 100));
    await expect(loadCifar({ dir })).rejects.toMatchObject({ code: 'BAD_FILE', argument: join(dir, 'data_batch_3.bin') });
  });
});
