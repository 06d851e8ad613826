// Test images generated in code (no binary fixtures): a minimal PNG encoder (every colour type,
// 8/16-bit, palette, optional eXIf chunk), a minimal baseline JPEG encoder for images made of flat
// 8x8 blocks (DC coefficients only; 1, 3 or 4 components, optional Adobe APP14 marker), and an
// EXIF APP1 segment carrying an orientation.
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../src/format/crc32.js';

// ---- PNG ----------------------------------------------------------------------------------------

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

export interface PngSpec {
  width: number;
  height: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 8 | 16;
  /** Samples per pixel in order, row-major (palette: one index per pixel); 16-bit samples are 0..65535. */
  samples: ArrayLike<number>;
  /** Palette entries [r, g, b] (colour type 3). */
  palette?: [number, number, number][];
  /** An eXIf chunk (TIFF bytes) before IDAT. */
  exif?: Uint8Array;
  /** Override the IHDR size (to declare a size the data does not have). */
  declared?: { width: number; height: number };
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

export function encodePng(s: PngSpec): Uint8Array {
  const ch = CHANNELS[s.colorType];
  const bps = s.bitDepth / 8;
  const rowBytes = s.width * ch * bps;
  const raw = new Uint8Array(s.height * (rowBytes + 1));
  let i = 0;
  for (let y = 0; y < s.height; y++) {
    const row = y * (rowBytes + 1); // filter byte 0 (none)
    for (let x = 0; x < s.width * ch; x++) {
      const v = s.samples[i++]!;
      if (bps === 2) { raw[row + 1 + 2 * x] = v >> 8; raw[row + 2 + 2 * x] = v & 0xff; } else raw[row + 1 + x] = v;
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, s.declared?.width ?? s.width);
  view.setUint32(4, s.declared?.height ?? s.height);
  ihdr[8] = s.bitDepth; ihdr[9] = s.colorType;
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (s.palette) parts.push(chunk('PLTE', Uint8Array.from(s.palette.flat())));
  if (s.exif) parts.push(chunk('eXIf', s.exif));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array()));
  return concat(parts);
}

// ---- EXIF ---------------------------------------------------------------------------------------

/** A TIFF block whose IFD0 holds one Orientation entry (little- or big-endian). */
export function exifTiff(orientation: number, bigEndian = false): Uint8Array {
  const b = new Uint8Array(26);
  const v = new DataView(b.buffer);
  const le = !bigEndian;
  b[0] = b[1] = bigEndian ? 0x4d : 0x49;
  v.setUint16(2, 42, le);
  v.setUint32(4, 8, le);
  v.setUint16(8, 1, le); // one entry
  v.setUint16(10, 0x0112, le); v.setUint16(12, 3, le); v.setUint32(14, 1, le); v.setUint16(18, orientation, le);
  v.setUint32(22, 0, le); // no next IFD
  return b;
}

/** Inserts an APP1 "Exif" segment right after a JPEG's SOI. */
export function withJpegExif(jpeg: Uint8Array, tiff: Uint8Array): Uint8Array {
  const payload = concat([new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0]), tiff]);
  const seg = new Uint8Array(4 + payload.length);
  seg[0] = 0xff; seg[1] = 0xe1; seg[2] = (payload.length + 2) >> 8; seg[3] = (payload.length + 2) & 0xff;
  seg.set(payload, 4);
  return concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

// ---- JPEG (flat 8x8 blocks, DC only) ------------------------------------------------------------

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;
  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0); // byte stuffing
    this.acc = 0; this.n = 0;
  }
  finish(): number[] {
    while (this.n !== 0) this.write(1, 1); // pad with ones
    return this.bytes;
  }
}

export interface BlockJpegSpec {
  /** Size in 8x8 blocks. */
  blocksX: number;
  blocksY: number;
  /** Component values (0..255) of block (bx, by): one value per component. */
  block: (bx: number, by: number) => number[];
  /** Components: 1 (grey), 3 (YCbCr, values are Y, Cb, Cr) or 4 (CMYK as stored). */
  components: 1 | 3 | 4;
  /** Adobe APP14 marker with this transform (0: none/CMYK, 1: YCbCr, 2: YCCK). */
  adobe?: number;
}

/**
 * A baseline JPEG whose 8x8 blocks are flat: quantization 1, a DC table of 12 four-bit codes
 * (categories 0..11) and an AC table holding only end-of-block, so a flat block's only coefficient
 * is DC = 8 * (value - 128) and it decodes back to `value` exactly.
 */
export function encodeBlockJpeg(s: BlockJpegSpec): Uint8Array {
  const nc = s.components;
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const out: number[] = [0xff, 0xd8];
  if (s.adobe !== undefined) out.push(...seg(0xee, [0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, s.adobe]));
  out.push(...seg(0xdb, [0x00, ...new Array(64).fill(1)]));
  const w = s.blocksX * 8, h = s.blocksY * 8;
  const comps: number[] = [];
  for (let c = 0; c < nc; c++) comps.push(c + 1, 0x11, 0);
  out.push(...seg(0xc0, [8, h >> 8, h & 0xff, w >> 8, w & 0xff, nc, ...comps]));
  const dcCounts = new Array(16).fill(0); dcCounts[3] = 12;
  out.push(...seg(0xc4, [0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i)]));
  const acCounts = new Array(16).fill(0); acCounts[0] = 1;
  out.push(...seg(0xc4, [0x10, ...acCounts, 0x00]));
  const sos: number[] = [nc];
  for (let c = 0; c < nc; c++) sos.push(c + 1, 0x00);
  out.push(...seg(0xda, [...sos, 0, 63, 0]));
  const bw = new BitWriter();
  const prev = new Array(nc).fill(0);
  for (let by = 0; by < s.blocksY; by++) {
    for (let bx = 0; bx < s.blocksX; bx++) {
      const values = s.block(bx, by);
      for (let c = 0; c < nc; c++) {
        const dc = 8 * (values[c]! - 128);
        const diff = dc - prev[c]; prev[c] = dc;
        const cat = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
        bw.write(cat, 4);
        if (cat > 0) bw.write(diff >= 0 ? diff : diff + (1 << cat) - 1, cat);
        bw.write(0, 1); // end of block
      }
    }
  }
  out.push(...bw.finish(), 0xff, 0xd9);
  return Uint8Array.from(out);
}
