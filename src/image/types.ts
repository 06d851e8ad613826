// Image containers used by the preprocessing core. Browser-safe: no Node imports.

import { EdgeqError } from '../errors.js';

/** 8-bit pixels, interleaved (HWC), row-major; channels 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA). */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array | Uint8ClampedArray;
}

/** What a browser canvas returns (`ImageData`): RGBA, 4 bytes per pixel, no `channels` field. */
export interface ImageDataLike {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
  channels?: number;
}

/** RGB pixels as float32, interleaved (HWC); values are on the 0..255 scale (not necessarily integers). */
export interface FloatImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** Accepts a RawImage or an ImageData-like object and checks that its buffer matches its size. */
export function asRawImage(image: RawImage | ImageDataLike): RawImage {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new EdgeqError('BAD_IMAGE', `image size ${width}x${height} is not a positive integer size`);
  }
  const pixels = width * height;
  const channels = image.channels ?? data.length / pixels;
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new EdgeqError('BAD_IMAGE', `image has ${data.length} bytes for ${width}x${height} pixels; expected 1, 2, 3 or 4 bytes per pixel`);
  }
  if (data.length !== pixels * channels) {
    throw new EdgeqError('BAD_IMAGE', `image data has ${data.length} bytes; ${width}x${height}x${channels} needs ${pixels * channels}`);
  }
  return { width, height, channels, data };
}

/**
 * Copies the rectangle (x, y, w, h) of an 8-bit image into RGB float32. Alpha is dropped (not
 * composited); grey is replicated to the three channels.
 */
export function toFloatRgb(image: RawImage, x = 0, y = 0, w = image.width, h = image.height): FloatImage {
  if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > image.width || y + h > image.height) {
    throw new EdgeqError('BAD_IMAGE', `crop ${w}x${h}+${x}+${y} lies outside the ${image.width}x${image.height} image`);
  }
  const { channels: c, data: src } = image;
  const out = new Float32Array(w * h * 3);
  const grey = c < 3;
  let o = 0;
  for (let r = 0; r < h; r++) {
    let i = ((y + r) * image.width + x) * c;
    for (let col = 0; col < w; col++, i += c) {
      if (grey) {
        const v = src[i]!;
        out[o++] = v; out[o++] = v; out[o++] = v;
      } else {
        out[o++] = src[i]!; out[o++] = src[i + 1]!; out[o++] = src[i + 2]!;
      }
    }
  }
  return { width: w, height: h, data: out };
}
