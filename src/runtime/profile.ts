// Per-session op timing: a session created with { profile: true } (or with EDGEQ_PROFILE=1 in the
// environment) adds the wall time of every op of every run to its own rows; session.profile()
// returns them and formatProfile() prints them as a table. Single-threaded runs time each step;
// threaded runs time the main thread's passage through each op barrier (the op's wall time on all
// threads). Timing never changes outputs.
import type { QModel } from '../format/qmodel.js';

/** One op's accumulated time in a session (model.ops[op]). */
export interface ProfileRow {
  /** Index of the op in model.ops (the execution order). */
  op: number;
  /** The op's name in the model. */
  name: string;
  /** The op type, with a conv's kernel/stride, channels and input height: 'conv 3x3/1 64->64 @56'. */
  kind: string;
  /** Runs that executed the op (a batch counts once). */
  calls: number;
  totalMs: number;
  meanMs: number;
  /** This op's part of the total time of all rows, 0..1. */
  share: number;
}

/** The environment's default for the profile option: EDGEQ_PROFILE set and not '0'. Unreadable (Deno without --allow-env): off. */
export function profileFromEnv(): boolean {
  try {
    const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.EDGEQ_PROFILE;
    return !!v && v !== '0';
  } catch {
    return false;
  }
}

function opKind(model: QModel, i: number): string {
  const op = model.ops[i];
  if (op.op !== 'conv') return op.op;
  return `conv ${op.kernel[0]}x${op.kernel[1]}/${op.stride[0]} ${op.inChannels}->${op.outChannels} @${model.tensors[op.input].shape[1]}`;
}

/** The time accumulator of one session: op i's time is added with add(i, ms), once per run. */
export class OpProfile {
  private readonly ms: Float64Array;
  private readonly calls: Uint32Array;

  constructor(private readonly model: QModel) {
    this.ms = new Float64Array(model.ops.length);
    this.calls = new Uint32Array(model.ops.length);
  }

  add(op: number, ms: number): void {
    this.ms[op] += ms;
    this.calls[op]++;
  }

  /** Rows of the ops that ran at least once, in model order. */
  rows(): ProfileRow[] {
    let total = 0;
    for (const v of this.ms) total += v;
    const rows: ProfileRow[] = [];
    for (let i = 0; i < this.ms.length; i++) {
      if (this.calls[i] === 0) continue;
      const totalMs = this.ms[i];
      rows.push({ op: i, name: this.model.ops[i].name, kind: opKind(this.model, i), calls: this.calls[i], totalMs, meanMs: totalMs / this.calls[i], share: total > 0 ? totalMs / total : 0 });
    }
    return rows;
  }

  reset(): void {
    this.ms.fill(0);
    this.calls.fill(0);
  }
}

/**
 * A text table of profile rows: a header with the mean time per run, one line per op kind (summed
 * means, op count, share), slowest first, then with `byOp` the `byOp` slowest ops.
 */
export function formatProfile(rows: readonly ProfileRow[], options: { byOp?: number } = {}): string {
  const perRun = rows.reduce((a, r) => a + r.meanMs, 0);
  const byKind = new Map<string, { ms: number; n: number }>();
  for (const r of rows) {
    const k = byKind.get(r.kind) ?? { ms: 0, n: 0 };
    k.ms += r.meanMs;
    k.n++;
    byKind.set(r.kind, k);
  }
  const pct = (ms: number) => `${(perRun > 0 ? (100 * ms) / perRun : 0).toFixed(1).padStart(5)}%`;
  const lines = [`edgeq profile: ${perRun.toFixed(2)} ms per run over ${rows.length} ops (mean per call)`];
  for (const [kind, k] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) {
    lines.push(`  ${kind.padEnd(34)} x${String(k.n).padEnd(3)} ${k.ms.toFixed(2).padStart(8)} ms ${pct(k.ms)}`);
  }
  const n = options.byOp ?? 0;
  if (n > 0) {
    lines.push('  slowest ops:');
    for (const r of [...rows].sort((a, b) => b.meanMs - a.meanMs).slice(0, n)) {
      lines.push(`  #${String(r.op).padEnd(4)} ${r.name.padEnd(30)} ${r.meanMs.toFixed(3).padStart(9)} ms ${pct(r.meanMs)}`);
    }
  }
  return lines.join('\n');
}
