import { describe, expect, it, beforeAll } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf } from '@trainkit/test-utils';
import { initWasm } from './test-helpers';
import { SIMD_MODULES } from './simd-binary';
import { simdKernels, type SimdKernels } from './simd';

beforeAll(initWasm);

const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

describe('wasm SIMD helpers', () => {
  it('were built from the current wasm/*.c (else run node scripts/build-wasm.mjs)', () => {
    const dir = fileURLToPath(new URL('../../wasm/', import.meta.url));
    const sources = readdirSync(dir).filter((f) => f.endsWith('.c')).sort();
    expect(Object.keys(SIMD_MODULES).sort()).toEqual(sources.map((f) => f.slice(0, -2)));
    for (const [name, m] of Object.entries(SIMD_MODULES)) {
      expect(createHash('sha256').update(readFileSync(`${dir}${name}.c`)).digest('hex'), name).toBe(m.sha256);
    }
  });

  it('are valid modules under the 4 KiB a browser compiles synchronously on its main thread', () => {
    for (const m of Object.values(SIMD_MODULES)) {
      for (const b64 of [m.plain, m.shared]) {
        const b = bytes(b64);
        expect(b.length).toBeLessThan(4096);
        expect(WebAssembly.validate(b)).toBe(true);
      }
    }
  });

  it('write only their outputs: every other byte of the memory they run in stays as it was', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const k = {} as SimdKernels;
    for (const m of Object.values(SIMD_MODULES)) Object.assign(k, new WebAssembly.Instance(new WebAssembly.Module(bytes(m.plain)), { env: { memory } }).exports);
    const u8 = new Uint8Array(memory.buffer);
    const f32 = new Float32Array(memory.buffer);
    const run = (fill: () => void, call: () => void, out: [number, number]) => {
      u8.fill(0xa5);
      fill();
      const before = u8.slice();
      call();
      let changed = -1;
      for (let i = 0; i < u8.length && changed < 0; i++) if ((i < out[0] || i >= out[1]) && u8[i] !== before[i]) changed = i;
      expect(changed).toBe(-1);
      expect(u8.subarray(out[0], out[1])).not.toEqual(before.subarray(out[0], out[1]));
    };
    // x: [5, 3, 2, 6] at byte 4096, out at 16384.
    const xs = 5 * 3 * 2 * 6;
    const fillX = () => f32.set(Float32Array.from({ length: xs }, (_, i) => i), 1024);
    run(fillX, () => k.batch_to_channels(4096, 16384, 1, 4, 3, 2, 6, 2, 2), [16384, 16384 + 6 * 2 * 2 * 4 * 4]);
    run(fillX, () => k.batch_to_rows(4096, 16384, 0, 5, 6, 6), [16384, 16384 + xs * 4]);
    // depthwise: x [2, 4, 4, 9], dy [2, 4, 4, 9], acc 3x3x9 doubles at 32768.
    const fillBoth = () => {
      f32.set(Float32Array.from({ length: 288 }, (_, i) => (i % 7) - 3), 1024);
      f32.set(Float32Array.from({ length: 288 }, (_, i) => (i % 5) - 2), 2048);
      new Float64Array(memory.buffer, 32768, 81).fill(0);
    };
    run(fillBoth, () => k.depthwise_filter_grad(4096, 8192, 32768, 2, 4, 4, 9, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1), [32768, 32768 + 81 * 8]);
    // batch norm over 32 rows of 9 channels: x at 4096, dy at 8192, per-channel vectors from 12288, sums at 32768.
    const fillBn = () => {
      fillBoth();
      f32.set(Float32Array.from({ length: 6 * 9 }, (_, i) => 0.1 * i), 3072);
      new Float64Array(memory.buffer, 32768, 18).fill(0);
    };
    run(fillBn, () => k.bn_stats(4096, 12288, 32768, 32768 + 72, 32, 9), [32768, 32768 + 144]);
    run(fillBn, () => k.bn_grad_stats(8192, 4096, 12288, 32768, 32768 + 72, 32, 9), [32768, 32768 + 144]);
    run(fillBoth, () => k.compare_f32(4096, 8192, 16384, 37, 1, 0), [16384, 16384 + 37]);
    run(fillBoth, () => k.compare_f32(4096, 8192, 16384, 37, 0, 3), [16384, 16384 + 37]);
    run(fillBoth, () => k.and_u8(4096, 8192, 16384, 37), [16384, 16384 + 37]);
    run(fillBoth, () => k.select_f32(4096, 8192, 9216, 16384, 37), [16384, 16384 + 37 * 4]);
    run(
      () => {
        fillBoth();
        new Float32Array(memory.buffer, 16384, 288).fill(0);
      },
      () => k.max_pool_grad(4096, 8192, 16384, 2, 4, 4, 9, 2, 2, 2, 2, 1, 1, 2, 2, 0, 0),
      [16384, 16384 + 288 * 4],
    );
    // filter gradient, few channels: x [2, 4, 4, 9] as ci = 9 (tails), 3x3 'same', acc64 at 32768, acc32 scratch after it.
    run(
      () => {
        fillBoth();
        new Float64Array(memory.buffer, 32768, 729).fill(0);
      },
      () => k.filter_grad(4096, 8192, 32768 + 729 * 8, 32768, 2, 4, 4, 9, 4, 4, 9, 3, 3, 1, 1, 1, 1, 1, 1),
      [32768, 32768 + 729 * 12],
    );
    run(fillBoth, () => k.gemm_tn(4096, 8192, 32768, 48, 6, 6), [32768, 32768 + 36 * 8]);
    // patches: x [2, 4, 4, 9] at 4096, 3x3 stride 2 'same' (pad 0/1) → rows 2*2*2 of 81 at 16384.
    run(fillBoth, () => k.im2col(4096, 16384, 2, 4, 4, 9, 2, 2, 3, 3, 2, 2, 1, 1, 0, 0), [16384, 16384 + 8 * 81 * 4]);
    run(fillBoth, () => k.swap_channels(4096, 16384, 4, 9, 8), [16384, 16384 + 288 * 4]);
    // input gradient: dy [2, 4, 4, 1] at 8192, weights [9, 1, 20] at 4096 (16- and 4-channel blocks), dx at 16384;
    // then stride 2, dy [2, 2, 2, 4], 23 channels (single-channel tail).
    run(fillBoth, () => k.input_grad(8192, 4096, 16384, 2, 4, 4, 20, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1), [16384, 16384 + 640 * 4]);
    run(fillBoth, () => k.input_grad(8192, 4096, 16384, 2, 4, 4, 23, 2, 2, 4, 3, 3, 2, 2, 1, 1, 0, 0), [16384, 16384 + 736 * 4]);
    run(fillBn, () => k.bn_affine(8192, 4096, 12288, 12288 + 36, 12288 + 72, 12288 + 108, 16384, 32, 9), [16384, 16384 + 288 * 4]);
  });

  it('run in the wasm backend used by the training kernels', () => {
    expect(simdKernels(tf.engine().registry['wasm'])).not.toBeNull();
  });
});
