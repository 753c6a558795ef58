import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEBIAN_FASHION_DIR, embeddedFashionDir, findFashionMnist, loadFashionMnist } from './fashion';
import { encodeIdx } from './idx';
import { classCounts } from './split';

function fakeSet(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const images = Uint8Array.from({ length: n * 784 }, (_, i) => Math.floor(i / 784) % 256);
  for (const part of ['train', 't10k']) {
    writeFileSync(join(dir, `${part}-images-idx3-ubyte.gz`), gzipSync(encodeIdx([n, 28, 28], images)));
    writeFileSync(join(dir, `${part}-labels-idx1-ubyte`), encodeIdx([n], labels)); // raw works too
  }
}

describe('Fashion-MNIST lookup', () => {
  const root = mkdtempSync(join(tmpdir(), 'trainkit-fmnist-'));
  fakeSet(join(root, 'a'), 30);
  fakeSet(join(root, 'b', 'fashion-mnist'), 20);

  it('prefers --data, then TRAINKIT_DATA (also its fashion-mnist/ subfolder), then the Debian path, then embedded', () => {
    expect(findFashionMnist(join(root, 'a'), { TRAINKIT_DATA: join(root, 'b') })).toMatchObject({ via: 'option', dir: join(root, 'a') });
    expect(findFashionMnist(undefined, { TRAINKIT_DATA: join(root, 'b') })).toMatchObject({ via: 'env', dir: join(root, 'b', 'fashion-mnist') });
    const fallback = findFashionMnist(undefined, {});
    if (existsSync(join(DEBIAN_FASHION_DIR, 'train-images-idx3-ubyte.gz'))) expect(fallback).toMatchObject({ via: 'debian', kind: 'full' });
    else expect(fallback).toMatchObject({ via: 'embedded', kind: 'embedded' });
  });

  it('fails loudly when an explicit directory lacks the files', () => {
    expect(() => findFashionMnist(join(root, 'nothing-here'), {})).toThrow(/--data .*nothing-here: expected the Fashion-MNIST files/);
    expect(() => findFashionMnist(undefined, { TRAINKIT_DATA: root })).toThrow(/TRAINKIT_DATA/);
  });

  it('loads a set from a directory with pixel scaling and says where it came from', async () => {
    const { train, test, info } = await loadFashionMnist({ dataDir: join(root, 'a') });
    expect([train.n, test.n]).toEqual([30, 30]);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(train.x[784 * 3]).toBeCloseTo(3 / 255, 6);
    expect(info).toMatchObject({ source: 'full', trainSize: 30, testSize: 30 });
    expect(info.name).toContain(join(root, 'a'));
  });

  it('loads the embedded subset: 10k/2k, class-balanced; seeded balanced sub-subsets', async () => {
    const dir = embeddedFashionDir();
    const all = await loadFashionMnist({ dataDir: dir });
    expect([all.train.n, all.test.n]).toEqual([10000, 2000]);
    expect(classCounts(all.train)).toEqual(Array(10).fill(1000));
    expect(classCounts(all.test)).toEqual(Array(10).fill(200));
    const a = await loadFashionMnist({ dataDir: dir, trainSize: 100, testSize: 50, seed: 4 });
    expect(classCounts(a.train)).toEqual(Array(10).fill(10));
    expect(a.test.n).toBe(50);
    const b = await loadFashionMnist({ dataDir: dir, trainSize: 100, testSize: 50, seed: 4 });
    const c = await loadFashionMnist({ dataDir: dir, trainSize: 100, testSize: 50, seed: 5 });
    expect(Array.from(b.train.x)).toEqual(Array.from(a.train.x));
    expect(Array.from(c.train.x)).not.toEqual(Array.from(a.train.x));
  });
});
