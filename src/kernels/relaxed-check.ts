// The self-check a Session runs before it trusts a relaxed build: small layers through the i16
// kernels and through the relaxed kernels in the probed lowering, on the module itself (so a
// miscompiled or mislowered relaxed dot, or a wrong build, is caught before any model runs).
import { conv2dCalls, planConv2d, runCalls, type Conv2dShape } from './conv.js';
import { expandWideWeights, packConv } from './packing.js';
import { packDwconvRelaxed, repackedRelaxedCopy, type RelaxedDotMode } from './relaxed.js';
import { packGemmRelaxed4x8c4 } from './relaxed-c4.js';
import { instantiateKernels } from './wasm.js';

/**
 * Layers of the self-check: IGEMM 3x3 with padding (odd M, a partial channel block), 1x1 GEMM, a
 * 3x3 IGEMM on 24 channels (odd KB: each tap ends with the 8-K step), a 3x3 depthwise conv on
 * 24 channels (qu8_dwconv_relaxed_c16x4: two groups of four taps and the i16 ninth), a 3x3 RGB
 * stem (im2col, K = 27: qu8_conv_im2col_relaxed_2x4c16), and a 1x1 GEMM on qu8_gemm_relaxed_4x8c4
 * (15 rows, K = 40, 20 channels, every fourth on uint8-scheme weights: offsets and row sums).
 */
const CHECK_SHAPES: Conv2dShape[] = [
  { batch: 1, inH: 5, inW: 7, inChannels: 32, outChannels: 10, kernel: [3, 3], pads: [1, 1, 1, 1] },
  { batch: 1, inH: 3, inW: 5, inChannels: 64, outChannels: 12, kernel: [1, 1] },
  { batch: 1, inH: 3, inW: 4, inChannels: 24, outChannels: 6, kernel: [3, 3], pads: [1, 1, 1, 1] },
  { batch: 1, inH: 4, inW: 5, inChannels: 24, outChannels: 24, kernel: [3, 3], pads: [1, 1, 1, 1], group: 24 },
  { batch: 1, inH: 7, inW: 6, inChannels: 3, outChannels: 8, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] },
  { batch: 1, inH: 3, inW: 5, inChannels: 40, outChannels: 20, kernel: [1, 1] },
];
/** Index of the CHECK_SHAPES layer run on qu8_gemm_relaxed_4x8c4. */
const C4_CHECK = 5;

/**
 * True when every check layer gives identical output bytes through the i16 kernels and through
 * their relaxed forms in `mode` on `module` (which must be a relaxed build). Inputs cover the full
 * uint8 range (255s included), weights -127..127 (and -59..195 on the 4x8c4 layer's offset
 * channels). Run twice (cold and again after 50 repetitions) so that a tier-up difference shows.
 */
export async function relaxedSelfCheck(module: WebAssembly.Module, mode: RelaxedDotMode): Promise<boolean> {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
  const k = await instantiateKernels(module, memory);
  if (!k.relaxed) return false;
  const heap = new Uint8Array(memory.buffer);
  let seed = 12345;
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 16; };
  for (const [i, s] of CHECK_SHAPES.entries()) {
    const group = s.group ?? 1, cpg = s.inChannels / group;
    const c4 = i === C4_CHECK;
    // The 4x8c4 layer: every fourth channel's weights 1..255 minus 60 (int16, a -w16 layer).
    const weights = Int16Array.from({ length: s.outChannels * s.kernel[0] * s.kernel[1] * cpg }, (_, j) => (c4 && Math.floor(j / cpg) % 4 === 0 ? 1 + (rnd() % 255) - 60 : (rnd() % 255) - 127));
    const { packing, blob: packed } = packConv({
      outChannels: s.outChannels, inChannels: s.inChannels, kernel: s.kernel, group, weights,
      bias: Int32Array.from({ length: s.outChannels }, () => (rnd() % 40001) - 20000),
      multipliers: Float32Array.from({ length: s.outChannels }, () => Math.fround(0.0005 + (rnd() % 1000) * 0.000002)),
      inputZeroPoint: 100 + i * 50,
    });
    const plan = planConv2d(s, packing);
    const blob = plan.wide ? expandWideWeights(packed, plan) : packed;
    const depthwise = plan.strategy === 'dwconv';
    // Depthwise: the c16x4 form beside the stored blob; 4x8c4: its form; otherwise the blob repacked to 2x4c16.
    const c4Form = c4 ? packGemmRelaxed4x8c4(blob, plan, mode) : undefined;
    if (c4 && !c4Form?.rowSums) return false;
    const relaxedBlob = depthwise ? packDwconvRelaxed(blob, plan.kernelTaps, mode) : c4Form ? c4Form.bytes : repackedRelaxedCopy(blob, plan, mode);
    // Layout: input | i16 weights | relaxed weights | two outputs | indirection | zero row | scratch (16-aligned).
    let at = 64;
    const take = (n: number): number => { const p = at; at = Math.ceil((at + n + 16) / 64) * 64; return p; };
    const inBytes = s.batch * s.inH * s.inW * s.inChannels;
    const input = take(inBytes);
    for (let j = 0; j < inBytes; j++) heap[input + j] = j % 7 === 0 ? 255 : rnd() & 255;
    const w16 = take(blob.length), wRel = take(relaxedBlob.length);
    heap.set(blob, w16);
    heap.set(relaxedBlob, wRel);
    const outs = [take(plan.outputElements), take(plan.outputElements)];
    const indirection = plan.indirectionBytes ? take(plan.indirectionBytes) : undefined;
    const zero = plan.zeroBytes ? take(plan.zeroBytes) : undefined;
    const scratch = plan.scratchBytes ? take(plan.scratchBytes) : undefined;
    const common = { shape: s, inputZeroPoint: 100 + i * 50, outputZeroPoint: 7, outMin: 0, outMax: 255 };
    const i16 = conv2dCalls(k, { ...common, packing, buffers: { input, output: outs[0]!, weights: w16, indirection, zero, scratch } });
    const rel = conv2dCalls(k, {
      ...common, packing, relaxed: mode, dwconvRelaxed: depthwise ? { weights: wRel } : undefined,
      gemmC4: c4Form ? { weights: wRel, rowSums: c4Form.rowSums } : undefined,
      buffers: { input, output: outs[1]!, weights: depthwise ? w16 : wRel, indirection, zero, scratch },
    });
    for (const reps of [1, 50]) {
      for (let r = 0; r < reps; r++) { runCalls(k, i16); runCalls(k, rel); }
      for (let j = 0; j < plan.outputElements; j++) if (heap[outs[0]! + j] !== heap[outs[1]! + j]) return false;
    }
  }
  return true;
}
