// Plain TypeScript references: nested loops over NHWC, the same f32 requantization written with
// Math.fround for every f32 operation and an explicit round-half-to-even.

export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const f32 = Math.fround;

export interface RefConv {
  batch: number; inH: number; inW: number; inC: number; outC: number;
  kh: number; kw: number; sh: number; sw: number;
  pads: [number, number, number, number]; dh: number; dw: number; group: number;
}

export function refConvOutSize(c: RefConv): [number, number] {
  const oh = Math.floor((c.inH + c.pads[0] + c.pads[2] - ((c.kh - 1) * c.dh + 1)) / c.sh) + 1;
  const ow = Math.floor((c.inW + c.pads[1] + c.pads[3] - ((c.kw - 1) * c.dw + 1)) / c.sw) + 1;
  return [oh, ow];
}

/** int32 accumulators acc[m][co] = bias[co] + sum (x - zin) * w  (padding reads zin). OHWI weights. */
export function refConvAcc(c: RefConv, x: ArrayLike<number>, zin: number, w: ArrayLike<number>, bias: ArrayLike<number> | undefined): Int32Array {
  const [oh, ow] = refConvOutSize(c);
  const cpg = c.inC / c.group, opg = c.outC / c.group;
  const acc = new Int32Array(c.batch * oh * ow * c.outC);
  let o = 0;
  for (let n = 0; n < c.batch; n++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        for (let co = 0; co < c.outC; co++) {
          const g = Math.floor(co / opg);
          let s = bias ? bias[co]! : 0;
          for (let ky = 0; ky < c.kh; ky++) {
            const iy = y * c.sh - c.pads[0] + ky * c.dh;
            for (let kx = 0; kx < c.kw; kx++) {
              const ix = xo * c.sw - c.pads[1] + kx * c.dw;
              const inside = iy >= 0 && iy < c.inH && ix >= 0 && ix < c.inW;
              for (let ci = 0; ci < cpg; ci++) {
                const xv = inside ? x[((n * c.inH + iy) * c.inW + ix) * c.inC + g * cpg + ci]! : zin;
                s = (s + (xv - zin) * w[((co * c.kh + ky) * c.kw + kx) * cpg + ci]!) | 0;
              }
            }
          }
          acc[o++] = s;
        }
      }
    }
  }
  return acc;
}

export interface RefRequant {
  /** 'u8' or 'f32' output */
  f32out: boolean;
  zp: number;
  outMin: number;
  outMax: number;
  /** float32 output clamp */
  fMin: number;
  fMax: number;
  /** 1 = none */
  alpha: number;
  /** A fused HardSwish / HardSigmoid / Sigmoid / SiLU (refActivation); alpha is then ignored. */
  act?: RefActivation;
}

/** The kernels' activation: name and f32 parameters (src/ops/activation.ts kernelActivation). */
export interface RefActivation { kind: 'hardswish' | 'hardsigmoid' | 'sigmoid' | 'silu'; alpha: number; beta: number }

const bits = new Float32Array(1), bitsI = new Int32Array(bits.buffer);
const fromBits = (i: number): number => { bitsI[0] = i; return bits[0]!; };
const toBits = (x: number): number => { bits[0] = x; return bitsI[0]!; };
// XNNPACK's rr2-p5-div sigmoid constants (assembly/common.ts), as f32 bit patterns.
const SIG = {
  magic: fromBits(0x4B40007F), minusLog2e: fromBits(0xBFB8AA3B | 0), ln2Hi: fromBits(0x3F317200), ln2Lo: fromBits(0x35BFBE8E),
  c5: fromBits(0xBC07CFCE | 0), c4: fromBits(0x3D2B9D0D), c3: fromBits(0xBE2AAD40 | 0), c2: fromBits(0x3EFFFEE3), c1: fromBits(0xBF7FFFFB | 0),
  cutoff: fromBits(0x42AEAC4F),
};

/** sigmoid(x) as the kernels compute it: one Math.fround per f32 operation, in their order. */
export function refSigmoid(x: number): number {
  const z = Math.abs(f32(x));
  let n = f32(f32(z * SIG.minusLog2e) + SIG.magic);
  const s = fromBits(toBits(n) << 23);
  n = f32(n - SIG.magic);
  let t = f32(f32(n * SIG.ln2Hi) + z);
  t = f32(f32(n * SIG.ln2Lo) + t);
  let p = f32(f32(t * SIG.c5) + SIG.c4);
  p = f32(f32(t * p) + SIG.c3);
  p = f32(f32(t * p) + SIG.c2);
  p = f32(f32(t * p) + SIG.c1);
  t = f32(t * s);
  const e = f32(f32(t * p) + s);
  let r = f32(e / f32(e + 1));
  if (z > SIG.cutoff) r = 0;
  return x > 0 ? f32(1 - r) : r;
}

/** The activation of y (output units) as the kernels compute it (assembly/common.ts actF). */
export function refActivation(y: number, a: RefActivation): number {
  const alpha = f32(a.alpha), beta = f32(a.beta);
  switch (a.kind) {
    case 'hardswish': {
      let g = f32(f32(y * alpha) + beta);
      g = g < 0 ? 0 : g;
      g = 1 < g ? 1 : g;
      return f32(y * g);
    }
    case 'hardsigmoid': return f32(f32(y * alpha) + beta);
    case 'sigmoid': return f32(refSigmoid(f32(y * alpha)) * beta);
    case 'silu': return f32(y * refSigmoid(f32(y * alpha)));
  }
}

/** A fused residual: y += f32(r - zr) * mr after the accumulator's product (quantized output). */
export interface RefResidual { r: Uint8Array | Uint16Array; zr: number; mr: number }

/** y = f32(acc) * mult[c] (+ f32(r - zr) * mr); leaky; quantized: round half even, + zp, clamp (u16 lanes when outMax > 255); f32: clamp. */
export function refRequant(acc: Int32Array, channels: number, mult: Float32Array, q: RefRequant, res?: RefResidual): Uint8Array | Uint16Array | Float32Array {
  const alpha = f32(q.alpha);
  if (q.f32out) {
    const out = new Float32Array(acc.length);
    const mr = res ? f32(res.mr) : 0;
    for (let i = 0; i < acc.length; i++) {
      let y = f32(f32(acc[i]!) * mult[i % channels]!);
      if (res) y = f32(y + f32(f32(res.r[i]! - res.zr) * mr));
      if (q.act) y = refActivation(y, q.act);
      else if (alpha !== 1 && y < 0) y = f32(y * alpha);
      y = y < q.fMin ? q.fMin : y; // wasm pmax / pmin semantics
      out[i] = q.fMax < y ? q.fMax : y;
    }
    return out;
  }
  const out = q.outMax > 255 ? new Uint16Array(acc.length) : new Uint8Array(acc.length);
  const mr = res ? f32(res.mr) : 0;
  for (let i = 0; i < acc.length; i++) {
    let y = f32(f32(acc[i]!) * mult[i % channels]!);
    if (res) y = f32(y + f32(f32(res.r[i]! - res.zr) * mr));
    if (q.act) y = refActivation(y, q.act);
    else if (alpha !== 1 && y < 0) y = f32(y * alpha);
    const v = roundHalfEven(y) + q.zp;
    out[i] = Math.min(Math.max(v, q.outMin), q.outMax);
  }
  return out;
}

export function refAdd(a: Uint8Array | Uint16Array, b: Uint8Array | Uint16Array, za: number, zb: number, ma: number, mb: number,
  zo: number, outMin: number, outMax: number): Uint8Array | Uint16Array {
  const out = outMax > 255 ? new Uint16Array(a.length) : new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const y = f32(f32(f32(a[i]! - za) * ma) + f32(f32(b[i]! - zb) * mb));
    out[i] = Math.min(Math.max(roundHalfEven(y) + zo, outMin), outMax);
  }
  return out;
}

/** The add with a float32 output: f32((a - za) * ma + (b - zb) * mb), clamped at fmin (ReLU: 0), not rounded. */
export function refAddF32(a: Uint8Array | Uint16Array, b: Uint8Array | Uint16Array, za: number, zb: number, ma: number, mb: number, fmin: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const y = f32(f32(f32(a[i]! - za) * ma) + f32(f32(b[i]! - zb) * mb));
    out[i] = y < fmin ? fmin : y;
  }
  return out;
}

export function refMaxPool<T extends Uint8Array | Uint16Array>(x: T, n: number, h: number, w: number, c: number,
  kh: number, kw: number, sh: number, sw: number, pads: [number, number, number, number]): { out: T; oh: number; ow: number } {
  const oh = Math.floor((h + pads[0] + pads[2] - kh) / sh) + 1;
  const ow = Math.floor((w + pads[1] + pads[3] - kw) / sw) + 1;
  const out = new (x.constructor as new (n: number) => T)(n * oh * ow * c);
  let o = 0;
  for (let b = 0; b < n; b++) for (let y = 0; y < oh; y++) for (let xo = 0; xo < ow; xo++) for (let ch = 0; ch < c; ch++) {
    let m = 0;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = y * sh - pads[0] + ky, ix = xo * sw - pads[1] + kx;
      if (iy >= 0 && iy < h && ix >= 0 && ix < w) m = Math.max(m, x[((b * h + iy) * w + ix) * c + ch]!);
    }
    out[o++] = m;
  }
  return { out, oh, ow };
}

export function refGapU8(x: Uint8Array | Uint16Array, n: number, hw: number, c: number, zi: number, scale: number, zo: number, outMax = 255): Uint8Array | Uint16Array {
  const out = outMax > 255 ? new Uint16Array(n * c) : new Uint8Array(n * c);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let p = 0; p < hw; p++) s += x[(b * hw + p) * c + ch]!;
    const y = f32(f32(s - hw * zi) * scale);
    out[b * c + ch] = Math.min(Math.max(roundHalfEven(y) + zo, 0), outMax);
  }
  return out;
}

export function refGapF32(x: Float32Array, n: number, hw: number, c: number): Float32Array {
  const out = new Float32Array(n * c);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let p = 0; p < hw; p++) s = f32(s + x[(b * hw + p) * c + ch]!);
    out[b * c + ch] = f32(s / hw);
  }
  return out;
}
