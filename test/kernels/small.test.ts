// Residual add, max pool and global average pools: SIMD == scalar twin == scalar build == TS reference.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMultipliers, addQu8, gapMultiplier, globalAvgPoolF32, globalAvgPoolU8, maxPoolOutputSize, maxPoolU8, maxpoolCalls,
  runCalls,
} from '../../src/kernels/index.js';
import { diff, diffBits, kernelImpls, loadHarness, randInt, randU12, randU8, rng, type Harness } from './harness.js';
import { refAdd, refAddF32, refGapF32, refGapU8, refMaxPool } from './ref.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(512); });

describe('qu8_vadd', () => {
  it('lengths 1..70 and 4096+13, random scales, with and without ReLU', () => {
    const r = rng(11);
    const lengths = [...Array.from({ length: 70 }, (_, i) => i + 1), 4109];
    for (const n of lengths) {
      for (const relu of [false, true]) {
        const a = randU8(r, n), b = randU8(r, n);
        const aq = { scale: 0.01 + r() * 0.1, zeroPoint: randInt(r, 0, 255) };
        const bq = { scale: 0.01 + r() * 0.1, zeroPoint: randInt(r, 0, 255) };
        const outq = { scale: 0.02 + r() * 0.1, zeroPoint: randInt(r, 0, 255) };
        const { ma, mb } = addMultipliers(aq, bq, outq);
        const expected = refAdd(a, b, aq.zeroPoint, bq.zeroPoint, ma, mb, outq.zeroPoint, relu ? outq.zeroPoint : 0, 255);
        for (const im of kernelImpls(h)) {
          h.heap.reset();
          const pa = h.heap.put(a), pb = h.heap.put(b), po = h.heap.alloc(n);
          addQu8(im.k, { count: n, a: pa, b: pb, output: po, aq, bq, outq, relu, reference: im.reference });
          h.heap.checkGuards(`vadd n=${n}`);
          const d = diff(h.heap.u8(po, n), expected);
          if (d) throw new Error(`vadd n=${n} relu=${relu} [${im.label}]: ${d}`);
        }
      }
    }
  });
  it('ties round half to even', () => {
    // ma = mb = 0.5: y = (a - za + b - zb) / 2 hits .5 for odd sums.
    const n = 256;
    const a = Uint8Array.from({ length: n }, (_, i) => i);
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);
    const q = { scale: 0.5, zeroPoint: 128 }, outq = { scale: 1, zeroPoint: 128 };
    const expected = refAdd(a, b, 128, 128, 0.5, 0.5, 128, 0, 255);
    for (const im of kernelImpls(h)) {
      h.heap.reset();
      const pa = h.heap.put(a), pb = h.heap.put(b), po = h.heap.alloc(n);
      addQu8(im.k, { count: n, a: pa, b: pb, output: po, aq: q, bq: q, outq, reference: im.reference });
      expect(diff(h.heap.u8(po, n), expected), im.label).toBeNull();
    }
  });
});

describe('u8_maxpool', () => {
  const cases = [
    { n: 1, h: 8, w: 8, c: 16, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1] },
    { n: 2, h: 9, w: 7, c: 3, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1] },
    { n: 1, h: 7, w: 9, c: 17, k: [2, 2], s: [2, 2], p: [0, 0, 0, 0] },
    { n: 1, h: 10, w: 10, c: 33, k: [3, 3], s: [1, 1], p: [1, 0, 2, 1] },
    { n: 3, h: 5, w: 6, c: 64, k: [3, 2], s: [1, 2], p: [0, 1, 0, 1] },
    { n: 1, h: 4, w: 4, c: 1, k: [4, 4], s: [1, 1], p: [0, 0, 0, 0] },
    { n: 1, h: 6, w: 6, c: 31, k: [5, 5], s: [3, 3], p: [2, 2, 2, 2] },
    { n: 1, h: 3, w: 3, c: 16, k: [3, 3], s: [1, 1], p: [3, 3, 3, 3] }, // windows fully in padding -> 0
  ];
  for (const cs of cases) {
    const name = `N=${cs.n} ${cs.h}x${cs.w}x${cs.c} k${cs.k} s${cs.s} pads[${cs.p}]`;
    it(name, () => {
      const r = rng(cs.h * 100 + cs.c);
      const x = randU8(r, cs.n * cs.h * cs.w * cs.c);
      const pads = cs.p as [number, number, number, number];
      const { out: expected, oh, ow } = refMaxPool(x, cs.n, cs.h, cs.w, cs.c, cs.k[0]!, cs.k[1]!, cs.s[0]!, cs.s[1]!, pads);
      const args = { batch: cs.n, inH: cs.h, inW: cs.w, channels: cs.c, kernel: cs.k as [number, number], stride: cs.s as [number, number], pads };
      expect(maxPoolOutputSize(args)).toEqual([oh, ow]);
      for (const im of kernelImpls(h)) {
        h.heap.reset();
        const pi = h.heap.put(x), po = h.heap.alloc(expected.length);
        maxPoolU8(im.k, { ...args, input: pi, output: po, reference: im.reference });
        h.heap.checkGuards(name);
        const d = diff(h.heap.u8(po, expected.length), expected);
        if (d) throw new Error(`maxpool ${name} [${im.label}]: ${d}`);
        // Split into row ranges per image (threads), run in reverse order: the same bytes.
        for (const parts of [2, 3, 7]) {
          const pp = h.heap.alloc(expected.length);
          const calls = maxpoolCalls({ ...args, input: pi, output: pp, reference: im.reference }, parts, 1);
          expect(calls.length).toBe(cs.n * Math.min(Math.ceil(parts / cs.n), oh));
          runCalls(im.k, [...calls].reverse());
          h.heap.checkGuards(`${name} parts ${parts}`);
          const dp = diff(h.heap.u8(pp, expected.length), expected);
          if (dp) throw new Error(`maxpool ${name} [${im.label}] in ${calls.length} parts: ${dp}`);
        }
      }
    });
  }
});

describe('global average pool', () => {
  const cases = [
    { n: 1, hw: 49, c: 2048 }, { n: 2, hw: 49, c: 17 }, { n: 1, hw: 1, c: 5 }, { n: 3, hw: 9, c: 33 },
    { n: 1, hw: 64, c: 16 }, { n: 1, hw: 10, c: 1 }, { n: 2, hw: 3136, c: 20 },
  ];
  for (const cs of cases) {
    const name = `N=${cs.n} HW=${cs.hw} C=${cs.c}`;
    it(`u8 ${name}`, () => {
      const r = rng(cs.hw * 7 + cs.c);
      const x = randU8(r, cs.n * cs.hw * cs.c);
      const inq = { scale: 0.05 + r() * 0.1, zeroPoint: randInt(r, 0, 255) };
      const outq = { scale: inq.scale * (0.3 + r()), zeroPoint: randInt(r, 0, 255) };
      const scale = gapMultiplier(cs.hw, inq, outq);
      const expected = refGapU8(x, cs.n, cs.hw, cs.c, inq.zeroPoint, scale, outq.zeroPoint);
      for (const im of kernelImpls(h)) {
        h.heap.reset();
        const pi = h.heap.put(x), po = h.heap.alloc(expected.length);
        globalAvgPoolU8(im.k, { batch: cs.n, pixels: cs.hw, channels: cs.c, input: pi, output: po, inq, outq, reference: im.reference });
        h.heap.checkGuards(name);
        const d = diff(h.heap.u8(po, expected.length), expected);
        if (d) throw new Error(`gap u8 ${name} [${im.label}]: ${d}`);
      }
    });
    it(`f32 ${name}`, () => {
      const r = rng(cs.hw * 13 + cs.c);
      const x = Float32Array.from({ length: cs.n * cs.hw * cs.c }, () => (r() - 0.3) * 10);
      const expected = refGapF32(x, cs.n, cs.hw, cs.c);
      for (const im of kernelImpls(h)) {
        h.heap.reset();
        const pi = h.heap.put(new Uint8Array(x.buffer)), po = h.heap.alloc(expected.length * 4);
        globalAvgPoolF32(im.k, { batch: cs.n, pixels: cs.hw, channels: cs.c, input: pi, output: po, reference: im.reference });
        h.heap.checkGuards(name);
        const d = diffBits(h.heap.f32(po, expected.length), expected);
        if (d) throw new Error(`gap f32 ${name} [${im.label}]: ${d}`);
      }
    });
  }
});

// 12-bit activations: any operand in 16-bit lanes (values 0..4095), against the same references.
describe('12-bit operands (16-bit lanes)', () => {
  const q = (r: () => number, twelve: boolean, s: number) => ({ scale: s, zeroPoint: randInt(r, 0, twelve ? 4095 : 255), dtype: twelve ? 'uint12' : 'uint8' });
  const read = (at: number, n: number, twelve: boolean) => (twelve ? h.heap.u16(at, n) : h.heap.u8(at, n));
  it('vadd: every a/b/output mix, lengths 1..40 and 1031, with and without ReLU', () => {
    const r = rng(12);
    for (let mix = 1; mix < 8; mix++) {
      const a16 = (mix & 1) !== 0, b16 = (mix & 2) !== 0, o16 = (mix & 4) !== 0;
      for (const n of [...Array.from({ length: 40 }, (_, i) => i + 1), 1031]) {
        const relu = (n & 1) === 0;
        const a = a16 ? randU12(r, n) : randU8(r, n), b = b16 ? randU12(r, n) : randU8(r, n);
        const aq = q(r, a16, (a16 ? 1 / 16 : 1) * (0.01 + r() * 0.1));
        const bq = q(r, b16, (b16 ? 1 / 16 : 1) * (0.01 + r() * 0.1));
        const outq = q(r, o16, (o16 ? 1 / 16 : 1) * (0.02 + r() * 0.1));
        const { ma, mb } = addMultipliers(aq, bq, outq);
        const max = o16 ? 4095 : 255;
        const expected = refAdd(a, b, aq.zeroPoint, bq.zeroPoint, ma, mb, outq.zeroPoint, relu ? outq.zeroPoint : 0, max);
        for (const im of kernelImpls(h)) {
          h.heap.reset();
          const pa = h.heap.put(a), pb = h.heap.put(b), po = h.heap.alloc(n * (o16 ? 2 : 1));
          addQu8(im.k, { count: n, a: pa, b: pb, output: po, aq, bq, outq, relu, reference: im.reference });
          h.heap.checkGuards(`vadd mix=${mix} n=${n}`);
          const d = diff(read(po, n, o16), expected);
          if (d) throw new Error(`vadd mix=${mix} n=${n} relu=${relu} [${im.label}]: ${d}`);
        }
      }
    }
  });
  it('vadd with a float32 output (a network\'s last Add): uint8/uint12 inputs, ReLU, not rounded', () => {
    const r = rng(15);
    for (const mix of [0, 1, 2, 3]) {
      const a16 = (mix & 1) !== 0, b16 = (mix & 2) !== 0;
      for (const n of [1, 7, 8, 9, 33, 1031]) {
        const relu = (n & 1) === 1;
        const a = a16 ? randU12(r, n) : randU8(r, n), b = b16 ? randU12(r, n) : randU8(r, n);
        const aq = q(r, a16, 0.01 + r() * 0.1), bq = q(r, b16, 0.01 + r() * 0.1);
        const outq = { scale: 1, zeroPoint: 0, dtype: 'float32' };
        const expected = refAddF32(a, b, aq.zeroPoint, bq.zeroPoint, Math.fround(aq.scale), Math.fround(bq.scale), relu ? 0 : -Infinity);
        for (const im of kernelImpls(h)) {
          h.heap.reset();
          const pa = h.heap.put(a), pb = h.heap.put(b), po = h.heap.alloc(n * 4);
          addQu8(im.k, { count: n, a: pa, b: pb, output: po, aq, bq, outq, relu, reference: im.reference });
          h.heap.checkGuards(`vadd f32 mix=${mix} n=${n}`);
          const d = diffBits(h.heap.f32(po, n), expected);
          if (d) throw new Error(`vadd f32 mix=${mix} n=${n} relu=${relu} [${im.label}]: ${d}`);
        }
      }
    }
  });
  it('max pool over u16 lanes: channel tails, padding, strides', () => {
    const r = rng(13);
    for (const cs of [
      { n: 1, h: 8, w: 8, c: 16, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1] }, { n: 2, h: 9, w: 7, c: 3, k: [3, 3], s: [2, 2], p: [1, 1, 1, 1] },
      { n: 1, h: 10, w: 10, c: 33, k: [3, 3], s: [1, 1], p: [1, 0, 2, 1] }, { n: 1, h: 6, w: 6, c: 9, k: [5, 5], s: [3, 3], p: [2, 2, 2, 2] },
    ]) {
      const x = randU12(r, cs.n * cs.h * cs.w * cs.c);
      const pads = cs.p as [number, number, number, number];
      const { out: expected } = refMaxPool(x, cs.n, cs.h, cs.w, cs.c, cs.k[0]!, cs.k[1]!, cs.s[0]!, cs.s[1]!, pads);
      for (const im of kernelImpls(h)) {
        h.heap.reset();
        const pi = h.heap.put(x), po = h.heap.alloc(expected.length * 2);
        maxPoolU8(im.k, { batch: cs.n, inH: cs.h, inW: cs.w, channels: cs.c, kernel: cs.k as [number, number], stride: cs.s as [number, number], pads, input: pi, output: po, reference: im.reference, dtype: 'uint12' });
        h.heap.checkGuards(`maxpool u16 ${JSON.stringify(cs)}`);
        const d = diff(h.heap.u16(po, expected.length), expected);
        if (d) throw new Error(`maxpool u16 ${JSON.stringify(cs)} [${im.label}]: ${d}`);
        const pp = h.heap.alloc(expected.length * 2);
        const calls = maxpoolCalls({ batch: cs.n, inH: cs.h, inW: cs.w, channels: cs.c, kernel: cs.k as [number, number], stride: cs.s as [number, number], pads, input: pi, output: pp, reference: im.reference, dtype: 'uint12' }, 3, 1);
        runCalls(im.k, [...calls].reverse());
        const dp = diff(h.heap.u16(pp, expected.length), expected);
        if (dp) throw new Error(`maxpool u16 ${JSON.stringify(cs)} [${im.label}] in ${calls.length} parts: ${dp}`);
      }
    }
  });
  it('global average pool: 12-bit input and/or output', () => {
    const r = rng(14);
    for (const [in16, out16] of [[true, false], [false, true], [true, true]] as const) {
      for (const cs of [{ n: 1, hw: 49, c: 2048 }, { n: 2, hw: 49, c: 17 }, { n: 1, hw: 3136, c: 9 }, { n: 3, hw: 9, c: 5 }]) {
        const x = in16 ? randU12(r, cs.n * cs.hw * cs.c) : randU8(r, cs.n * cs.hw * cs.c);
        const inq = q(r, in16, 0.05 + r() * 0.1);
        const outq = q(r, out16, inq.scale * (0.3 + r()) * (in16 ? 1 : 1 / 16) * (out16 ? 1 : 16));
        const scale = gapMultiplier(cs.hw, inq, outq);
        const expected = refGapU8(x, cs.n, cs.hw, cs.c, inq.zeroPoint, scale, outq.zeroPoint, out16 ? 4095 : 255);
        for (const im of kernelImpls(h)) {
          h.heap.reset();
          const pi = h.heap.put(x), po = h.heap.alloc(expected.length * (out16 ? 2 : 1));
          globalAvgPoolU8(im.k, { batch: cs.n, pixels: cs.hw, channels: cs.c, input: pi, output: po, inq, outq, reference: im.reference });
          h.heap.checkGuards(`gap ${in16}/${out16} ${JSON.stringify(cs)}`);
          const d = diff(read(po, expected.length, out16), expected);
          if (d) throw new Error(`gap in16=${in16} out16=${out16} ${JSON.stringify(cs)} [${im.label}]: ${d}`);
        }
      }
    }
  });
});
