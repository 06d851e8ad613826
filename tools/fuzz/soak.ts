// Long-run measurements (bench/soak.ts prints them; test/hardening/soak.test.ts asserts a scaled-down
// version): memory over many run() calls on one session, over many create/release cycles, handles
// (worker threads) left behind, and sessions of different models used concurrently against their
// solo results.
import { existsSync, readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Session, type SessionOptions } from 'edgeq/runtime';

/** A full garbage collection (exposes gc when the process was not started with --expose-gc). */
export function collectGarbage(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}

export interface MemorySample {
  /** Calls or cycles done when sampled. */
  at: number;
  rss: number;
  heapUsed: number;
  /** ArrayBuffers and wasm memories outside the JS heap. */
  external: number;
  /** Live handles by type (process.getActiveResourcesInfo), e.g. timers, pipes (idle workers are unref'd and not listed). */
  resources: Record<string, number>;
  /** OS threads of the process (Linux /proc; undefined elsewhere): every worker thread is one. */
  threads: number | undefined;
}

/** The process's OS thread count (Linux), or undefined. */
export function osThreads(): number | undefined {
  if (!existsSync('/proc/self/status')) return undefined;
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : undefined;
}

export function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

export async function sample(at: number): Promise<MemorySample> {
  await new Promise((r) => setTimeout(r, 20)); // let finalizers and exits run
  collectGarbage();
  const m = process.memoryUsage();
  return { at, rss: m.rss, heapUsed: m.heapUsed, external: m.external, resources: resources(), threads: osThreads() };
}

export interface RunSoakResult {
  samples: MemorySample[];
  /** Bytes of the session's wasm memory at each sample (fixed after create if nothing leaks). */
  wasmBytes: number[];
  /** Mean ms per run. */
  msPerRun: number;
  /** True when every output equalled the first, bit for bit. */
  identical: boolean;
}

const sameBits = (a: Float32Array, b: Float32Array) => {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
};

/** `runs` consecutive run() calls on one session; memory sampled after `warmup` runs and at each checkpoint. */
export async function runSoak(session: Session, input: Float32Array, runs: number, checkpoints: number[], warmup = 100): Promise<RunSoakResult> {
  const first = await session.run(input);
  let identical = true;
  for (let i = 1; i < warmup; i++) identical = sameBits(first, await session.run(input)) && identical;
  const samples = [await sample(0)];
  const wasmBytes = [await session.memoryBytes()];
  const t0 = performance.now();
  for (let i = 1; i <= runs; i++) {
    identical = sameBits(first, await session.run(input)) && identical;
    if (checkpoints.includes(i)) {
      samples.push(await sample(i));
      wasmBytes.push(await session.memoryBytes());
    }
  }
  return { samples, wasmBytes, msPerRun: (performance.now() - t0) / runs, identical };
}

export interface CycleSoakResult {
  samples: MemorySample[];
  msPerCycle: number;
}

/** `cycles` create/run/release cycles of one model; memory and handles sampled after a warm-up and at each checkpoint. */
export async function createReleaseSoak(bytes: Uint8Array, input: Float32Array, cycles: number, checkpoints: number[], options: SessionOptions = {}, warmup = 10): Promise<CycleSoakResult> {
  const cycle = async () => {
    const s = await Session.create(bytes, options);
    await s.run(input);
    s.release();
  };
  for (let i = 0; i < warmup; i++) await cycle();
  const samples = [await sample(0)];
  const t0 = performance.now();
  for (let i = 1; i <= cycles; i++) {
    await cycle();
    if (checkpoints.includes(i)) samples.push(await sample(i));
  }
  return { samples, msPerCycle: (performance.now() - t0) / cycles };
}

export interface ConcurrentResult {
  /** Per model: outputs identical to its solo run, bit for bit, in every concurrent round. */
  agree: boolean[];
  runsPerModel: number;
}

/**
 * Solo results first (each model alone in a fresh session), then all models in live sessions at
 * once: every session's runs are started together (Promise.all, interleaved), `rounds` times.
 */
export async function concurrentSessions(models: { bytes: Uint8Array; input: Float32Array }[], rounds: number, options: SessionOptions = {}): Promise<ConcurrentResult> {
  const solo: Float32Array[] = [];
  for (const m of models) {
    const s = await Session.create(m.bytes, options);
    solo.push(await s.run(m.input));
    s.release();
  }
  const sessions = await Promise.all(models.map((m) => Session.create(m.bytes, options)));
  const agree = models.map(() => true);
  try {
    for (let r = 0; r < rounds; r++) {
      const pending = sessions.flatMap((s, i) => [s.run(models[i]!.input), s.run(models[i]!.input)].map((p) => p.then((y) => ({ i, y }))));
      for (const { i, y } of await Promise.all(pending)) agree[i] = agree[i]! && sameBits(solo[i]!, y);
    }
  } finally {
    for (const s of sessions) s.release();
  }
  return { agree, runsPerModel: rounds * 2 };
}

export const MB = 1024 * 1024;
export const fmtMB = (bytes: number) => `${(bytes / MB).toFixed(2)} MB`;
