// Benchmark probe module (build/edgeq-bench-simd.wasm, build/edgeq-bench-scalar.wasm): built for
// bench/kernels.ts only, never shipped (package.json "files" lists the kernel builds alone).
//
// peak_dot: a bare dot-product loop for the benchmark's peak figure: 12 independent accumulator
// chains, each step acc = acc + dot(acc, w) (8 MAC per dot, 96 per iteration), no memory traffic.
// The scalar build runs an i32 equivalent (12 multiply-adds per step).

export function peak_dot(n: i32, seed: i32): i32 {
  if (ASC_FEATURE_SIMD) {
    let c0 = i32x4.splat(seed), c1 = i32x4.splat(seed + 1), c2 = i32x4.splat(seed + 2), c3 = i32x4.splat(seed + 3);
    let c4 = i32x4.splat(seed + 4), c5 = i32x4.splat(seed + 5), c6 = i32x4.splat(seed + 6), c7 = i32x4.splat(seed + 7);
    let c8 = i32x4.splat(seed + 8), c9 = i32x4.splat(seed + 9), c10 = i32x4.splat(seed + 10), c11 = i32x4.splat(seed + 11);
    const w = i32x4.splat(seed * 3 + 1);
    for (let i = 0; i < n; i++) {
      c0 = i32x4.add(c0, i32x4.dot_i16x8_s(c0, w));
      c1 = i32x4.add(c1, i32x4.dot_i16x8_s(c1, w));
      c2 = i32x4.add(c2, i32x4.dot_i16x8_s(c2, w));
      c3 = i32x4.add(c3, i32x4.dot_i16x8_s(c3, w));
      c4 = i32x4.add(c4, i32x4.dot_i16x8_s(c4, w));
      c5 = i32x4.add(c5, i32x4.dot_i16x8_s(c5, w));
      c6 = i32x4.add(c6, i32x4.dot_i16x8_s(c6, w));
      c7 = i32x4.add(c7, i32x4.dot_i16x8_s(c7, w));
      c8 = i32x4.add(c8, i32x4.dot_i16x8_s(c8, w));
      c9 = i32x4.add(c9, i32x4.dot_i16x8_s(c9, w));
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(c10, w));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(c11, w));
    }
    const t = v128.xor(v128.xor(v128.xor(c0, c1), v128.xor(c2, c3)), v128.xor(v128.xor(c4, c5), v128.xor(c6, c7)));
    return i32x4.extract_lane(v128.xor(t, v128.xor(v128.xor(c8, c9), v128.xor(c10, c11))), 0);
  } else {
    let c0 = seed, c1 = seed + 1, c2 = seed + 2, c3 = seed + 3, c4 = seed + 4, c5 = seed + 5;
    let c6 = seed + 6, c7 = seed + 7, c8 = seed + 8, c9 = seed + 9, c10 = seed + 10, c11 = seed + 11;
    const w = seed * 3 + 1;
    for (let i = 0; i < n; i++) {
      c0 += c0 * w; c1 += c1 * w; c2 += c2 * w; c3 += c3 * w; c4 += c4 * w; c5 += c5 * w;
      c6 += c6 * w; c7 += c7 * w; c8 += c8 * w; c9 += c9 * w; c10 += c10 * w; c11 += c11 * w;
    }
    return c0 ^ c1 ^ c2 ^ c3 ^ c4 ^ c5 ^ c6 ^ c7 ^ c8 ^ c9 ^ c10 ^ c11;
  }
}
