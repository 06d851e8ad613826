// Run-time classification of the engine's i32x4.relaxed_dot_i8x16_i7x16_add_s. The relaxed-SIMD
// spec leaves the product of a second-operand byte >= 128 implementation-defined, and engines
// differ: V8 on x64 with AVX-VNNI (vpdpbusd) multiplies u8(b) x s8(a) exactly; on arm64 (sdot)
// s8(b) x s8(a) exactly; on x64 without VNNI pmaddubsw saturates int16 pair sums (and Node 20's
// Liftoff gave other values before tier-up). The edgeq relaxed kernels run only on an exact
// lowering. Browser-safe: no Node imports.
//
// Operand ranges: the kernels pass the weights as the first operand, in [-127, 127] (the packing
// contract; relaxedEligible() refuses a blob holding -128), and activations as the second, any
// byte. The probe tests exactly that domain: a first operand of -128 is outside it because arm64
// V8 without a dot-product lowering (Liftoff under qemu) adds two int16 products per lane before
// widening, and (-128)(-128) + (-128)(-128) = 32768 wraps; with a >= -127 every pair fits.

/** How the engine's relaxed dot multiplies: exact u8(b) x s8(a), exact s8(b) x s8(a), or neither (saturating, inconsistent, absent). */
export type RelaxedDotVerdict = 'u8xs8' | 's8xs8' | 'none';

/**
 * A module that exports memory "m" and `d(a, b, out, n)`: n times, v128.store(out,
 * i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(a), v128.load(b), i32x4.splat(0))).
 */
export const RELAXED_DOT_PROBE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, //       magic, version
  0x01, 0x08, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, // type: (i32 i32 i32 i32) -> ()
  0x03, 0x02, 0x01, 0x00, //                               function section: one function of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, //                         memory: min 1 page
  0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x64, 0x00, 0x00, // export "m" memory 0, "d" func 0
  0x0a, 0x31, 0x01, 0x2f, 0x00, //                         code: one body of 47 bytes, no locals
  0x02, 0x40, //                                           block
  0x03, 0x40, //                                           loop
  0x20, 0x03, 0x45, 0x0d, 0x01, //                         local.get 3; i32.eqz; br_if 1
  0x20, 0x02, //                                           local.get 2 (out)
  0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, //                   local.get 0; v128.load
  0x20, 0x01, 0xfd, 0x00, 0x04, 0x00, //                   local.get 1; v128.load
  0x41, 0x00, 0xfd, 0x11, //                               i32.const 0; i32x4.splat
  0xfd, 0x93, 0x02, //                                     i32x4.relaxed_dot_i8x16_i7x16_add_s
  0xfd, 0x0b, 0x04, 0x00, //                               v128.store
  0x20, 0x03, 0x41, 0x01, 0x6b, 0x21, 0x03, //             local.set 3 (local.get 3 - 1)
  0x0c, 0x00, //                                           br 0
  0x0b, 0x0b, //                                           end loop; end block
  0x0b, //                                                 end
]);

/** Probe vectors: [a (int8 in [-127, 127], first operand), b (uint8 bytes, second operand)]. */
function probeVectors(): [Int8Array, Uint8Array][] {
  const cases: [Int8Array, Uint8Array][] = [
    [new Int8Array(16).fill(127), new Uint8Array(16).fill(255)], // pmaddubsw saturates: 65534
    [new Int8Array(16).fill(-127), new Uint8Array(16).fill(255)],
    [new Int8Array(16).fill(-127), new Uint8Array(16).fill(128)],
    [new Int8Array(16).fill(127), new Uint8Array(16).fill(127)], // agrees in every exact lowering
  ];
  let s = 0x9e3779b9;
  const rnd = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s >>> 24; };
  for (let c = 0; c < 4; c++) {
    const a = new Int8Array(16), b = new Uint8Array(16);
    for (let i = 0; i < 16; i++) { a[i] = (rnd() % 255) - 127; b[i] = rnd(); }
    cases.push([a, b]);
  }
  return cases;
}

const expected = (a: Int8Array, b: Uint8Array, signedB: boolean): number[] =>
  [0, 1, 2, 3].map((l) => {
    let sum = 0;
    for (let j = 4 * l; j < 4 * l + 4; j++) sum += a[j]! * (signedB ? (b[j]! << 24) >> 24 : b[j]!);
    return sum;
  });

function classify(results: Int32Array[], cases: [Int8Array, Uint8Array][]): RelaxedDotVerdict {
  const fits = (signedB: boolean) => cases.every(([a, b], i) => expected(a, b, signedB).every((v, l) => results[i]![l] === v));
  if (fits(false)) return 'u8xs8';
  if (fits(true)) return 's8xs8';
  return 'none';
}

/** Iterations of the hot phase (the module loops inside wasm; V8 tiers up on the loop's budget). */
const HOT_ITERATIONS = 200_000;
const HOT_CALLS = 20;

let cached: RelaxedDotVerdict | undefined;

/**
 * Classifies the engine's relaxed dot over the kernels' domain (first operand in [-127, 127],
 * second any byte): every probe vector (saturating cases such as 255 x 127
 * included) run cold (first call, baseline tier) and again after a hot loop (tiered up); the
 * verdict is 'u8xs8' or 's8xs8' only when both runs match that exact model in every lane,
 * otherwise (or without relaxed SIMD) 'none'. Cached per process; `fresh` re-probes.
 */
export function probeRelaxedDot(fresh = false): RelaxedDotVerdict {
  if (cached !== undefined && !fresh) return cached;
  cached = runProbe();
  return cached;
}

function runProbe(): RelaxedDotVerdict {
  try {
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(RELAXED_DOT_PROBE_BYTES)) return 'none';
    const inst = new WebAssembly.Instance(new WebAssembly.Module(RELAXED_DOT_PROBE_BYTES), {});
    const mem = inst.exports.m as WebAssembly.Memory;
    const d = inst.exports.d as (a: number, b: number, out: number, n: number) => void;
    const cases = probeVectors();
    const run = (n: number): Int32Array[] => cases.map(([a, b]) => {
      const heap = new Uint8Array(mem.buffer);
      heap.set(new Uint8Array(a.buffer, a.byteOffset, 16), 0);
      heap.set(b, 16);
      heap.fill(0, 32, 48);
      d(0, 16, 32, n);
      return new Int32Array(mem.buffer.slice(32, 48));
    });
    const cold = classify(run(1), cases);
    for (let i = 0; i < HOT_CALLS; i++) run(HOT_ITERATIONS / cases.length);
    const hot = classify(run(1), cases);
    return cold === hot ? cold : 'none';
  } catch {
    return 'none';
  }
}
