// trainkit's wasm SIMD product for the 1x1 stride-1 filter gradient, and with im2col below for narrow ones
// (src/kernels/conv2d-grad.ts):
// acc[i, j] += sum_r x[r, i] * dy[r, j] over p rows, without packing either operand. It runs in tfjs' own
// wasm memory: no data, no stack, no globals. Built by scripts/build-wasm.mjs.
#include <wasm_simd128.h>

typedef unsigned int u32;
enum { ROWS = 128 };  // rows summed in float32 registers before the float64 totals

static inline void add_f64(double *s, v128_t v) {
  wasm_v128_store(s, wasm_f64x2_add(wasm_v128_load(s), wasm_f64x2_promote_low_f32x4(v)));
  wasm_v128_store(s + 2, wasm_f64x2_add(wasm_v128_load(s + 2), wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0))));
}

#define MAC(acc, a, b) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))

// x: [p, ci], dy: [p, co], acc: [ci, co] doubles (zeroed by the caller).
__attribute__((export_name("gemm_tn")))
void gemm_tn(const float *x, const float *dy, double *acc, u32 p, u32 ci, u32 co) {
  for (u32 r0 = 0; r0 < p; r0 += ROWS) {
    const u32 r1 = r0 + ROWS < p ? r0 + ROWS : p;
    u32 i = 0;
    for (; i + 4 <= ci; i += 4) {
      u32 j = 0;
      for (; j + 8 <= co; j += 8) {
        v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (u32 r = r0; r < r1; r++) {
          const float *xr = x + r * ci + i, *dr = dy + r * co + j;
          const v128_t d0 = wasm_v128_load(dr), d1 = wasm_v128_load(dr + 4);
          v128_t s = wasm_v128_load32_splat(xr);
          MAC(a0, s, d0); MAC(a1, s, d1);
          s = wasm_v128_load32_splat(xr + 1);
          MAC(a2, s, d0); MAC(a3, s, d1);
          s = wasm_v128_load32_splat(xr + 2);
          MAC(a4, s, d0); MAC(a5, s, d1);
          s = wasm_v128_load32_splat(xr + 3);
          MAC(a6, s, d0); MAC(a7, s, d1);
        }
        double *o = acc + i * co + j;
        add_f64(o, a0); add_f64(o + 4, a1);
        add_f64(o + co, a2); add_f64(o + co + 4, a3);
        add_f64(o + 2 * co, a4); add_f64(o + 2 * co + 4, a5);
        add_f64(o + 3 * co, a6); add_f64(o + 3 * co + 4, a7);
      }
      for (; j < co; j++) {
        // One output column for these four rows of acc: x's four values as a vector.
        v128_t a = wasm_f32x4_splat(0);
        for (u32 r = r0; r < r1; r++) MAC(a, wasm_v128_load(x + r * ci + i), wasm_f32x4_splat(dy[r * co + j]));
        double *o = acc + i * co + j;
        o[0] += wasm_f32x4_extract_lane(a, 0);
        o[co] += wasm_f32x4_extract_lane(a, 1);
        o[2 * co] += wasm_f32x4_extract_lane(a, 2);
        o[3 * co] += wasm_f32x4_extract_lane(a, 3);
      }
    }
    for (; i < ci; i++) {
      u32 j = 0;
      for (; j + 4 <= co; j += 4) {
        v128_t a = wasm_f32x4_splat(0);
        for (u32 r = r0; r < r1; r++) MAC(a, wasm_v128_load32_splat(x + r * ci + i), wasm_v128_load(dy + r * co + j));
        add_f64(acc + i * co + j, a);
      }
      for (; j < co; j++) {
        float s = 0;
        for (u32 r = r0; r < r1; r++) s += x[r * ci + i] * dy[r * co + j];
        acc[i * co + j] += s;
      }
    }
  }
}

// The filter gradient's patches for gemm_tn: cols[p, (kh * kw_n + kw) * ci + c] = x[b, oh * sh + kh * dh - pt,
// ow * sw + kw * dw - pl, c] (0 outside x), for the rows p = (b * oh_n + oh) * ow_n + ow of `batch` samples.
__attribute__((export_name("im2col")))
void im2col(const float *x, float *cols, u32 batch, int h, int w, u32 ci, int oh_n, int ow_n, int kh_n, int kw_n, int sh,
            int sw, int dh, int dw, int pt, int pl) {
  float *o = cols;
  for (u32 b = 0; b < batch; b++)
    for (int oh = 0; oh < oh_n; oh++)
      for (int ow = 0; ow < ow_n; ow++)
        for (int kh = 0; kh < kh_n; kh++) {
          const int ih = oh * sh + kh * dh - pt;
          for (int kw = 0; kw < kw_n; kw++, o += ci) {
            const int iw = ow * sw + kw * dw - pl;
            u32 c = 0;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
              for (; c + 4 <= ci; c += 4) wasm_v128_store(o + c, wasm_f32x4_splat(0));
              for (; c < ci; c++) o[c] = 0;
              continue;
            }
            const float *s = x + ((b * (u32)h + (u32)ih) * (u32)w + (u32)iw) * ci;
            for (; c + 4 <= ci; c += 4) wasm_v128_store(o + c, wasm_v128_load(s + c));
            for (; c < ci; c++) o[c] = s[c];
          }
        }
}
