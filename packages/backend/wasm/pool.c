// trainkit's wasm SIMD max-pool input gradient (src/kernels/max-pool-grad.ts): each output's gradient
// goes to the first maximum of its window (row-major, strict >, as tfjs' cpu kernel; NaN is never a
// maximum), added where windows overlap. dx must be zeroed by the caller. Runs in tfjs' own wasm
// memory: no data, no stack, no globals. Built by scripts/build-wasm.mjs.
#include <wasm_simd128.h>

typedef unsigned int u32;

#define SCATTER(lane)                                   \
  do {                                                  \
    int q = wasm_i32x4_extract_lane(idx, lane);         \
    if (q >= 0) dx[q + lane] += wasm_f32x4_extract_lane(g, lane); \
  } while (0)

// Runs `body` with p = the offset of x[b, y, z, k] for every tap (y, z) of the window at (h0, w0) inside x.
#define FOR_WINDOW(body)                                                           \
  for (int r = 0; r < eh; r += dh) {                                               \
    const int y = h0 + r;                                                          \
    if (y < 0 || y >= h) continue;                                                 \
    for (int s = 0; s < ew; s += dw) {                                             \
      const int z = w0 + s;                                                        \
      if (z < 0 || z >= w) continue;                                               \
      const int p = (int)(((b * (u32)h + (u32)y) * (u32)w + (u32)z) * c + k);      \
      body                                                                         \
    }                                                                              \
  }

__attribute__((export_name("max_pool_grad")))
void max_pool_grad(const float *x, const float *dy, float *dx, u32 batch, int h, int w, u32 c, u32 oh_n, u32 ow_n,
                   int sh, int sw, int dh, int dw, int eh, int ew, int pt, int pl) {
  for (u32 b = 0; b < batch; b++) {
    for (u32 oh = 0; oh < oh_n; oh++) {
      const int h0 = (int)oh * sh - pt;
      for (u32 ow = 0; ow < ow_n; ow++) {
        const int w0 = (int)ow * sw - pl;
        const float *g0 = dy + ((b * oh_n + oh) * ow_n + ow) * c;
        u32 k = 0;
        for (; k + 4 <= c; k += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff()), idx = wasm_i32x4_splat(-1);
          FOR_WINDOW({
            const v128_t v = wasm_v128_load(x + p);
            const v128_t m = wasm_f32x4_gt(v, best);
            best = wasm_v128_bitselect(v, best, m);
            idx = wasm_v128_bitselect(wasm_i32x4_splat(p), idx, m);
          })
          const v128_t g = wasm_v128_load(g0 + k);
          SCATTER(0);
          SCATTER(1);
          SCATTER(2);
          SCATTER(3);
        }
        for (; k < c; k++) {
          float best = -__builtin_inff();
          int at = -1;
          FOR_WINDOW({
            if (x[p] > best) { best = x[p]; at = p; }
          })
          if (at >= 0) dx[at] += g0[k];
        }
      }
    }
  }
}
