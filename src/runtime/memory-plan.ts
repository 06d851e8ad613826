// Activation memory planning: every buffer lives from the op that writes it to the last op that
// reads it; buffers whose lifetimes do not overlap share bytes. Greedy by size (TFLite's
// GreedyMemoryPlanner does the same): the largest buffers are placed first, each at the lowest
// aligned offset that collides with no placed buffer alive at the same time.

export interface BufferRequest {
  /** Bytes needed. */
  size: number;
  /** First op index at which the buffer is live (written); -1: before op 0 (the input and its staging). */
  first: number;
  /** Last op index at which the buffer is live (read). */
  last: number;
}

export interface ArenaPlan {
  /** Byte offset of each request inside the arena, in request order. */
  offsets: number[];
  /** Total arena size in bytes. */
  size: number;
}

export function planArena(requests: readonly BufferRequest[], align = 64): ArenaPlan {
  const order = requests.map((_, i) => i).sort((a, b) => requests[b].size - requests[a].size || a - b);
  const offsets = new Array<number>(requests.length).fill(-1);
  const placed: number[] = [];
  let size = 0;
  for (const i of order) {
    const r = requests[i];
    // Intervals already taken by buffers alive at the same time, by offset.
    const busy = placed
      .filter((j) => requests[j].first <= r.last && r.first <= requests[j].last)
      .map((j) => [offsets[j], offsets[j] + requests[j].size] as const)
      .sort((a, b) => a[0] - b[0]);
    let offset = 0;
    for (const [start, end] of busy) {
      if (offset + r.size <= start) break;
      offset = Math.max(offset, Math.ceil(end / align) * align);
    }
    offsets[i] = offset;
    placed.push(i);
    size = Math.max(size, offset + r.size);
  }
  return { offsets, size: Math.ceil(size / align) * align };
}
