import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TrainkitError } from '@trainkit/core';
import { describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx, readIdx, readIdxPair } from './idx';

const dir = mkdtempSync(join(tmpdir(), 'trainkit-idx-'));
function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
function expectBadFile(fn: () => unknown, file: string, what: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TrainkitError);
    expect((e as TrainkitError).code).toBe('BAD_FILE');
    expect((e as TrainkitError).argument).toBe(file);
    expect((e as Error).message).toContain(file);
    expect((e as Error).message).toMatch(what);
    return;
  }
  expect.fail('expected a TrainkitError');
}

const images = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 7);
const labels = Uint8Array.of(2, 0, 1);

describe('IDX reader', () => {
  it('reads raw and gzipped files identically, with big-endian dims', () => {
    const raw = write('a-idx3-ubyte', encodeIdx([3, 2, 2], images));
    const gz = write('a-idx3-ubyte.gz', gzipSync(encodeIdx([3, 2, 2], images)));
    for (const f of [raw, gz]) {
      const out = readIdx(f);
      expect(out.dims).toEqual([3, 2, 2]);
      expect(Array.from(out.data)).toEqual(Array.from(images));
    }
    // header bytes by hand: 00 00 08 03, then 3, 2, 2 as u32 BE
    expect(Array.from(encodeIdx([3, 2, 2], images).subarray(0, 8))).toEqual([0, 0, 8, 3, 0, 0, 0, 3]);
  });

  it('rejects a wrong magic number, naming the file', () => {
    const bytes = encodeIdx([3], labels);
    bytes[0] = 0x50; // e.g. a PNG or text file
    const f = write('bad-magic', bytes);
    expectBadFile(() => readIdx(f), f, /magic/);
    const t = write('bad-type', Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0));
    expectBadFile(() => readIdx(t), t, /element type 0xd/);
  });

  it('rejects truncated data, a truncated header and trailing bytes, naming the file', () => {
    const full = encodeIdx([3, 2, 2], images);
    const f = write('trunc.gz', gzipSync(full.subarray(0, full.length - 5)));
    expectBadFile(() => readIdx(f), f, /truncated: .* need 12 data bytes, found 7/);
    const h = write('trunc-header', full.subarray(0, 9));
    expectBadFile(() => readIdx(h), h, /truncated IDX header/);
    const extra = write('extra', Uint8Array.from([...full, 1, 2]));
    expectBadFile(() => readIdx(extra), extra, /2 unexpected trailing bytes/);
  });

  it('rejects a broken gzip stream and a missing file, naming the file', () => {
    const gz = gzipSync(encodeIdx([3, 2, 2], images));
    const f = write('cut.gz', gz.subarray(0, gz.length - 12));
    expectBadFile(() => readIdx(f), f, /gzip/);
    const missing = join(dir, 'nope.gz');
    expectBadFile(() => readIdx(missing), missing, /ENOENT/);
    expectBadFile(() => parseIdx(new Uint8Array(0), 'empty'), 'empty', /empty file/);
  });

  it('reads an image/label pair and rejects a count mismatch or an out-of-range label, naming the labels file', () => {
    const img = write('p-images.gz', gzipSync(encodeIdx([3, 2, 2], images)));
    const lab = write('p-labels', encodeIdx([3], labels));
    const pair = readIdxPair(img, lab, 10);
    expect([pair.n, pair.h, pair.w]).toEqual([3, 2, 2]);
    expect(Array.from(pair.labels)).toEqual([2, 0, 1]);
    const short = write('p-labels-short', encodeIdx([2], labels.subarray(0, 2)));
    expectBadFile(() => readIdxPair(img, short, 10), short, /label count 2 does not match the image count 3/);
    const big = write('p-labels-big', encodeIdx([3], Uint8Array.of(2, 10, 1)));
    expectBadFile(() => readIdxPair(img, big, 10), big, /label 10 at index 1/);
    expectBadFile(() => readIdxPair(lab, lab, 10), lab, /expected 3 dims/);
  });
});
