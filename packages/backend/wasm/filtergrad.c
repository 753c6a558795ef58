// trainkit's wasm SIMD filter gradient of a 2-D convolution, src/kernels/conv2d-grad.ts (used where it
// beats XNNPACK's convolution form): dw[kh, kw, ci, co] = sum over b, oh, ow of
// x[b, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, ci] * dy[b, oh, ow, co]. Sums over one sample in float32
// (acc32: kh*kw*ci*co floats, scratch), then float64 totals (acc64, zeroed by the caller). No packing, no
// transposes: per output row and tap, each x value times its dy row, 16 output channels in registers. Runs in tfjs' own wasm memory: no data, no stack, no globals. Built by scripts/build-wasm.mjs.
#include <wasm_simd128.h>

typedef unsigned int u32;

#define MAC(acc, a, b) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))

__attribute__((export_name("filter_grad")))
void filter_grad(const float *x, const float *dy, float *acc32, double *acc64, u32 batch, int h, int w, u32 ci,
                       u32 oh_n, u32 ow_n, u32 co, u32 kh_n, u32 kw_n, int sh, int sw, int dh, int dw, int pt, int pl) {
  const u32 taps = kh_n * kw_n * ci * co;
  for (u32 b = 0; b < batch; b++) {
    for (u32 i = 0; i < taps; i++) acc32[i] = 0;
    for (u32 oh = 0; oh < oh_n; oh++) {
      const float *drow = dy + (b * oh_n + oh) * ow_n * co;
      for (u32 kh = 0; kh < kh_n; kh++) {
        const int ih = (int)oh * sh + (int)kh * dh - pt;
        if (ih < 0 || ih >= h) continue;
        const float *xrow = x + (b * (u32)h + (u32)ih) * (u32)w * ci;
        for (u32 kw = 0; kw < kw_n; kw++) {
          // Output columns whose input column ow*sw + kw*dw - pl lies in [0, w).
          const int off = (int)kw * dw - pl;
          const u32 ow0 = off >= 0 ? 0 : (u32)((-off + sw - 1) / sw);
          u32 ow1 = w - off <= 0 ? 0 : (u32)((w - off + sw - 1) / sw);
          if (ow1 > ow_n) ow1 = ow_n;
          if (ow0 >= ow1) continue;
          for (u32 c = 0; c < ci; c++) {
            float *a = acc32 + ((kh * kw_n + kw) * ci + c) * co;
            const float *xp = xrow + c;
            u32 j = 0;
            for (; j + 16 <= co; j += 16) {
              v128_t a0 = wasm_v128_load(a + j), a1 = wasm_v128_load(a + j + 4), a2 = wasm_v128_load(a + j + 8), a3 = wasm_v128_load(a + j + 12);
              for (u32 ow = ow0; ow < ow1; ow++) {
                const v128_t s = wasm_v128_load32_splat(xp + (u32)((int)ow * sw + off) * ci);
                const float *d = drow + ow * co + j;
                MAC(a0, s, wasm_v128_load(d)); MAC(a1, s, wasm_v128_load(d + 4));
                MAC(a2, s, wasm_v128_load(d + 8)); MAC(a3, s, wasm_v128_load(d + 12));
              }
              wasm_v128_store(a + j, a0); wasm_v128_store(a + j + 4, a1); wasm_v128_store(a + j + 8, a2); wasm_v128_store(a + j + 12, a3);
            }
            for (; j + 4 <= co; j += 4) {
              v128_t a0 = wasm_v128_load(a + j);
              for (u32 ow = ow0; ow < ow1; ow++) MAC(a0, wasm_v128_load32_splat(xp + (u32)((int)ow * sw + off) * ci), wasm_v128_load(drow + ow * co + j));
              wasm_v128_store(a + j, a0);
            }
            for (; j < co; j++) {
              float s = a[j];
              for (u32 ow = ow0; ow < ow1; ow++) s += xp[(u32)((int)ow * sw + off) * ci] * drow[ow * co + j];
              a[j] = s;
            }
          }
        }
      }
    }
    for (u32 i = 0; i < taps; i++) acc64[i] += acc32[i];
  }
}
