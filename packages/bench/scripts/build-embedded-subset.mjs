#!/usr/bin/env node
// Builds packages/bench/data/fashion-mnist-subset/ from the full Fashion-MNIST IDX files: a seeded,
// class-balanced 10,000-image train subset (1,000 per class) and 2,000-image test subset (200 per class),
// written as gzipped IDX files with the dataset's MIT licence notice. Run once; the output is committed.
//
//   node packages/bench/scripts/build-embedded-subset.mjs [/usr/share/datasets/fashion-mnist]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const src = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist-subset');
const SEED = 20_171_025; // fixed: the subset never changes unless this script does
const PER_CLASS = { train: 1000, t10k: 200 };

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readIdx(file) {
  const b = gunzipSync(readFileSync(file));
  if (b[0] !== 0 || b[1] !== 0 || b[2] !== 8) throw new Error(`${file}: not an unsigned-byte IDX file`);
  const ndim = b[3];
  const dims = [];
  for (let i = 0; i < ndim; i++) dims.push(b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * ndim) };
}

function idx(dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 8;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([header, data]), { level: 9 });
}

mkdirSync(out, { recursive: true });
const rand = mulberry32(SEED);
for (const part of ['train', 't10k']) {
  const images = readIdx(join(src, `${part}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(src, `${part}-labels-idx1-ubyte.gz`));
  const [n, h, w] = images.dims;
  const byClass = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < n; i++) byClass[labels.data[i]].push(i);
  const chosen = [];
  for (const ix of byClass) {
    for (let i = ix.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [ix[i], ix[j]] = [ix[j], ix[i]];
    }
    chosen.push(...ix.slice(0, PER_CLASS[part]));
  }
  chosen.sort((a, b) => a - b); // keep the original order of the source files
  const img = Buffer.alloc(chosen.length * h * w);
  const lab = Buffer.alloc(chosen.length);
  chosen.forEach((j, i) => {
    images.data.copy(img, i * h * w, j * h * w, (j + 1) * h * w);
    lab[i] = labels.data[j];
  });
  writeFileSync(join(out, `${part}-images-idx3-ubyte.gz`), idx([chosen.length, h, w], img));
  writeFileSync(join(out, `${part}-labels-idx1-ubyte.gz`), idx([chosen.length], lab));
  writeFileSync(join(out, `${part}-indices.json`), JSON.stringify(chosen));
  console.log(`${part}: ${chosen.length} of ${n} images (${PER_CLASS[part]} per class)`);
}
