// One convolution case run through every path: SIMD kernel, its scalar twin (*_ref) in the SIMD
// build, the scalar build, and the TypeScript reference. Throws with the problem size on mismatch.
import { conv2dCalls, expandWideWeights, packConv, planConv2d, prepareConv2d, runCalls, type Conv2dShape, type Kernels } from '../../src/kernels/index.js';
import { diff, diffBits, randI16, randI8, randInt, randU12, randU8, rng, type Harness } from './harness.js';
import { refConvAcc, refRequant, type RefActivation, type RefConv, type RefRequant } from './ref.js';
import { kernelActivation, quantizeBound } from '../../src/ops/activation.js';
import { packDwconvRelaxed, repackedRelaxedCopy, wideRelaxedBlocks, wideRelaxedWeights, type RelaxedDotMode } from '../../src/kernels/relaxed.js';
import { gemmC4Eligible, packGemmRelaxed4x8c4 } from '../../src/kernels/relaxed-c4.js';

export interface ConvCase extends RefConv {
  /** 'none' | 'relu' | 'leaky', or a fused activation in fp32 (output scale drawn at random) */
  act: 'none' | 'relu' | 'leaky' | RefActivation['kind'];
  f32out: boolean;
  seed: number;
  /** weights limited to [-wlim, wlim] (127 default; above 127 int16 weights, packed -w16 or depthwise) */
  wlim?: number;
  /** Every weight at +-wlim (signs drawn at random): the extremes of the range. */
  wext?: boolean;
  /** Every activation (and the input zero point) at the given value instead of random ones. */
  xfill?: { x: number; zin: number };
  /** fixed multiplier for every channel (ties), otherwise random */
  mult?: number;
  noBias?: boolean;
  /** force PACKING_GEMM / PACKING_IM2COL */
  packing?: string;
  /** fused residual add (quantized output only) */
  residual?: boolean;
  /** 12-bit (16-bit lane) input, output, residual */
  in12?: boolean;
  out12?: boolean;
  res12?: boolean;
  /** Run as conv2dCalls(..., parts) in reverse order (threads' parts: rows or channel blocks). */
  parts?: number;
  /** Weights set to given int16 values after the draw: [output channel, index in its K weights, value]. */
  wideAt?: [number, number, number][];
  /** An output maximum below the type's (a ReLU6-style clamp; quantized outputs): zero point + ceil, capped at the type's maximum. */
  ceil?: number;
  /**
   * Run the relaxed kernels in this lowering (weights repacked to 2x4c16; a depthwise layer:
   * qu8_dwconv_relaxed_c16x4 with packDwconvRelaxed's form beside the blob): their scalar twin in the
   * SIMD build, the scalar build, and the relaxed build (h.relaxed) where the probe found this
   * lowering exact (h.relaxedDot === mode). Not 'u8xs8' with act7 elsewhere: Node 20's
   * Liftoff miscomputes even 0..127 activations (measured, docs/tuning-log.md).
   */
  relaxed?: RelaxedDotMode;
  /** Activations and the input zero point in 0..127. */
  act7?: boolean;
  /**
   * Output channels given one weight outside int8 (-255..-129 or 128..255) each: a -w16 layer; with `relaxed`
   * it runs split (wideRelaxedBlocks: these channels' 4-channel blocks on the i16 kernels).
   */
  wideIn?: number[];
  /**
   * With `relaxed`, a 1x1 GEMM on qu8_gemm_relaxed_4x8c4 (packGemmRelaxed4x8c4 of the int8 blob, or
   * of a -w16 blob's int16 layout: channels beyond int8 then run on offsets and row sums).
   */
  c4?: boolean;
  /** Weights of a uint8 per-tensor scheme: 1..255 minus this zero point (int16, a -w16 layer; span 254). */
  wu8?: number;
}

export function describe(c: ConvCase): string {
  return `conv N=${c.batch} ${c.inH}x${c.inW}x${c.inC} -> ${c.outC} k${c.kh}x${c.kw} s${c.sh}x${c.sw} ` +
    `pads[${c.pads}] d${c.dh}x${c.dw} g${c.group} act=${c.act} out=${c.f32out ? 'f32' : 'u8'} seed=${c.seed}` +
    (c.packing ? ` packing=${c.packing}` : '') + (c.residual ? ' +residual' : '') +
    (c.in12 || c.out12 || c.res12 ? ` 12-bit:${c.in12 ? ' in' : ''}${c.out12 ? ' out' : ''}${c.res12 ? ' res' : ''}` : '') +
    (c.parts ? ` parts=${c.parts}` : '') + (c.wideIn ? ` wide channels [${c.wideIn}]` : '') + (c.relaxed ? ` relaxed=${c.relaxed}` : '') + (c.c4 ? ' 4x8c4' : '') + (c.wu8 !== undefined ? ` wu8 zw=${c.wu8}` : '') + (c.act7 ? ' act7' : '') +
    (c.wlim !== undefined ? ` wlim=${c.wlim}${c.wext ? ' (all +-)' : ''}` : '') + (c.xfill ? ` x=${c.xfill.x} zin=${c.xfill.zin}` : '');
}

export function runConvCase(h: Harness, c: ConvCase): { strategy: string; runs: string[] } {
  const name = describe(c);
  const r = rng(c.seed);
  const cpg = c.inC / c.group;
  const x = c.in12 ? randU12(r, c.batch * c.inH * c.inW * c.inC) : randU8(r, c.batch * c.inH * c.inW * c.inC);
  if (c.act7) for (let i = 0; i < x.length; i++) x[i] = x[i]! & 127;
  if (c.xfill) x.fill(c.xfill.x);
  const zin = c.xfill ? c.xfill.zin : randInt(r, 0, c.in12 ? 4095 : c.act7 ? 127 : 255);
  const wlim = c.wlim ?? 127;
  const nw = c.outC * c.kh * c.kw * cpg;
  const w = c.wu8 !== undefined ? Int16Array.from({ length: nw }, () => randInt(r, 1, 255) - c.wu8!) : wlim > 127 ? randI16(r, nw, wlim) : randI8(r, nw, wlim);
  if (c.wext) for (let i = 0; i < w.length; i++) w[i] = r() < 0.5 ? -wlim : wlim;
  const K0 = c.kh * c.kw * cpg;
  let wAll: Int8Array | Int16Array = w;
  if (c.wideIn || c.wideAt) {
    wAll = Int16Array.from(w);
    for (const co of c.wideIn ?? []) wAll[co * K0 + randInt(r, 0, K0 - 1)] = r() < 0.5 ? -randInt(r, 129, 255) : randInt(r, 128, 255);
    for (const [co, k, v] of c.wideAt ?? []) wAll[co * K0 + k] = v;
  }
  const bias = c.noBias ? undefined : Int32Array.from({ length: c.outC }, () => randInt(r, -20000, 20000));
  const K = c.kh * c.kw * cpg;
  const outMax = c.out12 ? 4095 : 255;
  // Scaled so the outputs spread over the output range (x16 for 12-bit outputs, /16 for 12-bit inputs).
  const mscale = (c.out12 ? 16 : 1) / (c.in12 ? 16 : 1);
  const mult = Float32Array.from({ length: c.outC }, () => c.mult ?? mscale * (0.004 + 0.02 * r()) / Math.sqrt(K));
  const zo = randInt(r, 0, outMax);
  const alpha = c.act === 'leaky' ? Math.fround(0.1 + 0.2 * r()) : 1;
  const rq: RefRequant = {
    f32out: c.f32out, zp: c.f32out ? 0 : zo,
    outMin: c.act === 'relu' ? zo : 0, outMax: c.ceil !== undefined && !c.f32out ? Math.min(outMax, zo + c.ceil) : outMax,
    fMin: c.f32out && c.act === 'relu' ? 0 : -Infinity, fMax: Infinity, alpha,
  };
  // A fused activation: the output's scale s (real = s * (q - zo)) spreads x over about +-3..+-12,
  // HardSigmoid draws (alpha, beta) and clamps at [Q(0), Q(1)] ([0, 1] for a float32 output).
  let fused: ReturnType<typeof kernelActivation>;
  if (c.act !== 'none' && c.act !== 'relu' && c.act !== 'leaky') {
    const y = { dtype: c.f32out ? 'float32' as const : c.out12 ? 'uint12' as const : 'uint8' as const, scale: Math.fround((0.02 + 0.08 * r()) / (c.out12 ? 16 : 1)), zeroPoint: zo };
    const a = c.act === 'hardsigmoid' ? { kind: c.act, alpha: 0.1 + 0.2 * r(), beta: 0.3 + 0.4 * r() } : { kind: c.act };
    fused = kernelActivation(a, y)!;
    rq.act = { kind: c.act, alpha: fused.alpha, beta: fused.beta };
    if (a.kind === 'hardsigmoid') {
      if (c.f32out) { rq.fMin = 0; rq.fMax = 1; } else { rq.outMin = quantizeBound(0, y); rq.outMax = quantizeBound(1, y); }
    }
  }
  const acc = refConvAcc(c, x, zin, wAll, bias);
  const res = c.residual
    ? c.res12
      ? { r: randU12(r, acc.length), zr: randInt(r, 0, 4095), mr: Math.fround((0.2 + 1.5 * r()) * (c.out12 ? 1 : 1 / 16)) }
      : { r: randU8(r, acc.length), zr: randInt(r, 0, 255), mr: Math.fround((0.2 + 1.5 * r()) * (c.out12 ? 16 : 1)) }
    : undefined;
  const expected = refRequant(acc, c.outC, mult, rq, res);

  const shape: Conv2dShape = {
    batch: c.batch, inH: c.inH, inW: c.inW, inChannels: c.inC, outChannels: c.outC,
    kernel: [c.kh, c.kw], stride: [c.sh, c.sw], pads: c.pads, dilation: [c.dh, c.dw], group: c.group,
    inputType: c.in12 ? 'uint12' : 'uint8',
  };
  // The packer picks the layout (int16 -w16 ones when a weight leaves int8) unless c.packing forces one.
  const { packing, blob } = packConv({
    outChannels: c.outC, inChannels: c.inC, kernel: [c.kh, c.kw], group: c.group,
    weights: wAll, bias, multipliers: mult, inputZeroPoint: zin, packing: c.packing,
  });
  const plan = planConv2d(shape, packing);
  const heap = h.heap;
  heap.reset();
  const input = heap.put(x);
  // A -w16 blob (int8 blocks + outliers) goes to the kernels in its int16 layout, as the conv op places it.
  // With relaxed, a -w16 blob runs split: its int16 layout then its int8 blocks in 2x4c16 (wideRelaxedWeights).
  const c4 = c.c4 ? packGemmRelaxed4x8c4(plan.wide ? expandWideWeights(blob, plan) : blob, plan, c.relaxed!) : undefined;
  if (c.c4 && !(c4 && gemmC4Eligible(plan, shape.inputType, c.f32out ? 'float32' : c.out12 ? 'uint12' : 'uint8', !!c.residual))) throw new Error(`${name}: not a qu8_gemm_relaxed_4x8c4 layer`);
  const split = c.relaxed && plan.wide && !c4 ? wideRelaxedBlocks(plan, shape.inputType, blob) : undefined;
  if (c.relaxed && plan.wide && !split && !c4) throw new Error(`${name}: a -w16 layer the relaxed split does not take`);
  const dwRelaxed = c.relaxed && plan.strategy === 'dwconv';
  const weights = heap.put(c4 ? c4.bytes : split ? wideRelaxedWeights(blob, plan, c.relaxed!, split) : c.relaxed && !dwRelaxed ? repackedRelaxedCopy(blob, plan, c.relaxed) : plan.wide ? expandWideWeights(blob, plan) : blob);
  const dwWeights = dwRelaxed ? heap.put(packDwconvRelaxed(blob, plan.kernelTaps, c.relaxed!)) : 0;
  const resAt = res ? heap.put(res.r) : 0;
  const outBytes = plan.outputElements * (c.f32out ? 4 : c.out12 ? 2 : 1);
  const runs: { k: Kernels; reference: boolean; label: string }[] = [
    { k: h.simd, reference: false, label: 'simd' },
    { k: h.simd, reference: true, label: 'simd-build _ref' },
    { k: h.scalar, reference: false, label: 'scalar build' },
  ];
  if (c.relaxed) {
    runs[0] = { k: h.scalar, reference: true, label: 'scalar-build _ref' };
    if (h.relaxed && h.relaxedDot === c.relaxed) runs.push({ k: h.relaxed, reference: false, label: 'relaxed build' });
  }
  for (const run of runs) {
    const output = heap.alloc(outBytes);
    const buffers = {
      input, output, weights,
      indirection: plan.indirectionBytes ? heap.alloc(plan.indirectionBytes) : undefined,
      zero: plan.zeroBytes ? heap.alloc(plan.zeroBytes) : undefined,
      scratch: plan.scratchBytes ? heap.alloc(plan.scratchBytes * (c.parts ?? 1)) : undefined,
    };
    const args = {
      shape, buffers, inputZeroPoint: zin, reference: run.reference, packing: plan.packing, relaxed: c.relaxed,
      wideRelaxed: split ? { blocks: split, weights: weights + plan.bytes } : undefined,
      dwconvRelaxed: dwRelaxed ? { weights: dwWeights } : undefined,
      gemmC4: c4 ? { weights, rowSums: c4.rowSums, corrections: c4.corrections } : undefined,
      outputType: c.f32out ? 'float32' as const : c.out12 ? 'uint12' as const : 'uint8' as const, outputZeroPoint: zo, outMin: rq.outMin, outMax: rq.outMax,
      fMin: rq.fMin, fMax: rq.fMax, alpha, activation: fused,
      residual: res ? { input: resAt, zeroPoint: res.zr, multiplier: res.mr, dtype: c.res12 ? 'uint12' as const : 'uint8' as const } : undefined,
    };
    if (c.parts) runCalls(run.k, conv2dCalls(run.k, args, c.parts).reverse());
    else prepareConv2d(run.k, args)();
    heap.checkGuards(`${name} [${run.label}]`);
    const got = c.f32out ? heap.f32(output, plan.outputElements).slice()
      : c.out12 ? heap.u16(output, plan.outputElements).slice() : heap.u8(output, plan.outputElements).slice();
    const d = c.f32out ? diffBits(got as Float32Array, expected as Float32Array) : diff(got, expected);
    if (d) throw new Error(`${name} strategy=${plan.strategy} [${run.label}] vs TS reference: ${d}`);
  }
  return { strategy: plan.strategy, runs: runs.map((r) => r.label) };
}
