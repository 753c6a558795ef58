// trainkit's wasm SIMD input gradient of a 2-D convolution, src/kernels/conv2d-grad.ts (used where it beats
// XNNPACK's transposed-convolution form): dx[b, ih, iw, ci] = sum over kh, kw, co of dy[b, oh, ow, co] * w[kh, kw, ci, co]
// where oh*sh = ih + pt - kh*dh and ow*sw = iw + pl - kw*dw. A gather: each dx value is written once, only taps that
// land on an output pixel are summed (no zeros inserted for strides). Two pixels (iw, iw + sw) x 16 input channels in
// registers share each weight load (then 4-channel blocks, then single channels). Runs in tfjs' own wasm memory: no data, no stack, no globals. Built by
// scripts/build-wasm.mjs.
#include <wasm_simd128.h>

typedef unsigned int u32;

#define MAC(acc, a, b) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))

// wt[t, o, i] = w[t, i, o] for taps t: the weights with each tap's channel axes swapped.
__attribute__((export_name("swap_channels")))
void swap_channels(const float *w, float *wt, u32 taps, u32 ci, u32 co) {
  for (u32 t = 0; t < taps; t++)
    for (u32 i = 0; i < ci; i++)
      for (u32 o = 0; o < co; o++) wt[(t * co + o) * ci + i] = w[(t * ci + i) * co + o];
}

__attribute__((export_name("input_grad")))
void input_grad(const float *dy, const float *wt, float *dx, u32 batch, int h, int w, u32 ci, int oh_n, int ow_n,
                u32 co, int kh_n, int kw_n, int sh, int sw, int dh, int dw, int pt, int pl) {
  for (u32 b = 0; b < batch; b++) {
    for (int ih = 0; ih < h; ih++) {
      float *dxrow = dx + (b * (u32)h + (u32)ih) * (u32)w * ci;
      for (int phase = 0; phase < sw && phase < w; phase++) {
        for (int iw = phase; iw < w; iw += 2 * sw) {
          const int two = iw + sw < w;
          for (u32 c = 0; c < ci; c += 4) {
            const int wide = c + 16 <= ci, lanes = ci - c >= 4;
            v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            float sa = 0, sb = 0;  // the last (< 4) channels
            for (int kh = 0; kh < kh_n; kh++) {
              const int nh = ih + pt - kh * dh;
              if (nh < 0 || nh % sh != 0 || nh / sh >= oh_n) continue;
              const float *drow = dy + (b * (u32)oh_n + (u32)(nh / sh)) * (u32)ow_n * co;
              for (int kw = 0; kw < kw_n; kw++) {
                const int nw = iw + pl - kw * dw;
                if (((nw % sw) + sw) % sw != 0) continue;
                const int ow = nw >= 0 ? nw / sw : -((-nw) / sw);
                const int v0 = ow >= 0 && ow < ow_n, v1 = two && ow + 1 >= 0 && ow + 1 < ow_n;
                if (!v0 && !v1) continue;
                const float *wp = wt + (u32)(kh * kw_n + kw) * co * ci + c;
                const float *d0 = drow + (u32)ow * co, *d1 = d0 + co;
                if (wide) {
                  if (v0 && v1) {
                    for (u32 o = 0; o < co; o++) {
                      const float *q = wp + o * ci;
                      const v128_t w0 = wasm_v128_load(q), w1 = wasm_v128_load(q + 4), w2 = wasm_v128_load(q + 8), w3 = wasm_v128_load(q + 12);
                      const v128_t s0 = wasm_v128_load32_splat(d0 + o), s1 = wasm_v128_load32_splat(d1 + o);
                      MAC(a0, s0, w0); MAC(a1, s0, w1); MAC(a2, s0, w2); MAC(a3, s0, w3);
                      MAC(b0, s1, w0); MAC(b1, s1, w1); MAC(b2, s1, w2); MAC(b3, s1, w3);
                    }
                  } else {
                    const float *d = v0 ? d0 : d1;
                    v128_t x0 = v0 ? a0 : b0, x1 = v0 ? a1 : b1, x2 = v0 ? a2 : b2, x3 = v0 ? a3 : b3;
                    for (u32 o = 0; o < co; o++) {
                      const v128_t s = wasm_v128_load32_splat(d + o);
                      const float *q = wp + o * ci;
                      MAC(x0, s, wasm_v128_load(q)); MAC(x1, s, wasm_v128_load(q + 4)); MAC(x2, s, wasm_v128_load(q + 8)); MAC(x3, s, wasm_v128_load(q + 12));
                    }
                    if (v0) { a0 = x0; a1 = x1; a2 = x2; a3 = x3; } else { b0 = x0; b1 = x1; b2 = x2; b3 = x3; }
                  }
                } else if (lanes) {
                  for (u32 o = 0; o < co; o++) {
                    const v128_t wv = wasm_v128_load(wp + o * ci);
                    if (v0) MAC(a0, wasm_v128_load32_splat(d0 + o), wv);
                    if (v1) MAC(b0, wasm_v128_load32_splat(d1 + o), wv);
                  }
                } else {
                  for (u32 o = 0; o < co; o++) {
                    if (v0) sa += d0[o] * wp[o * ci];
                    if (v1) sb += d1[o] * wp[o * ci];
                  }
                }
              }
            }
            float *p0 = dxrow + (u32)iw * ci + c, *p1 = p0 + (u32)sw * ci;
            if (wide) {
              wasm_v128_store(p0, a0); wasm_v128_store(p0 + 4, a1); wasm_v128_store(p0 + 8, a2); wasm_v128_store(p0 + 12, a3);
              if (two) { wasm_v128_store(p1, b0); wasm_v128_store(p1 + 4, b1); wasm_v128_store(p1 + 8, b2); wasm_v128_store(p1 + 12, b3); }
              c += 12;
            } else if (lanes) {
              wasm_v128_store(p0, a0);
              if (two) wasm_v128_store(p1, b0);
            } else {
              // One channel per pass through the taps (ci - c < 4 of them).
              p0[0] = sa;
              if (two) p1[0] = sb;
              c -= 3;
            }
          }
        }
      }
    }
  }
}
