// Activation bit widths (`--activations 8|12|auto`): which quantized tensors are uint12 (4096
// levels, stored in 16-bit lanes the kernels widen uint8 to anyway) and which stay uint8.
//  - the graph input: 12 bits in mode 12 (images are 8-bit, but normalized by mean/std per channel
//    they no longer sit on one 256-level grid: a uint8 input cost the trunk ~2 dB at 12 bits), 8 in
//    'auto' unless `wide` names it (it is not a candidate of the sensitivity analysis), 8 in mode 8;
//    `inputBits` (`--input-bits`) overrides all three (at 8 bits elsewhere, a 12-bit input gains the
//    trunk 0.5-0.9 dB for 2x the input's bytes); its default, 'auto', gives the input 12 bits when
//    the preprocessing normalizes channels differently (inputBitsFor);
//  - float32 tensors (the classifier head) stay float32;
//  - a max pool output has its input's dtype and parameters (max commutes with the quantization),
//    so bits are chosen per "root": a tensor that is not a max pool output;
//  - every other quantized tensor: 8 bits in mode 8, 12 in mode 12, and in 'auto' 12 only for the
//    tensors the sensitivity analysis picks (auto-bits.ts);
//  - a conv whose 12-bit input could overflow the int32 accumulator (overflow.ts) makes mode 12 fail
//    and keeps that input at 8 bits in 'auto' (buildQModel applies this).
import { EdgeqError } from 'edgeq';
import type { PreprocessSpec } from 'edgeq/image';
import type { FloatGraph } from './prepare.js';
import { moduleOf } from './ops/registry.js';

export type ActivationMode = 8 | 12 | 'auto';
export const ACTIVATION_MODES: readonly ActivationMode[] = [8, 12, 'auto'];
export type ActivationBits = 8 | 12;
/** Quantization levels of a bit width. */
export const levelsOf = (bits: ActivationBits): number => (bits === 12 ? 4096 : 256);

export function parseActivationMode(value: string | number): ActivationMode {
  const mode = ACTIVATION_MODES.find((m) => String(m) === String(value));
  if (mode === undefined) throw new EdgeqError('BAD_OPTION', `activations ${JSON.stringify(value)} is not one of ${ACTIVATION_MODES.join(', ')}`);
  return mode;
}

/** `--input-bits`: 8, 12, or 'auto' (inputBitsFor). */
export type InputBitsMode = ActivationBits | 'auto';

/**
 * The graph input's bits for an `inputBits` choice. 'auto' (the default in modes 8 and 'auto'): 12
 * when the preprocessing puts the 256 pixel levels on a different grid in each channel (a per-channel
 * mean or std: one uint8 grid cannot hold all three, while 4096 levels hold each within 1/16 of a
 * pixel step), else 8 (one grid, e.g. x / 255: 8 bits are exact); without a spec, 8. `fallback`: an
 * 'auto' 12 that the first conv's accumulator cannot be proven safe with falls back to 8 instead of
 * failing. Undefined bits: the mode decides (12 in mode 12).
 */
export function inputBitsFor(choice: InputBitsMode | undefined, activations: ActivationMode, spec?: PreprocessSpec): { bits?: ActivationBits; fallback: boolean } {
  if (choice === 8 || choice === 12) return { bits: choice, fallback: false };
  if (activations === 12) return { fallback: false };
  const perChannel = spec !== undefined && (new Set(spec.mean).size > 1 || new Set(spec.std).size > 1);
  return perChannel ? { bits: 12, fallback: true } : { fallback: false };
}

/** Max pool (any op whose module sharesInputParams) output -> the tensor it reads (whose bits it shares). */
function poolSources(g: FloatGraph): Map<string, string> {
  return new Map(g.ops.flatMap((op) => (moduleOf(op).sharesInputParams ? [[op.output, moduleOf(op).reads(op)[0]] as const] : [])));
}

/**
 * The tensors whose bits are a free choice: op outputs that are quantized (not in `floats`) and
 * not max pool outputs, minus `exclude` (e.g. residual branches fused away in the .edgeq).
 */
export function bitsCandidates(g: FloatGraph, floats: ReadonlySet<string>, exclude: ReadonlySet<string> = new Set()): string[] {
  const pooled = poolSources(g);
  return [...new Set(g.ops.map((op) => op.output))].filter((t) => !floats.has(t) && !pooled.has(t) && !exclude.has(t) && t !== g.input.name);
}

/** Bits per tensor for a mode; `narrow` keeps a root (and the max pools of it) at 8 bits. */
export class BitsPlan {
  private readonly pooled: Map<string, string>;
  private readonly narrowed = new Set<string>();

  private readonly input: string;

  /** `inputBits`, when given, fixes the graph input's bits in any mode (`--input-bits`). */
  constructor(g: FloatGraph, readonly mode: ActivationMode, private readonly wide: ReadonlySet<string> = new Set(), readonly inputBits?: ActivationBits) {
    this.pooled = poolSources(g);
    this.input = g.input.name;
    if (mode === 'auto') {
      const known = new Set([g.input.name, ...g.ops.map((op) => op.output)]);
      const unknown = [...wide].filter((t) => !known.has(t));
      if (unknown.length > 0) throw new EdgeqError('BAD_OPTION', `12-bit tensors ${unknown.map((t) => `"${t}"`).join(', ')} are not in the graph`);
    }
  }

  /** The tensor whose bits `t` shares (itself unless it is a max pool output). */
  root(t: string): string {
    let r = t;
    for (let p = this.pooled.get(r); p !== undefined; p = this.pooled.get(r)) r = p;
    return r;
  }

  /** Bits of a quantized tensor (float32 tensors are decided elsewhere). */
  of(t: string): ActivationBits {
    const r = this.root(t);
    if (this.narrowed.has(r)) return 8;
    if (r === this.input && this.inputBits !== undefined) return this.inputBits;
    if (this.mode === 8) return 8;
    return this.mode === 12 || this.wide.has(r) ? 12 : 8;
  }

  /** Keeps `t`'s root at 8 bits; returns the root. */
  narrow(t: string): string {
    const r = this.root(t);
    this.narrowed.add(r);
    return r;
  }
}
