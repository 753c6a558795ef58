// trainkit's wasm SIMD comparisons, logical-and and select for the ReLU6 / clipByValue gradient
// (src/kernels/compare.ts): bool outputs are one byte (0 or 1) per element, as tfjs stores them.
// They run in tfjs' own wasm memory: no data, no stack, no globals. Built by scripts/build-wasm.mjs.
#include <wasm_simd128.h>

typedef unsigned int u32;
typedef unsigned char u8;

// Four float32x4 masks (all-ones or zero lanes) -> 16 bytes of 0/1.
static inline v128_t pack_masks(v128_t m0, v128_t m1, v128_t m2, v128_t m3) {
  v128_t h0 = wasm_i16x8_narrow_i32x4(m0, m1), h1 = wasm_i16x8_narrow_i32x4(m2, m3);
  return wasm_v128_and(wasm_i8x16_narrow_i16x8(h0, h1), wasm_i8x16_splat(1));
}

// op: 0 greater-equal, 1 less-equal, 2 greater, 3 less. b_stride 0 compares with the scalar b[0].
__attribute__((export_name("compare_f32")))
void compare_f32(const float *a, const float *b, u8 *out, u32 n, u32 b_stride, u32 op) {
  u32 i = 0;
  const v128_t s = wasm_v128_load32_splat(b);
  for (; i + 16 <= n; i += 16) {
    v128_t x0 = wasm_v128_load(a + i), x1 = wasm_v128_load(a + i + 4), x2 = wasm_v128_load(a + i + 8), x3 = wasm_v128_load(a + i + 12);
    v128_t y0 = s, y1 = s, y2 = s, y3 = s;
    if (b_stride) {
      y0 = wasm_v128_load(b + i); y1 = wasm_v128_load(b + i + 4); y2 = wasm_v128_load(b + i + 8); y3 = wasm_v128_load(b + i + 12);
    }
    v128_t m0, m1, m2, m3;
    if (op == 0) { m0 = wasm_f32x4_ge(x0, y0); m1 = wasm_f32x4_ge(x1, y1); m2 = wasm_f32x4_ge(x2, y2); m3 = wasm_f32x4_ge(x3, y3); }
    else if (op == 1) { m0 = wasm_f32x4_le(x0, y0); m1 = wasm_f32x4_le(x1, y1); m2 = wasm_f32x4_le(x2, y2); m3 = wasm_f32x4_le(x3, y3); }
    else if (op == 2) { m0 = wasm_f32x4_gt(x0, y0); m1 = wasm_f32x4_gt(x1, y1); m2 = wasm_f32x4_gt(x2, y2); m3 = wasm_f32x4_gt(x3, y3); }
    else { m0 = wasm_f32x4_lt(x0, y0); m1 = wasm_f32x4_lt(x1, y1); m2 = wasm_f32x4_lt(x2, y2); m3 = wasm_f32x4_lt(x3, y3); }
    wasm_v128_store(out + i, pack_masks(m0, m1, m2, m3));
  }
  for (; i < n; i++) {
    float x = a[i], y = b[b_stride ? i : 0];
    out[i] = op == 0 ? x >= y : op == 1 ? x <= y : op == 2 ? x > y : x < y;
  }
}

// out = a && b over n bytes of 0/1.
__attribute__((export_name("and_u8")))
void and_u8(const u8 *a, const u8 *b, u8 *out, u32 n) {
  u32 i = 0;
  for (; i + 16 <= n; i += 16) wasm_v128_store(out + i, wasm_v128_and(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  for (; i < n; i++) out[i] = a[i] & b[i];
}

// out[i] = cond[i] ? a[i] : b[i] over n float32 values (cond: bytes of 0/1).
__attribute__((export_name("select_f32")))
void select_f32(const u8 *cond, const float *a, const float *b, float *out, u32 n) {
  u32 i = 0;
  const v128_t zero = wasm_i8x16_splat(0);
  for (; i + 16 <= n; i += 16) {
    // 16 condition bytes -> four all-ones/zero lane masks.
    v128_t m8 = wasm_i8x16_ne(wasm_v128_load(cond + i), zero);
    v128_t m16a = wasm_i16x8_extend_low_i8x16(m8), m16b = wasm_i16x8_extend_high_i8x16(m8);
    v128_t m0 = wasm_i32x4_extend_low_i16x8(m16a), m1 = wasm_i32x4_extend_high_i16x8(m16a);
    v128_t m2 = wasm_i32x4_extend_low_i16x8(m16b), m3 = wasm_i32x4_extend_high_i16x8(m16b);
    wasm_v128_store(out + i, wasm_v128_bitselect(wasm_v128_load(a + i), wasm_v128_load(b + i), m0));
    wasm_v128_store(out + i + 4, wasm_v128_bitselect(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4), m1));
    wasm_v128_store(out + i + 8, wasm_v128_bitselect(wasm_v128_load(a + i + 8), wasm_v128_load(b + i + 8), m2));
    wasm_v128_store(out + i + 12, wasm_v128_bitselect(wasm_v128_load(a + i + 12), wasm_v128_load(b + i + 12), m3));
  }
  for (; i < n; i++) out[i] = cond[i] ? a[i] : b[i];
}
