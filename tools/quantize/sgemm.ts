// fp32 matrix products for the quantizer's linear algebra (GPTQ's statistics, factorizations and
// rounding), run by onnxruntime-web's SIMD SGEMM: ~15-20 GFLOP/s on one thread here, ~20x a
// JavaScript loop. Inputs are rounded to float32; callers keep their sums in float64.
import { ReferenceSession } from '../reference/ort-runner.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/model.js';

export interface GemmShape {
  /** C is M x N. */
  M: number;
  N: number;
  /** The inner dimension. */
  K: number;
  /** A is stored K x M (its transpose is used). Default false: M x K. */
  transA?: boolean;
  /** B is stored N x K. Default false: K x N. */
  transB?: boolean;
}

export class Sgemm {
  private readonly sessions = new Map<string, Promise<ReferenceSession>>();

  /** `threads`: onnxruntime-web's wasm threads (one count per process). */
  constructor(private readonly threads?: number) {}

  /** C = op(A) op(B), row-major float32. */
  async multiply(A: Float32Array, B: Float32Array, s: GemmShape): Promise<Float32Array> {
    const tA = s.transA ?? false, tB = s.transB ?? false;
    const session = await this.session(tA, tB);
    const { outputs } = await session.run({
      A: { dims: tA ? [s.K, s.M] : [s.M, s.K], data: A },
      B: { dims: tB ? [s.N, s.K] : [s.K, s.N], data: B },
    });
    return outputs.C.data;
  }

  private session(transA: boolean, transB: boolean): Promise<ReferenceSession> {
    const key = `${+transA}${+transB}`;
    let s = this.sessions.get(key);
    if (!s) {
      const graph = makeGraph({
        name: 'sgemm',
        nodes: [makeNode('Gemm', ['A', 'B'], ['C'], { transA: attr.int(+transA), transB: attr.int(+transB) }, 'gemm')],
        inputs: [makeValueInfo('A', 'float32', ['a0', 'a1']), makeValueInfo('B', 'float32', ['b0', 'b1'])],
        outputs: [makeValueInfo('C', 'float32', ['M', 'N'])],
        initializers: [],
      });
      s = ReferenceSession.create(makeModel(graph, { opset: 13 }), { threads: this.threads });
      this.sessions.set(key, s);
    }
    return s;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
