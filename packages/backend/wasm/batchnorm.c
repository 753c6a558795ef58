// trainkit's wasm SIMD loops for the training-mode batch norm (src/kernels/batch-norm.ts), over n rows
// of c channels (the last axis). They run in tfjs' own wasm memory: no data, no stack, no globals.
#include <wasm_simd128.h>

typedef unsigned int u32;
enum { ROWS = 64 };  // rows summed in float32 before the float64 totals

static inline void add_f64(double *s, v128_t v) {
  wasm_v128_store(s, wasm_f64x2_add(wasm_v128_load(s), wasm_f64x2_promote_low_f32x4(v)));
  wasm_v128_store(s + 2, wasm_f64x2_add(wasm_v128_load(s + 2), wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0))));
}

// s1[j] += sum_i (x[i, j] - shift[j]); s2[j] += sum_i (x[i, j] - shift[j])^2 (s1, s2 doubles, zeroed by the caller).
__attribute__((export_name("bn_stats")))
void bn_stats(const float *x, const float *shift, double *s1, double *s2, u32 n, u32 c) {
  for (u32 r0 = 0; r0 < n; r0 += ROWS) {
    u32 r1 = r0 + ROWS < n ? r0 + ROWS : n;
    u32 j = 0;
    for (; j + 4 <= c; j += 4) {
      v128_t k = wasm_v128_load(shift + j), a = wasm_f32x4_splat(0), b = wasm_f32x4_splat(0);
      for (u32 i = r0; i < r1; i++) {
        v128_t d = wasm_f32x4_sub(wasm_v128_load(x + i * c + j), k);
        a = wasm_f32x4_add(a, d);
        b = wasm_f32x4_add(b, wasm_f32x4_mul(d, d));
      }
      add_f64(s1 + j, a);
      add_f64(s2 + j, b);
    }
    for (; j < c; j++) {
      float a = 0, b = 0;
      for (u32 i = r0; i < r1; i++) {
        float d = x[i * c + j] - shift[j];
        a += d;
        b += d * d;
      }
      s1[j] += a;
      s2[j] += b;
    }
  }
}

// sdy[j] += sum_i dy[i, j]; sdyx[j] += sum_i dy[i, j] * (x[i, j] - mean[j]) (doubles, zeroed by the caller).
__attribute__((export_name("bn_grad_stats")))
void bn_grad_stats(const float *dy, const float *x, const float *mean, double *sdy, double *sdyx, u32 n, u32 c) {
  for (u32 r0 = 0; r0 < n; r0 += ROWS) {
    u32 r1 = r0 + ROWS < n ? r0 + ROWS : n;
    u32 j = 0;
    for (; j + 4 <= c; j += 4) {
      v128_t m = wasm_v128_load(mean + j), a = wasm_f32x4_splat(0), b = wasm_f32x4_splat(0);
      for (u32 i = r0; i < r1; i++) {
        v128_t e = wasm_v128_load(dy + i * c + j);
        a = wasm_f32x4_add(a, e);
        b = wasm_f32x4_add(b, wasm_f32x4_mul(e, wasm_f32x4_sub(wasm_v128_load(x + i * c + j), m)));
      }
      add_f64(sdy + j, a);
      add_f64(sdyx + j, b);
    }
    for (; j < c; j++) {
      float a = 0, b = 0;
      for (u32 i = r0; i < r1; i++) {
        float e = dy[i * c + j];
        a += e;
        b += e * (x[i * c + j] - mean[j]);
      }
      sdy[j] += a;
      sdyx[j] += b;
    }
  }
}

// out[i, j] = u[i, j] * a[j] + (v[i, j] - m[j]) * b[j] + k[j]. The forward pass calls it with u = x,
// b = 0 (y = x*a + k); the backward pass with u = dy, v = x, m = mean.
__attribute__((export_name("bn_affine")))
void bn_affine(const float *u, const float *v, const float *m, const float *a, const float *b, const float *k, float *out, u32 n, u32 c) {
  for (u32 i = 0; i < n; i++) {
    const float *ur = u + i * c, *vr = v + i * c;
    float *o = out + i * c;
    u32 j = 0;
    for (; j + 4 <= c; j += 4) {
      v128_t t = wasm_f32x4_mul(wasm_v128_load(ur + j), wasm_v128_load(a + j));
      t = wasm_f32x4_add(t, wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(vr + j), wasm_v128_load(m + j)), wasm_v128_load(b + j)));
      wasm_v128_store(o + j, wasm_f32x4_add(t, wasm_v128_load(k + j)));
    }
    for (; j < c; j++) o[j] = ur[j] * a[j] + (vr[j] - m[j]) * b[j] + k[j];
  }
}
