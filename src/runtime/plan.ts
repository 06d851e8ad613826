// Prepare (TFLite Micro style): everything that does not depend on the input is done once here —
// memory layout, weights copied into wasm memory, indirection buffers, requantization arguments —
// and each op becomes a closure that only calls into wasm. Eval is a loop over those closures.
import { EdgeqError } from '../errors.js';
import type { QConv, QModel, QTensor } from '../format/qmodel.js';
import { planConv2d, prepareConv2d, type Conv2dShape } from '../kernels/conv.js';
import { addMultipliers, gapMultiplier } from '../kernels/ops.js';
import { packedConvWeightsSize } from '../kernels/packing.js';
import { instantiateKernels, type Kernels } from '../kernels/wasm.js';
import { planArena, type BufferRequest } from './memory-plan.js';

const PAGE = 65536;
const ALIGN = 64;
const alignUp = (n: number, a = ALIGN) => Math.ceil(n / a) * a;

export interface ExecutionPlan {
  kernels: Kernels;
  batch: number;
  /** Byte offset and element count of the quantized input tensor (NHWC uint8). */
  input: { offset: number; tensor: QTensor };
  output: { offset: number; tensor: QTensor };
  steps: (() => void)[];
  /** Memory accounting (bytes). */
  memory: { weights: number; arena: number; constants: number; total: number };
}

function bytesOf(t: QTensor, batch: number): number {
  const [, h, w, c] = t.shape;
  return batch * h * w * c * (t.dtype === 'float32' ? 4 : 1);
}

function convShape(op: QConv, x: QTensor, batch: number): Conv2dShape {
  return {
    batch, inH: x.shape[1], inW: x.shape[2], inChannels: op.inChannels, outChannels: op.outChannels,
    kernel: op.kernel, stride: op.stride, pads: op.pads, dilation: op.dilation, group: op.group,
  };
}

/** Checks every packed blob against the size its layout needs, before anything touches wasm memory. */
export function validatePacking(model: QModel): void {
  for (const op of model.ops) {
    if (op.op !== 'conv') continue;
    let need: number;
    try {
      need = packedConvWeightsSize({ outChannels: op.outChannels, inChannels: op.inChannels, kernel: op.kernel, group: op.group }, op.packing);
    } catch (err) {
      throw new EdgeqError('BAD_MODEL', `op "${op.name}": ${(err as Error).message}`, { cause: err });
    }
    const have = model.blobs[op.weights].length;
    if (have !== need) throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights} has ${have} bytes, packing ${op.packing} needs ${need}`);
  }
}

export async function buildPlan(model: QModel, module: WebAssembly.Module, batch: number): Promise<ExecutionPlan> {
  validatePacking(model);
  const T = model.tensors;

  // 1. Weights: each blob 64-byte aligned after a small guard region at address 0.
  let cursor = ALIGN;
  const blobOffsets = model.blobs.map((b) => {
    const at = cursor;
    cursor = alignUp(cursor + b.length);
    return at;
  });
  const weightsEnd = cursor;

  // 2. Activation buffers, planned by liveness. Tensor i lives from its producer to its last reader.
  const first = new Array<number>(T.length).fill(-1);
  const last = new Array<number>(T.length).fill(-1);
  first[model.input.tensor] = 0;
  model.ops.forEach((op, i) => {
    const reads = op.op === 'add' ? [op.a, op.b] : [op.input];
    for (const r of reads) last[r] = Math.max(last[r], i);
    first[op.output] = i;
    last[op.output] = Math.max(last[op.output], i);
  });
  last[model.output.tensor] = model.ops.length; // the output is read after the last op
  const used = T.map((_, i) => i).filter((i) => first[i] >= 0);
  const requests: BufferRequest[] = used.map((i) => ({ size: bytesOf(T[i], batch), first: first[i], last: Math.max(first[i], last[i]) }));
  const arenaPlan = planArena(requests, ALIGN);
  const arenaStart = weightsEnd;
  const tensorOffset = new Map<number, number>();
  used.forEach((i, j) => tensorOffset.set(i, arenaStart + arenaPlan.offsets[j]));
  cursor = alignUp(arenaStart + arenaPlan.size);

  // 3. Per-conv constants: indirection buffers and zero rows; one shared im2col scratch.
  const constantsStart = cursor;
  let scratchBytes = 0;
  const convBuffers = new Map<number, { indirection?: number; zero?: number }>();
  model.ops.forEach((op, i) => {
    if (op.op !== 'conv') return;
    const plan = planConv2d(convShape(op, T[op.input], batch), op.packing);
    const b: { indirection?: number; zero?: number } = {};
    if (plan.indirectionBytes > 0) { b.indirection = cursor; cursor = alignUp(cursor + plan.indirectionBytes); }
    if (plan.zeroBytes > 0) { b.zero = cursor; cursor = alignUp(cursor + plan.zeroBytes); }
    scratchBytes = Math.max(scratchBytes, plan.scratchBytes);
    convBuffers.set(i, b);
  });
  const scratch = cursor;
  // The conv kernels read up to 7 bytes past a pixel's last channel (those lanes meet zero weights),
  // so the memory keeps a readable tail after the last buffer.
  cursor = alignUp(cursor + scratchBytes + 16);
  const total = cursor;

  const pages = Math.ceil(total / PAGE);
  if (pages > 65536) throw new EdgeqError('BAD_MODEL', `the model needs ${total} bytes of wasm memory, more than 4 GiB`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const kernels = await instantiateKernels(module, memory);
  const heap = new Uint8Array(memory.buffer);
  model.blobs.forEach((b, i) => heap.set(b, blobOffsets[i]));

  const at = (t: number) => tensorOffset.get(t)!;
  const ex = kernels.exports;
  const steps = model.ops.map((op, i): (() => void) => {
    switch (op.op) {
      case 'conv': {
        const x = T[op.input], y = T[op.output];
        const relu = op.activation.kind === 'relu';
        const out = y.dtype === 'float32'
          ? { outputType: 'float32' as const, fMin: relu ? 0 : undefined }
          : { outputType: 'uint8' as const, outputZeroPoint: y.zeroPoint, outMin: relu ? y.zeroPoint : 0, outMax: 255 };
        return prepareConv2d(kernels, {
          shape: convShape(op, x, batch), packing: op.packing, inputZeroPoint: x.zeroPoint,
          alpha: op.activation.kind === 'leakyrelu' ? op.activation.alpha : 1, ...out,
          buffers: { input: at(op.input), output: at(op.output), weights: blobOffsets[op.weights], scratch, ...convBuffers.get(i) },
        });
      }
      case 'add': {
        const a = T[op.a], b = T[op.b], y = T[op.output];
        const { ma, mb } = addMultipliers(a, b, y);
        const zo = y.zeroPoint, lo = op.activation.kind === 'relu' ? zo : 0;
        const n = bytesOf(y, batch), pa = at(op.a), pb = at(op.b), po = at(op.output);
        return () => ex.qu8_vadd(n, pa, pb, po, a.zeroPoint, b.zeroPoint, ma, mb, zo, lo - zo, 255 - zo);
      }
      case 'maxpool': {
        const x = T[op.input], y = T[op.output];
        const [, H, W, C] = x.shape, [, OH, OW] = y.shape;
        const pi = at(op.input), po = at(op.output);
        return () => ex.u8_maxpool(batch, H, W, C, OH, OW, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1], pi, po);
      }
      case 'gap': {
        const x = T[op.input], y = T[op.output];
        const [, H, W, C] = x.shape;
        const pi = at(op.input), po = at(op.output);
        if (x.dtype === 'float32') return () => ex.f32_gavgpool(batch, H * W, C, pi, po);
        const m = gapMultiplier(H * W, x, y), zo = y.zeroPoint;
        return () => ex.qu8_gavgpool(batch, H * W, C, pi, po, x.zeroPoint, m, zo, -zo, 255 - zo);
      }
    }
  });
  return {
    kernels, batch, steps,
    input: { offset: at(model.input.tensor), tensor: T[model.input.tensor] },
    output: { offset: at(model.output.tensor), tensor: T[model.output.tensor] },
    memory: { weights: weightsEnd, arena: arenaPlan.size, constants: total - constantsStart, total: pages * PAGE },
  };
}
