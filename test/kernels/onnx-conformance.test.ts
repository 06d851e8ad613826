// ONNX backend test cases (Debian's libonnx-testdata) through the kernels: QLinearConv,
// ConvInteger (with and without padding), MaxPool uint8, QLinearMatMul 2D and 3D.
//
// Mapping onto the kernels' contract (uint8 activations, int8 weights in [-127, 127], zero point
// folded into the bias, f32 multiplier):
//  - integer weights W = w - w_zero_point; when some d divides every W and |W / d| <= 127 the
//    kernels run W / d with the multiplier scaled by d (the same real arithmetic: acc * d * m);
//  - otherwise (QLinearMatMul: b - 114 reaches 141, a - 113 reaches 142, no common divisor) W is
//    split into W8 = clamp(W, -127, 127) plus a residual R; the kernels compute the W8 part and
//    requantize, while the residual's contribution sum((x - zx) * R), computed by the TypeScript
//    int32 reference, enters through the per-channel bias (one kernel call per output row, since
//    the contribution differs per row). The int32 accumulators are also checked exactly through
//    the float32 output mode with multiplier 1.
//  - ConvInteger's int32 output is read through the float32 output mode with multiplier 1 (exact
//    for |acc| < 2^24).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildIndirection, kernelCall, maxPoolU8, runCalls, packConvWeights, planConv2d, prepareConv2d, PACKING_GEMM, type Conv2dShape, type Kernels,
} from '../../src/kernels/index.js';
import { HAS_ONNX_TESTDATA, ONNX_TESTDATA, warnSkip } from '../helpers.js';
import { diff, loadHarness, type Harness } from './harness.js';
import { refConvAcc, type RefConv } from './ref.js';

const { onnx } = onnxProto;
const NODE = join(ONNX_TESTDATA, 'node');
const HAS = HAS_ONNX_TESTDATA && existsSync(NODE);
warnSkip(HAS, `${NODE} is absent (apt install libonnx-testdata); ONNX kernel conformance tests skipped`);

interface Tensor { name: string; dims: number[]; data: number[] }

function decodeTensor(bytes: Uint8Array): Tensor {
  const t = onnx.TensorProto.decode(bytes);
  const T = onnx.TensorProto.DataType;
  const raw = t.rawData && t.rawData.length ? Uint8Array.from(t.rawData) : null;
  let data: number[];
  switch (t.dataType) {
    case T.UINT8: data = raw ? Array.from(raw) : t.int32Data; break;
    case T.INT8: data = raw ? Array.from(new Int8Array(raw.buffer)) : t.int32Data; break;
    case T.INT32: data = raw ? Array.from(new Int32Array(raw.buffer)) : t.int32Data; break;
    case T.FLOAT: data = raw ? Array.from(new Float32Array(raw.buffer)) : t.floatData; break;
    default: throw new Error(`tensor ${t.name}: data type ${t.dataType} not handled`);
  }
  return { name: t.name, dims: t.dims.map(Number), data };
}

interface Case {
  attrs: Map<string, number[]>;
  op: string;
  inputs: Map<string, Tensor>;
  output: Tensor;
}

function loadCase(name: string): Case {
  const dir = join(NODE, name);
  const model = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
  const node = model.graph!.node![0]!;
  const attrs = new Map<string, number[]>();
  for (const a of node.attribute ?? []) attrs.set(a.name!, a.ints?.length ? a.ints.map(Number) : [Number(a.i ?? 0)]);
  const inputs = new Map<string, Tensor>();
  (node.input ?? []).forEach((inName, i) => {
    const f = join(dir, 'test_data_set_0', `input_${i}.pb`);
    if (inName && existsSync(f)) inputs.set(inName, decodeTensor(readFileSync(f)));
  });
  const output = decodeTensor(readFileSync(join(dir, 'test_data_set_0', 'output_0.pb')));
  return { attrs, op: node.opType!, inputs, output };
}

const nchwToNhwc = (x: number[], n: number, c: number, h: number, w: number): Uint8Array => {
  const o = new Uint8Array(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
    o[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx]!;
  }
  return o;
};
const nhwcToNchw = (x: ArrayLike<number>, n: number, c: number, h: number, w: number): number[] => {
  const o = new Array<number>(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
    o[((b * c + ch) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + ch]!;
  }
  return o;
};
/** OIHW integer weights -> OHWI. */
const oihwToOhwi = (w: ArrayLike<number>, o: number, i: number, kh: number, kw: number): number[] => {
  const r = new Array<number>(w.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    r[((a * kh + y) * kw + x) * i + b] = w[((a * i + b) * kh + y) * kw + x]!;
  }
  return r;
};

interface IntConv {
  shape: Conv2dShape;
  /** NHWC input */
  x: Uint8Array;
  xz: number;
  /** OHWI integer weights (w - w_zero_point), any int32 range */
  w: number[];
  bias?: number[];
  /** real multiplier for uint8 output (x_scale * w_scale / y_scale); undefined: int32 output */
  scale?: number;
  yz?: number;
}

/** Smallest d with every w / d an integer in [-127, 127], or 0. */
function commonDivisor(w: number[]): number {
  const maxAbs = Math.max(...w.map(Math.abs));
  for (let d = 1; d <= Math.max(1, maxAbs); d++) {
    if (w.every((v) => v % d === 0 && Math.abs(v / d) <= 127)) return d;
    if (Math.ceil(maxAbs / d) <= 127 && d > 255) break;
  }
  return 0;
}

const impls = (h: Harness): [Kernels, boolean, string][] => [[h.simd, false, 'simd'], [h.simd, true, 'simd-build _ref'], [h.scalar, false, 'scalar build']];

/** Runs a conv on every implementation; returns NHWC results (u8, or exact int32 via f32 output). */
function runIntConv(h: Harness, c: IntConv, label: string): { results: number[][]; how: string } {
  const s = c.shape;
  const O = s.outChannels;
  const plan = planConv2d(s, PACKING_GEMM);
  const refc: RefConv = {
    batch: s.batch, inH: s.inH, inW: s.inW, inC: s.inChannels, outC: O, kh: s.kernel[0], kw: s.kernel[1],
    sh: s.stride![0], sw: s.stride![1], pads: s.pads as [number, number, number, number], dh: s.dilation![0], dw: s.dilation![1], group: s.group ?? 1,
  };
  const exactAcc = refConvAcc(refc, c.x, c.xz, c.w, c.bias);
  const d = commonDivisor(c.w);
  const results: number[][] = [];
  const heap = h.heap;
  if (d > 0) {
    // Direct: W / d with multiplier * d (d = 1 when the weights fit).
    const w8 = Int8Array.from(c.w, (v) => v / d);
    const f32out = c.scale === undefined;
    const mult = new Float32Array(O).fill(f32out ? d : Math.fround(c.scale! * d));
    for (const [k, reference, name] of impls(h)) {
      heap.reset();
      const input = heap.put(c.x);
      const weights = heap.put(packConvWeights({ outChannels: O, inChannels: s.inChannels, kernel: s.kernel, group: s.group ?? 1, weights: w8,
        bias: c.bias ? Int32Array.from(c.bias) : undefined, multipliers: mult, inputZeroPoint: c.xz, packing: PACKING_GEMM }));
      const output = heap.alloc(plan.outputElements * 4);
      prepareConv2d(k, {
        shape: s, inputZeroPoint: c.xz, reference, packing: PACKING_GEMM, outputType: f32out ? 'float32' : 'uint8', outputZeroPoint: c.yz ?? 0,
        buffers: { input, weights, output, indirection: plan.indirectionBytes ? heap.alloc(plan.indirectionBytes) : undefined, zero: plan.zeroBytes ? heap.alloc(plan.zeroBytes) : undefined },
      })();
      heap.checkGuards(`${label} [${name}]`);
      const got = f32out ? Array.from(heap.f32(output, plan.outputElements)) : Array.from(heap.u8(output, plan.outputElements));
      if (f32out) expect(diff(got, exactAcc), `${label} [${name}] int32 accumulators`).toBeNull();
      results.push(got);
    }
    return { results, how: d === 1 ? 'int8 weights as given' : `weights / ${d}, multiplier x ${d}` };
  }
  // Split: W = W8 + R; R's contribution goes through the bias, one output pixel per call.
  const w8 = Int8Array.from(c.w, (v) => Math.max(-127, Math.min(127, v)));
  const resid = c.w.map((v, i) => v - w8[i]!);
  const residAcc = refConvAcc(refc, c.x, c.xz, resid, undefined);
  const taps = s.kernel[0] * s.kernel[1];
  for (const [k, reference, name] of impls(h)) {
    heap.reset();
    const input = heap.put(c.x);
    const ind = heap.alloc(plan.M * taps * 4);
    const zero = heap.alloc(s.inChannels + 16);
    heap.u8(zero, s.inChannels + 16).fill(c.xz);
    buildIndirection(h.memory, ind, s, input, zero);
    const fn = reference ? 'qu8_igemm_ref' : 'qu8_igemm';
    // (1) int32 accumulators of the W8 part via float32 output, multiplier 1: exact.
    const w8blob = packConvWeights({ outChannels: O, inChannels: s.inChannels, kernel: s.kernel, group: 1, weights: w8,
      bias: c.bias ? Int32Array.from(c.bias) : undefined, multipliers: new Float32Array(O).fill(1), inputZeroPoint: c.xz, packing: PACKING_GEMM });
    const wp = heap.put(w8blob);
    const accOut = heap.alloc(plan.M * O * 4);
    runCalls(k, [kernelCall(fn, {
      M: plan.M, N: O, KB: plan.KB, taps, groups: 1, ind, aGroupStride: s.inChannels, w: wp, out: accOut, outStride: O * 4, outGroupStride: O,
      zp: 0, fmin: -Infinity, fmax: Infinity, alpha: 1, beta: 0, outF32: 1, res: 0, zr: 0, mr: 0, flags: 0,
    })]);
    const acc8 = heap.f32(accOut, plan.M * O);
    const summed = Array.from(acc8, (v, i) => v + residAcc[i]!);
    expect(diff(summed, exactAcc), `${label} [${name}] int32 accumulators (W8 part + residual)`).toBeNull();
    if (c.scale === undefined) { results.push(summed); continue; }
    // (2) uint8 requantization by the kernel, residual folded into the bias per output pixel.
    const out = heap.alloc(plan.M * O);
    const mult = new Float32Array(O).fill(Math.fround(c.scale));
    for (let m = 0; m < plan.M; m++) {
      const bias = Int32Array.from({ length: O }, (_, co) => (c.bias?.[co] ?? 0) + residAcc[m * O + co]!);
      const blob = packConvWeights({ outChannels: O, inChannels: s.inChannels, kernel: s.kernel, group: 1, weights: w8, bias,
        multipliers: mult, inputZeroPoint: c.xz, packing: PACKING_GEMM });
      const wm = heap.put(blob);
      const yz = c.yz ?? 0;
      runCalls(k, [kernelCall(fn, {
        M: 1, N: O, KB: plan.KB, taps, groups: 1, ind: ind + m * taps * 4, aGroupStride: s.inChannels, w: wm, out: out + m * O, outStride: O, outGroupStride: O,
        zp: yz, fmin: -yz, fmax: 255 - yz, alpha: 1, beta: 0, outF32: 0, res: 0, zr: 0, mr: 0, flags: 0,
      })]);
    }
    heap.checkGuards(`${label} [${name}]`);
    results.push(Array.from(heap.u8(out, plan.M * O)));
  }
  return { results, how: 'int8 part by the kernels + residual weights (outside int8) through the bias' };
}

let h: Harness;

describe.skipIf(!HAS)('ONNX node tests through the kernels', () => {
  beforeAll(async () => { h = await loadHarness(64); });

  const convCase = (name: string, quantized: boolean) => {
    it(name, () => {
      const c = loadCase(name);
      const get = (n: string) => c.inputs.get(n);
      const x = get('x')!, w = get('w')!;
      const [N, C, H, W] = x.dims as [number, number, number, number];
      const [O, I, KH, KW] = w.dims as [number, number, number, number];
      const xz = get('x_zero_point')?.data[0] ?? 0;
      const wz = get('w_zero_point')?.data ?? [0];
      const pads = (c.attrs.get('pads') ?? [0, 0, 0, 0]) as number[];
      const strides = c.attrs.get('strides') ?? [1, 1];
      const dil = c.attrs.get('dilations') ?? [1, 1];
      const group = c.attrs.get('group')?.[0] ?? 1;
      const wInt = w.data.map((v, i) => v - wz[wz.length === 1 ? 0 : Math.floor(i / (I * KH * KW))]!);
      const shape: Conv2dShape = {
        batch: N, inH: H, inW: W, inChannels: C, outChannels: O, kernel: [KH, KW], stride: [strides[0]!, strides[1]!],
        pads: [pads[0]!, pads[1]!, pads[2]!, pads[3]!], dilation: [dil[0]!, dil[1]!], group,
      };
      let scale: number | undefined, yz: number | undefined;
      if (quantized) {
        const xs = get('x_scale')!.data[0]!, ws = get('w_scale')!.data, ys = get('y_scale')!.data[0]!;
        expect(ws.length, 'per-tensor weight scale').toBe(1);
        scale = (xs * ws[0]!) / ys;
        yz = get('y_zero_point')!.data[0]!;
      }
      const [, , OH, OW] = c.output.dims as [number, number, number, number];
      const { results, how } = runIntConv(h, {
        shape, x: nchwToNhwc(x.data, N, C, H, W), xz, w: oihwToOhwi(wInt, O, I, KH, KW), scale, yz,
      }, name);
      for (const [i, r] of results.entries()) {
        const got = nhwcToNchw(r, N, O, OH, OW);
        expect(diff(got, c.output.data), `${name} (${how}) implementation ${i}`).toBeNull();
      }
    });
  };
  convCase('test_qlinearconv', true);
  convCase('test_convinteger_with_padding', false);
  convCase('test_convinteger_without_padding', false);

  it('test_maxpool_2d_uint8', () => {
    const c = loadCase('test_maxpool_2d_uint8');
    const x = c.inputs.get('x')!;
    const [N, C, H, W] = x.dims as [number, number, number, number];
    const k = c.attrs.get('kernel_shape')!;
    const p = c.attrs.get('pads') ?? [0, 0, 0, 0];
    const s = c.attrs.get('strides') ?? [1, 1];
    expect(c.attrs.get('ceil_mode')?.[0] ?? 0).toBe(0);
    const [, , OH, OW] = c.output.dims as [number, number, number, number];
    for (const [kk, reference, name] of impls(h)) {
      h.heap.reset();
      const input = h.heap.put(nchwToNhwc(x.data, N, C, H, W));
      const output = h.heap.alloc(N * C * OH * OW);
      maxPoolU8(kk, { batch: N, inH: H, inW: W, channels: C, kernel: [k[0]!, k[1]!], stride: [s[0]!, s[1]!],
        pads: [p[0]!, p[1]!, p[2]!, p[3]!], input, output, reference });
      expect(diff(nhwcToNchw(h.heap.u8(output, N * C * OH * OW), N, C, OH, OW), c.output.data), name).toBeNull();
    }
  });

  for (const name of ['test_qlinearmatmul_2D', 'test_qlinearmatmul_3D']) {
    it(name, () => {
      if (!existsSync(join(NODE, name))) return void console.warn(`[skip] ${name} absent`);
      const c = loadCase(name);
      const get = (n: string) => c.inputs.get(n)!;
      const a = get('a'), b = get('b');
      const az = get('a_zero_point').data[0]!, bz = get('b_zero_point').data;
      const scale = (get('a_scale').data[0]! * get('b_scale').data[0]!) / get('y_scale').data[0]!;
      const yz = get('y_zero_point').data[0]!;
      expect(bz.length, 'per-tensor b zero point').toBe(1);
      const [M, K] = a.dims.slice(-2) as [number, number];
      const Nn = b.dims[b.dims.length - 1]!;
      const batches = a.dims.length === 3 ? a.dims[0]! : 1;
      const expected = c.output.data;
      for (let bt = 0; bt < batches; bt++) {
        const A = a.data.slice(bt * M * K, (bt + 1) * M * K);
        const B = b.dims.length === 3 ? b.data.slice(bt * K * Nn, (bt + 1) * K * Nn) : b.data;
        // A [M, K] as M pixels of K channels; B^T as 1x1 OHWI weights w[n][k] = B[k][n] - bz.
        const w = Array.from({ length: Nn * K }, (_, i) => B[(i % K) * Nn + Math.floor(i / K)]! - bz[0]!);
        const { results, how } = runIntConv(h, {
          shape: { batch: 1, inH: 1, inW: M, inChannels: K, outChannels: Nn, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1] },
          x: Uint8Array.from(A), xz: az, w, scale, yz,
        }, name);
        for (const [i, r] of results.entries()) {
          expect(diff(r, expected.slice(bt * M * Nn, (bt + 1) * M * Nn)), `${name} batch ${bt} (${how}) implementation ${i}`).toBeNull();
        }
      }
    });
  }
});
