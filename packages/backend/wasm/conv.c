// trainkit's wasm SIMD helpers for the convolution gradients (src/kernels/conv2d-grad.ts,
// depthwise-grad.ts). They run inside tfjs' own wasm memory (imported), on buffers tfjs allocated:
// no data, no stack, no globals of their own. Built by scripts/build-wasm.mjs.
#include <wasm_simd128.h>

typedef unsigned int u32;

// out[c, r, q, b] = x[b0 + b, r, q, c] for r < hc, q < wc, b < n (x is [*, h, w, c]).
__attribute__((export_name("batch_to_channels")))
void batch_to_channels(const float *x, float *out, u32 b0, u32 n, u32 h, u32 w, u32 c, u32 hc, u32 wc) {
  const u32 plane = hc * wc * n;   // stride of c in out
  const u32 bstride = h * w * c;   // stride of b in x
  for (u32 r = 0; r < hc; r++) {
    for (u32 q = 0; q < wc; q++) {
      const float *src = x + ((b0 * h + r) * w + q) * c;
      float *dst = out + (r * wc + q) * n;
      u32 b = 0;
      for (; b + 4 <= n; b += 4) {
        const float *s0 = src + b * bstride;
        const float *s1 = s0 + bstride, *s2 = s1 + bstride, *s3 = s2 + bstride;
        u32 k = 0;
        for (; k + 4 <= c; k += 4) {
          v128_t a0 = wasm_v128_load(s0 + k), a1 = wasm_v128_load(s1 + k);
          v128_t a2 = wasm_v128_load(s2 + k), a3 = wasm_v128_load(s3 + k);
          v128_t t0 = wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5);
          v128_t t1 = wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5);
          v128_t t2 = wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7);
          v128_t t3 = wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7);
          wasm_v128_store(dst + k * plane + b, wasm_i64x2_shuffle(t0, t1, 0, 2));
          wasm_v128_store(dst + (k + 1) * plane + b, wasm_i64x2_shuffle(t0, t1, 1, 3));
          wasm_v128_store(dst + (k + 2) * plane + b, wasm_i64x2_shuffle(t2, t3, 0, 2));
          wasm_v128_store(dst + (k + 3) * plane + b, wasm_i64x2_shuffle(t2, t3, 1, 3));
        }
        for (; k < c; k++) {
          float *d = dst + k * plane + b;
          d[0] = s0[k]; d[1] = s1[k]; d[2] = s2[k]; d[3] = s3[k];
        }
      }
      for (; b < n; b++) {
        const float *s = src + b * bstride;
        for (u32 k = 0; k < c; k++) dst[k * plane + b] = s[k];
      }
    }
  }
}

// out[p, b, :] = x[b0 + b, p, :] for the h*w pixels p, b < n (rows of c values).
__attribute__((export_name("batch_to_rows")))
void batch_to_rows(const float *x, float *out, u32 b0, u32 n, u32 hw, u32 c) {
  for (u32 b = 0; b < n; b++) {
    const float *src = x + (b0 + b) * hw * c;
    for (u32 p = 0; p < hw; p++) {
      const float *s = src + p * c;
      float *d = out + (p * n + b) * c;
      u32 k = 0;
      for (; k + 4 <= c; k += 4) wasm_v128_store(d + k, wasm_v128_load(s + k));
      for (; k < c; k++) d[k] = s[k];
    }
  }
}

// Depthwise filter gradient, channel multiplier 1:
// dw[kh, kw, c] = sum_{b, oh, ow} x[b, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, c] * dy[b, oh, ow, c].
// Sums over one sample's pixels in float32, then over samples in float64 (acc: kh*kw*c doubles,
// zeroed by the caller).
__attribute__((export_name("depthwise_filter_grad")))
void depthwise_filter_grad(const float *x, const float *dy, double *acc, u32 batch, u32 h, u32 w, u32 c,
                           u32 oh_n, u32 ow_n, u32 kh_n, u32 kw_n, u32 sh, u32 sw, u32 dh, u32 dw,
                           int pt, int pl) {
  for (u32 b = 0; b < batch; b++) {
    const float *xb = x + b * h * w * c;
    const float *dyb = dy + b * oh_n * ow_n * c;
    for (u32 kh = 0; kh < kh_n; kh++) {
      // Output rows whose input row oh*sh + kh*dh - pt lies in [0, h).
      int off_h = (int)(kh * dh) - pt;
      u32 oh0 = off_h >= 0 ? 0 : (u32)((-off_h + (int)sh - 1) / (int)sh);
      u32 oh1 = (int)h - off_h <= 0 ? 0 : (u32)(((int)h - off_h + (int)sh - 1) / (int)sh);
      if (oh1 > oh_n) oh1 = oh_n;
      for (u32 kw = 0; kw < kw_n; kw++) {
        int off_w = (int)(kw * dw) - pl;
        u32 ow0 = off_w >= 0 ? 0 : (u32)((-off_w + (int)sw - 1) / (int)sw);
        u32 ow1 = (int)w - off_w <= 0 ? 0 : (u32)(((int)w - off_w + (int)sw - 1) / (int)sw);
        if (ow1 > ow_n) ow1 = ow_n;
        double *a = acc + (kh * kw_n + kw) * c;
        if (oh0 >= oh1 || ow0 >= ow1) continue;
        u32 k = 0;
        for (; k + 8 <= c; k += 8) {
          v128_t s0 = wasm_f32x4_splat(0), s1 = wasm_f32x4_splat(0);
          for (u32 oh = oh0; oh < oh1; oh++) {
            const float *xr = xb + ((u32)((int)(oh * sh) + off_h) * w) * c + k;
            const float *dr = dyb + oh * ow_n * c + k;
            for (u32 ow = ow0; ow < ow1; ow++) {
              const float *xp = xr + (u32)((int)(ow * sw) + off_w) * c;
              const float *dp = dr + ow * c;
              s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(xp), wasm_v128_load(dp)));
              s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(xp + 4), wasm_v128_load(dp + 4)));
            }
          }
          wasm_v128_store(a + k, wasm_f64x2_add(wasm_v128_load(a + k), wasm_f64x2_promote_low_f32x4(s0)));
          wasm_v128_store(a + k + 2, wasm_f64x2_add(wasm_v128_load(a + k + 2), wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(s0, s0, 1, 0))));
          wasm_v128_store(a + k + 4, wasm_f64x2_add(wasm_v128_load(a + k + 4), wasm_f64x2_promote_low_f32x4(s1)));
          wasm_v128_store(a + k + 6, wasm_f64x2_add(wasm_v128_load(a + k + 6), wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(s1, s1, 1, 0))));
        }
        for (; k < c; k++) {
          float s = 0;
          for (u32 oh = oh0; oh < oh1; oh++) {
            const float *xr = xb + ((u32)((int)(oh * sh) + off_h) * w) * c + k;
            const float *dr = dyb + oh * ow_n * c + k;
            for (u32 ow = ow0; ow < ow1; ow++) s += xr[(u32)((int)(ow * sw) + off_w) * c] * dr[ow * c];
          }
          a[k] += (double)s;
        }
      }
    }
  }
}
