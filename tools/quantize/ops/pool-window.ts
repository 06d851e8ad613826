// ONNX pooling windows (MaxPool, AveragePool) as the .edgeq pool ops store them: ceil_mode = 1 is
// floor mode over bottom/right pads grown by the overhang of the last window.

/**
 * Output size of a window under ceil_mode (onnxruntime's and PyTorch's rule: the last window must
 * start inside the input or its leading pad), and the end pad that makes floor mode give it.
 */
export function ceilModeExtent(inSize: number, k: number, s: number, p0: number, p1: number): { out: number; extraEnd: number } {
  let out = Math.ceil((inSize + p0 + p1 - k) / s) + 1;
  if ((out - 1) * s >= inSize + p0) out--;
  return { out, extraEnd: Math.max(0, (out - 1) * s + k - (inSize + p0 + p1)) };
}

/** [top, left, bottom, right] pads with the ceil-mode overhang added at the bottom and right. */
export function ceilModePads(h: number, w: number, kernel: readonly number[], stride: readonly number[], pads: [number, number, number, number]): [number, number, number, number] {
  const eh = ceilModeExtent(h, kernel[0]!, stride[0]!, pads[0], pads[2]).extraEnd;
  const ew = ceilModeExtent(w, kernel[1]!, stride[1]!, pads[1], pads[3]).extraEnd;
  return [pads[0], pads[1], pads[2] + eh, pads[3] + ew];
}
