// Packing layout, planning, SIMD detection and module loading.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import {
  PACKING_GEMM, PACKING_IM2COL, SIMD_PROBE_BYTES, convPacking, detectSimd, fullyConnectedQu8, instantiateKernels,
  PACKING_DWCONV, packConv, packConvWeights, packGeometry, packedConvWeightsSize, planConv2d,
} from '../../src/kernels/index.js';
import { REPO_ROOT } from '../helpers.js';
import { diff, diffBits, loadHarness, randI8, randInt, randU8, rng, type Harness } from './harness.js';
import { refConvAcc, refRequant } from './ref.js';
import { SCALAR_WASM, ensureWasmBuilt, wasmBytes } from './wasm-build.js';

const wasmDis = join(REPO_ROOT, 'node_modules', '.bin', 'wasm-dis');

describe('packConvWeights layout', () => {
  it('places bias (zero point folded), weights by k-block of 8 and multipliers per block of 4 channels', () => {
    // 5 output channels, 3 input channels, 1x1: KB = 1, 2 blocks of 4 channels, 64 bytes each.
    const w = Int8Array.from({ length: 15 }, (_, i) => i - 7); // w[co][ci] = 3*co + ci - 7
    const bias = Int32Array.from([100, 200, 300, 400, 500]);
    const mult = Float32Array.from([0.5, 0.25, 0.125, 2, 3]);
    const blob = packConvWeights({ outChannels: 5, inChannels: 3, kernel: [1, 1], group: 1, weights: w, bias, multipliers: mult, inputZeroPoint: 10 });
    expect(blob.length).toBe(128);
    expect(packedConvWeightsSize({ outChannels: 5, inChannels: 3, kernel: [1, 1], group: 1 })).toBe(128);
    const dv = new DataView(blob.buffer);
    const i8 = new Int8Array(blob.buffer);
    for (let co = 0; co < 5; co++) {
      const blk = (co >> 2) * 64, j = co & 3;
      const sum = (3 * co - 7) + (3 * co - 6) + (3 * co - 5);
      expect(dv.getInt32(blk + j * 4, true)).toBe(bias[co]! - 10 * sum);
      for (let ci = 0; ci < 8; ci++) expect(i8[blk + 16 + j * 8 + ci]).toBe(ci < 3 ? 3 * co + ci - 7 : 0);
      expect(dv.getFloat32(blk + 48 + j * 4, true)).toBe(mult[co]);
    }
    // Padded channels 5..7 of block 1: zero bias, weights and multipliers.
    for (let b = 64 + 4; b < 64 + 16; b++) expect(blob[b]).toBe(0);
    for (let b = 64 + 16 + 8; b < 64 + 48; b++) expect(blob[b]).toBe(0);
    for (let b = 64 + 52; b < 128; b++) expect(blob[b]).toBe(0);
  });

  it('per-tap layout for 3x3 with 20 channels: tap t, k-block kb at 16 + (t*KB + kb)*32', () => {
    const g = packGeometry({ outChannels: 4, inChannels: 20, kernel: [3, 3], group: 1 });
    expect(g).toMatchObject({ packing: PACKING_GEMM, im2col: false, taps: 9, KB: 3, nBlocks: 1, blockBytes: 32 + 9 * 3 * 32 });
    const w = randI8(rng(1), 4 * 9 * 20);
    const blob = packConvWeights({ outChannels: 4, inChannels: 20, kernel: [3, 3], group: 1, weights: w, multipliers: new Float32Array(4), inputZeroPoint: 0 });
    const i8 = new Int8Array(blob.buffer);
    for (let co = 0; co < 4; co++) for (let t = 0; t < 9; t++) for (let ci = 0; ci < 24; ci++) {
      const v = i8[16 + (t * 3 + (ci >> 3)) * 32 + co * 8 + (ci & 7)];
      expect(v).toBe(ci < 20 ? w[(co * 9 + t) * 20 + ci] : 0);
    }
  });

  it('flattened K (im2col) for the 3-channel 7x7 stem, per-tap otherwise', () => {
    const stem = { outChannels: 64, inChannels: 3, kernel: [7, 7] as [number, number], group: 1 };
    expect(convPacking(stem)).toBe(PACKING_IM2COL);
    expect(packGeometry(stem)).toMatchObject({ taps: 1, KB: 19, nBlocks: 16 }); // 147 -> 152
    expect(convPacking({ outChannels: 64, inChannels: 64, kernel: [3, 3], group: 1 })).toBe(PACKING_GEMM);
    expect(convPacking({ outChannels: 64, inChannels: 3, kernel: [1, 1], group: 1 })).toBe(PACKING_GEMM);
    // Depthwise (group == channels > 1): its own layout, qu8-dwconv-c16 (test/kernels/dwconv.test.ts).
    expect(convPacking({ outChannels: 6, inChannels: 6, kernel: [3, 3], group: 6 })).toBe(PACKING_DWCONV);
    const w = randI8(rng(2), 2 * 49 * 3);
    const p = packConv({ outChannels: 2, inChannels: 3, kernel: [7, 7], group: 1, weights: w, multipliers: new Float32Array(2), inputZeroPoint: 0 });
    expect(p.packing).toBe(PACKING_IM2COL);
    const i8 = new Int8Array(p.blob.buffer);
    for (let co = 0; co < 2; co++) for (let k = 0; k < 152; k++) {
      expect(i8[16 + (k >> 3) * 32 + co * 8 + (k & 7)]).toBe(k < 147 ? w[co * 147 + k] : 0);
    }
  });

  it('groups pack one run of blocks per group', () => {
    const g = packGeometry({ outChannels: 12, inChannels: 6, kernel: [3, 3], group: 3 });
    expect(g).toMatchObject({ groups: 3, cinPerGroup: 2, coutPerGroup: 4, KB: 1, nBlocks: 1, bytes: 3 * (32 + 9 * 32) });
  });

  it('rejects inconsistent inputs with EdgeqError BAD_SHAPE', () => {
    const base = { outChannels: 4, inChannels: 8, kernel: [1, 1] as [number, number], group: 1, multipliers: new Float32Array(4), inputZeroPoint: 0 };
    expect(() => packConvWeights({ ...base, weights: new Int8Array(31) })).toThrow(EdgeqError);
    expect(() => packConvWeights({ ...base, weights: new Int8Array(32), bias: new Int32Array(3) })).toThrow(/bias/);
    expect(() => packConvWeights({ ...base, weights: new Int8Array(32), inputZeroPoint: 4096 })).toThrow(/zero point/);
    expect(() => packGeometry({ outChannels: 4, inChannels: 6, kernel: [1, 1], group: 4 })).toThrow(/divisible/);
  });
});

describe('planConv2d', () => {
  it('sizes ResNet-50 layers', () => {
    const stem = planConv2d({ batch: 1, inH: 224, inW: 224, inChannels: 3, outChannels: 64, kernel: [7, 7], stride: [2, 2], pads: [3, 3, 3, 3] });
    expect(stem).toMatchObject({ strategy: 'im2col', outH: 112, outW: 112, M: 12544, indirectionBytes: 12544 * 49 * 4, scratchBytes: 128 * (152 + 8), zeroBytes: 32 });
    const l1 = planConv2d({ batch: 2, inH: 56, inW: 56, inChannels: 64, outChannels: 64, kernel: [3, 3], pads: [1, 1, 1, 1] });
    expect(l1).toMatchObject({ strategy: 'igemm', M: 2 * 3136, indirectionBytes: 2 * 3136 * 9 * 4, scratchBytes: 0, zeroBytes: 80 });
    const pw = planConv2d({ batch: 1, inH: 56, inW: 56, inChannels: 64, outChannels: 256, kernel: [1, 1] });
    expect(pw).toMatchObject({ strategy: 'gemm', indirectionBytes: 0, zeroBytes: 0, scratchBytes: 0 });
    const proj = planConv2d({ batch: 1, inH: 56, inW: 56, inChannels: 256, outChannels: 512, kernel: [1, 1], stride: [2, 2] });
    // A strided 1x1 gathers its pixels into 128-row blocks (the im2col path, one tap, same packing).
    expect(proj).toMatchObject({ strategy: 'im2col', packing: 'qu8-gemm-2x4c8', outH: 28, outW: 28, indirectionBytes: 784 * 4, zeroBytes: 0, scratchBytes: 128 * (256 + 8) });
    const grouped = planConv2d({ batch: 1, inH: 8, inW: 8, inChannels: 16, outChannels: 16, kernel: [1, 1], stride: [2, 2], group: 2 });
    expect(grouped).toMatchObject({ strategy: 'igemm', scratchBytes: 0 }); // the im2col kernel has no groups
  });
});

describe('SIMD detection and loading', () => {
  it('the probe is the module it claims to be and validates on this engine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeq-probe-'));
    writeFileSync(join(dir, 'probe.wasm'), SIMD_PROBE_BYTES);
    const wat = execFileSync(wasmDis, [join(dir, 'probe.wasm')], { encoding: 'utf8' });
    expect(wat).toContain('i8x16.splat');
    expect(wat).toContain('i32x4.dot_i16x8_s');
    expect(WebAssembly.validate(SIMD_PROBE_BYTES)).toBe(true);
    expect(detectSimd()).toBe(true);
    // An unknown SIMD opcode must not validate (the probe really checks the instruction).
    const bad = SIMD_PROBE_BYTES.slice();
    bad[bad.length - 3] = 0xff;
    expect(WebAssembly.validate(bad)).toBe(false);
  });

  it('the scalar build contains no SIMD instruction; both builds load', async () => {
    ensureWasmBuilt();
    const wat = execFileSync(wasmDis, [SCALAR_WASM], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(wat).not.toMatch(/v128|i8x16|i16x8|i32x4|f32x4/);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const s = await instantiateKernels(wasmBytes(true), memory);
    const c = await instantiateKernels(new WebAssembly.Module(wasmBytes(false)), memory);
    expect(s.simd).toBe(true);
    expect(c.simd).toBe(false);
    expect(s.im2colRows).toBe(128);
  });

  it('rejects bytes that are not the kernel module', async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    await expect(instantiateKernels(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), memory)).rejects.toThrow(/lacks export/);
    await expect(instantiateKernels(new Uint8Array([1, 2, 3]), memory)).rejects.toThrow(EdgeqError);
  });
});

describe('fully connected', () => {
  let h: Harness;
  beforeAll(async () => { h = await loadHarness(256); });
  it('batch 1..3, features 1..2048, u8 and f32 output', () => {
    const r = rng(5);
    for (const [inF, outF] of [[2048, 1000], [1, 1], [5, 3], [17, 33], [64, 10], [513, 7]] as const) {
      for (const batch of [1, 2, 3]) {
        for (const f32out of [false, true]) {
          const name = `fc batch=${batch} ${inF}->${outF} ${f32out ? 'f32' : 'u8'}`;
          const x = randU8(r, batch * inF);
          const w = randI8(r, outF * inF);
          const bias = Int32Array.from({ length: outF }, () => randInt(r, -5000, 5000));
          const mult = Float32Array.from({ length: outF }, () => (0.004 + 0.02 * r()) / Math.sqrt(inF));
          const zin = randInt(r, 0, 255), zo = randInt(r, 0, 255);
          const c = { batch, inH: 1, inW: 1, inC: inF, outC: outF, kh: 1, kw: 1, sh: 1, sw: 1, pads: [0, 0, 0, 0] as [number, number, number, number], dh: 1, dw: 1, group: 1 };
          const expected = refRequant(refConvAcc(c, x, zin, w, bias), outF, mult,
            { f32out, zp: zo, outMin: 0, outMax: 255, fMin: -Infinity, fMax: Infinity, alpha: 1 });
          for (const [k, reference, label] of [[h.simd, false, 'simd'], [h.simd, true, 'ref'], [h.scalar, false, 'scalar build']] as const) {
            h.heap.reset();
            const input = h.heap.put(x);
            const weights = h.heap.put(packConvWeights({ outChannels: outF, inChannels: inF, kernel: [1, 1], group: 1, weights: w, bias, multipliers: mult, inputZeroPoint: zin }));
            const output = h.heap.alloc(batch * outF * (f32out ? 4 : 1));
            fullyConnectedQu8(k, { batch, inFeatures: inF, outFeatures: outF, input, output, weights, reference,
              outputType: f32out ? 'float32' : 'uint8', outputZeroPoint: zo });
            h.heap.checkGuards(name);
            const d = f32out ? diffBits(h.heap.f32(output, batch * outF), expected as Float32Array) : diff(h.heap.u8(output, batch * outF), expected);
            if (d) throw new Error(`${name} [${label}]: ${d}`);
          }
        }
      }
    }
  });
});
