// An imported model against onnxruntime-web running the source ONNX file on the same labelled
// images: top-1 / top-5 counts of both engines, their top-1 agreement, and how far the logits are
// apart in output LSBs. bench/import-accuracy.ts and test/import/zoo.test.ts use it (Node).
import { Session } from 'edgeq';
import { readImage } from 'edgeq/decode';
import { preprocess, type PreprocessSpec } from 'edgeq/image';
import type { LabelledImage } from '../image/folder-node.js';
import { ReferenceSession } from '../reference/ort-runner.js';
import { argmax, topK } from '../quantize/report.js';

export interface ImportComparison {
  images: number;
  /** Images whose label is the engine's first (top1) or among its first five (top5). */
  edgeq: { top1: number; top5: number };
  reference: { top1: number; top5: number };
  /** Images where both engines' first class is the same. */
  agree: number;
  /** Logits identical in every element. */
  identical: number;
  /** The images whose logits are not identical. */
  differing: string[];
  /** The largest |edgeq - reference| over all logits, in output LSBs (scale of the output tensor). */
  worstLsb: number;
}

/** Runs `images` (labelled) through both engines: edgeq on `edgeq` bytes, onnxruntime-web (1 thread) on `onnx` bytes. */
export async function compareWithReference(onnx: Uint8Array, edgeq: Uint8Array, images: readonly LabelledImage[], spec: PreprocessSpec,
  onImage?: (done: number) => void): Promise<ImportComparison> {
  const ref = await ReferenceSession.create(onnx);
  const session = await Session.create(edgeq, { threads: 1 });
  const out = session.model.tensors[session.model.outputs[0]!.tensor]!;
  const lsb = out.dtype === 'float32' ? 1 : out.scale;
  const r: ImportComparison = { images: 0, edgeq: { top1: 0, top5: 0 }, reference: { top1: 0, top5: 0 }, agree: 0, identical: 0, differing: [], worstLsb: 0 };
  try {
    for (const img of images) {
      const x = preprocess(readImage(img.path), spec);
      const y = await session.run(x);
      const d = (await ref.run({ [ref.inputNames[0]!]: { dims: session.model.input.nchw, data: x } })).outputs[ref.outputNames[0]!]!.data;
      let same = true;
      for (let i = 0; i < y.length; i++) {
        const diff = Math.abs(y[i]! - d[i]!);
        if (diff !== 0) same = false;
        r.worstLsb = Math.max(r.worstLsb, Math.round(diff / lsb));
      }
      const label = img.label ?? -1;
      const [te, tr] = [topK(y, 5), topK(d, 5)];
      if (argmax(y) === label) r.edgeq.top1++;
      if (te.includes(label)) r.edgeq.top5++;
      if (argmax(d) === label) r.reference.top1++;
      if (tr.includes(label)) r.reference.top5++;
      if (argmax(y) === argmax(d)) r.agree++;
      if (same) r.identical++; else r.differing.push(img.file);
      r.images++;
      onImage?.(r.images);
    }
  } finally {
    await ref.release();
    session.release();
  }
  return r;
}
