// Test harness: one shared memory, the SIMD and scalar builds instantiated over it, a bump
// allocator with guard bytes, and a seeded PRNG.
import { instantiateKernels, type Kernels } from '../../src/kernels/index.js';
import { ensureWasmBuilt, wasmBytes, RELAXED_WASM } from './wasm-build.js';
import { probeRelaxedDot, type RelaxedDotVerdict } from '../../src/kernels/relaxed-probe.js';
import { readFileSync } from 'node:fs';
import { mulberry32 } from '../../tools/synth/random.js';

export interface Harness {
  memory: WebAssembly.Memory;
  simd: Kernels;
  scalar: Kernels;
  heap: Heap;
  /** The relaxed build over the same memory, where the engine validates relaxed SIMD (loadRelaxed). */
  relaxed?: Kernels;
  /** This engine's probeRelaxedDot() verdict (set with `relaxed`). */
  relaxedDot?: RelaxedDotVerdict;
}

export async function loadHarness(pages = 2048): Promise<Harness> {
  ensureWasmBuilt();
  const memory = new WebAssembly.Memory({ initial: pages });
  const simd = await instantiateKernels(wasmBytes(true), memory);
  const scalar = await instantiateKernels(wasmBytes(false), memory);
  return { memory, simd, scalar, heap: new Heap(memory) };
}

/**
 * The three implementations every element-wise kernel is checked in: the SIMD build's kernel, its
 * scalar `_ref` twin in the same build (reference: true), and the scalar build's kernel.
 */
export function kernelImpls(h: Harness): { k: Kernels; reference: boolean; label: string }[] {
  return [
    { k: h.simd, reference: false, label: 'simd' },
    { k: h.simd, reference: true, label: 'simd-build _ref' },
    { k: h.scalar, reference: false, label: 'scalar build' },
  ];
}

/** Adds the relaxed build to a harness when this engine validates it (else leaves it absent). */
export async function loadRelaxed(h: Harness): Promise<Harness> {
  const bytes = new Uint8Array(readFileSync(RELAXED_WASM));
  if (!WebAssembly.validate(bytes)) return h;
  h.relaxed = await instantiateKernels(bytes, h.memory);
  h.relaxedDot = probeRelaxedDot();
  return h;
}

export const GUARD = 64;
const GUARD_BYTE = 0xa5;

/** Bump allocator; every block is 64-byte aligned and followed by GUARD bytes of 0xA5. */
export class Heap {
  private top = 1024;
  private guards: [number, number][] = [];
  constructor(readonly memory: WebAssembly.Memory) {}
  reset(): void {
    this.top = 1024;
    this.guards = [];
  }
  alloc(bytes: number): number {
    const at = this.top;
    this.top = Math.ceil((at + bytes + GUARD) / 64) * 64;
    if (this.top > this.memory.buffer.byteLength) throw new Error(`test heap exhausted (${this.top} bytes)`);
    new Uint8Array(this.memory.buffer, at + bytes, GUARD).fill(GUARD_BYTE);
    this.guards.push([at + bytes, GUARD]);
    return at;
  }
  u8(at: number, n: number): Uint8Array { return new Uint8Array(this.memory.buffer, at, n); }
  f32(at: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, at, n); }
  u16(at: number, n: number): Uint16Array { return new Uint16Array(this.memory.buffer, at, n); }
  put(data: Uint8Array | Uint16Array): number {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const at = this.alloc(bytes.length);
    this.u8(at, bytes.length).set(bytes);
    return at;
  }
  /** Throws when any guard region was written. */
  checkGuards(what: string): void {
    const m = new Uint8Array(this.memory.buffer);
    for (const [at, n] of this.guards) {
      for (let i = 0; i < n; i++) {
        if (m[at + i] !== GUARD_BYTE) throw new Error(`${what}: write past a buffer end at byte ${at + i}`);
      }
    }
  }
}

/** The project's seeded generator (mulberry32). */
export const rng = mulberry32;

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function randU8(r: () => number, n: number): Uint8Array {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * 256);
  return a;
}

/** 12-bit activations (0..4095) in 16-bit lanes. */
export function randU12(r: () => number, n: number): Uint16Array {
  const a = new Uint16Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * 4096);
  return a;
}

export function randI8(r: () => number, n: number, lim = 127): Int8Array {
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) a[i] = randInt(r, -lim, lim);
  return a;
}

/** int16 weights in [-lim, lim] (the -w16 packings' range is lim 255). */
export function randI16(r: () => number, n: number, lim: number): Int16Array {
  const a = new Int16Array(n);
  for (let i = 0; i < n; i++) a[i] = randInt(r, -lim, lim);
  return a;
}

/** First mismatch between two arrays, as a message (or null when equal, NaN-aware, -0 == 0 distinct not required). */
export function diff(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  let count = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (!(x === y || (Number.isNaN(x) && Number.isNaN(y)))) {
      if (first < 0) first = i;
      count++;
    }
  }
  return first < 0 ? null : `${count} of ${a.length} differ; first at ${first}: ${a[first]} vs ${b[first]}`;
}

/** Bit-exact comparison of float32 arrays (through their bit patterns). */
export function diffBits(a: Float32Array, b: Float32Array): string | null {
  return diff(new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length));
}
