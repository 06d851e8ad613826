// Output helpers: softmax over rows, the top k entries, and the top classes of one row as classify()
// gives them.
import { EdgeqError } from '../errors.js';
import type { QModel } from '../format/qmodel.js';

/**
 * Softmax of each consecutive block of `size` values (default: the whole array, one row; a batch
 * output of N x C values: size C), computed in float64 with the row maximum subtracted.
 */
export function softmax(values: ArrayLike<number>, size: number = values.length): Float64Array {
  if (!Number.isInteger(size) || size < 1 || values.length % size !== 0) {
    throw new EdgeqError('BAD_OPTION', `softmax size must be a positive integer that divides the length ${values.length}, got ${size}`);
  }
  const out = new Float64Array(values.length);
  for (let r = 0; r < values.length; r += size) {
    let max = -Infinity;
    for (let i = r; i < r + size; i++) max = Math.max(max, values[i]);
    let sum = 0;
    for (let i = r; i < r + size; i++) sum += (out[i] = Math.exp(values[i] - max));
    for (let i = r; i < r + size; i++) out[i] /= sum;
  }
  return out;
}

/** The `k` largest values (fewer when there are fewer), largest first; equal values keep index order. */
export function topK(values: ArrayLike<number>, k: number): { index: number; value: number }[] {
  if (!Number.isInteger(k) || k < 1) throw new EdgeqError('BAD_OPTION', `topK must be a positive integer, got ${k}`);
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a])
    .slice(0, k)
    .map((index) => ({ index, value: values[index] }));
}

/** One class of a classification. */
export interface Classification {
  /** Index in the model's outputs. */
  index: number;
  /** The model's label for it, or `class <index>` where the model stores none. */
  label: string;
  /** Softmax probability over the row. */
  score: number;
}

/** True when the model's output is written by a softmax op: it returns probabilities, not logits. */
export function outputsProbabilities(model: Pick<QModel, 'ops' | 'outputs'>, index = 0): boolean {
  const tensor = model.outputs[index]?.tensor;
  return tensor !== undefined && model.ops.some((op) => op.op === 'softmax' && op.output === tensor);
}

/**
 * The `k` most probable classes of one row: topK() order, the labels, and as scores softmax() of
 * the row, or the row itself when it already holds probabilities (`probabilities`: a model whose
 * output is its softmax op, outputsProbabilities()).
 */
export function topClasses(logits: ArrayLike<number>, k: number, labels?: readonly string[], probabilities = false): Classification[] {
  const p = probabilities ? logits : softmax(logits);
  return topK(logits, k).map(({ index }) => ({ index, label: labels?.[index] ?? `class ${index}`, score: p[index]! }));
}
