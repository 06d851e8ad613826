// The .edgeq `mul` op: elementwise multiply of two quantized tensors (any mix of uint8 / uint12)
// into a quantized output, through qu8_vmul: same shapes, or b [N,1,1,C] broadcast over a's H x W
// (the squeeze-and-excitation gate: one call per image, b's row reused for every pixel).
import { isQuantized, quantMax, type QMul, type QTensor } from '../format/qmodel.js';
import { VMUL_FLAGS, kernelCall, type KernelCall, type Qu8VmulArgs } from '../kernels/kernel-api.generated.js';
import { TENSORS_ONLY, type OpModule } from './op-module.js';

/** Rows a part gets at least. */
const MIN_PART_ROWS = 64;

const f32 = Math.fround;

/** The kernel's multiplier f32(f32(sa * sb) / so) (float32 scales, as onnxruntime holds them). */
export function mulMultiplier(a: Pick<QTensor, 'scale'>, b: Pick<QTensor, 'scale'>, y: Pick<QTensor, 'scale'>): number {
  return f32(f32(f32(a.scale) * f32(b.scale)) / f32(y.scale));
}

/** True when b is broadcast over a's H x W ([N,1,1,C] against [N,H,W,C] with H * W > 1). */
export function isChannelBroadcast(a: QTensor, b: QTensor): boolean {
  return b.shape[1] === 1 && b.shape[2] === 1 && (a.shape[1] !== 1 || a.shape[2] !== 1) && a.shape[3] === b.shape[3] && a.shape[0] === b.shape[0];
}

/** qu8_vmul's arguments for M rows of C (bStride 0: b broadcast), output clamp the full range. */
export function vmulArgs(M: number, C: number, a: number, b: number, bStride: number, out: number, aq: QTensor, bq: QTensor, yq: QTensor): Qu8VmulArgs {
  const flags = (aq.dtype === 'uint12' ? VMUL_FLAGS.A16 : 0) | (bq.dtype === 'uint12' ? VMUL_FLAGS.B16 : 0) | (yq.dtype === 'uint12' ? VMUL_FLAGS.OUT16 : 0);
  const zo = yq.zeroPoint;
  return { M, C, a, b, bStride, out, za: aq.zeroPoint, zb: bq.zeroPoint, m: mulMultiplier(aq, bq, yq), zo, fmin: -zo, fmax: quantMax(yq.dtype as 'uint8') - zo, flags };
}

/** The whole multiply as up to `parts` calls (rows split; a broadcast b gets one call per image at least). */
export function mulCalls(batch: number, aq: QTensor, bq: QTensor, yq: QTensor, pa: number, pb: number, po: number, parts: number, reference = false): KernelCall[] {
  const fn = reference ? 'qu8_vmul_ref' : 'qu8_vmul';
  const [, H, W, C] = aq.shape;
  const ea = aq.dtype === 'uint12' ? 2 : 1, eb = bq.dtype === 'uint12' ? 2 : 1, eo = yq.dtype === 'uint12' ? 2 : 1;
  const broadcast = isChannelBroadcast(aq, bq);
  // Broadcast: per image, H * W rows against b's one row; same shapes: every row against its own.
  const images = broadcast ? batch : 1, rows = broadcast ? H * W : batch * H * W;
  const perImage = Math.max(1, Math.min(Math.ceil(parts / images), Math.floor(rows / MIN_PART_ROWS)));
  const calls: KernelCall[] = [];
  for (let n = 0; n < images; n++) {
    for (let i = 0; i < perImage; i++) {
      const r0 = Math.floor((rows * i) / perImage), r1 = Math.floor((rows * (i + 1)) / perImage);
      if (r1 <= r0) continue;
      const row0 = n * rows + r0;
      const bAt = broadcast ? pb + n * C * eb : pb + row0 * C * eb;
      calls.push(kernelCall(fn, vmulArgs(r1 - r0, C, pa + row0 * C * ea, bAt, broadcast ? 0 : C, po + row0 * C * eo, aq, bq, yq)));
    }
  }
  return calls;
}

export const mul: OpModule<QMul> = {
  kind: 'mul',

  reads: (op) => [op.a, op.b],
  writes: (op) => [op.output],

  validate(op, v) {
    const { what, fail } = v;
    const a = v.read(op.a, `${what} input a`);
    const b = v.read(op.b, `${what} input b`);
    const y = v.write(op.output, `${what} output`);
    const same = (p: QTensor, q: QTensor) => p.shape.every((d, k) => d === q.shape[k]);
    if (!(same(a, b) || isChannelBroadcast(a, b)) || !same(a, y)) {
      fail(`${what}: shapes ${JSON.stringify(a.shape)} * ${JSON.stringify(b.shape)} -> ${JSON.stringify(y.shape)}: b must have a's shape or be [N,1,1,C], and the output a's shape`);
    }
    if (![a, b, y].every((t) => isQuantized(t.dtype))) fail(`${what}: mul reads and writes uint8/uint12 tensors (${a.dtype} * ${b.dtype} -> ${y.dtype})`);
  },

  layout: () => TENSORS_ONLY,

  prepare(op, _layout, ctx) {
    const T = ctx.model.tensors;
    return mulCalls(ctx.batch, T[op.a], T[op.b], T[op.output], ctx.tensor(op.a), ctx.tensor(op.b), ctx.tensor(op.output), ctx.parts);
  },
};
