// The machine line of a benchmark report: the CPU model and the features that decide which
// kernels run (x64: AVX2, AVX-512 VNNI, AVX-VNNI; arm64: the dot-product and i8mm extensions),
// from /proc/cpuinfo where there is one (Linux), else the model Node reports and no features.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** /proc/cpuinfo flags that matter to the int8 kernels, in report order. */
const FEATURES = ['avx2', 'avx512_vnni', 'avx_vnni', 'asimddp', 'i8mm'] as const;

export interface CpuInfo {
  model: string;
  /** Logical CPUs. */
  count: number;
  /** The FEATURES the CPU lists; undefined where /proc/cpuinfo is unreadable. */
  features?: string[];
}

export function cpuInfo(): CpuInfo {
  const list = cpus();
  const fallback = list[0]?.model.trim() || 'unknown CPU';
  let text: string;
  try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { return { model: fallback, count: list.length }; }
  const model = /^(?:model name|Model|Hardware)\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() || fallback;
  const flags = new Set((/^(?:flags|Features)\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  return { model, count: list.length, features: FEATURES.filter((f) => flags.has(f)) };
}

/** "AMD EPYC 9R14 (avx2, avx512_vnni, avx_vnni), 2 logical CPUs". */
export function formatCpu(c: CpuInfo): string {
  const f = c.features === undefined ? ' (features unknown)' : ` (${c.features.length ? c.features.join(', ') : 'no AVX2/VNNI/dot-product'})`;
  return `${c.model}${f}, ${c.count} logical CPU${c.count === 1 ? '' : 's'}`;
}
