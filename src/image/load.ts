// Images as users have them, to pixels: a path or URL (Node, Deno), an encoded file (ArrayBuffer,
// Uint8Array, Blob / File), or a browser image (ImageBitmap, HTMLImageElement, canvas, ImageData).
// Browser-safe: browsers decode with createImageBitmap and read pixels through an OffscreenCanvas;
// Node and Deno decode JPEG and PNG with ./decode-node.js, imported only when they run.
import { EdgeqError } from '../errors.js';
import { asRawImage, type ImageDataLike, type RawImage } from './types.js';
import { readBytes } from '../runtime/read-bytes.js';

/** Anything loadImage() takes. */
export type ImageSource =
  | RawImage | ImageDataLike
  | string | URL
  | ArrayBuffer | Uint8Array
  | Blob
  | ImageBitmap | CanvasImageSource;

type DecodeNode = { decodeImage(bytes: Uint8Array, what?: string): RawImage };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isPixels = (v: unknown): v is RawImage | ImageDataLike =>
  isObject(v) && typeof v.width === 'number' && typeof v.height === 'number' && (v.data instanceof Uint8Array || v.data instanceof Uint8ClampedArray);
const hasDom = (): boolean => typeof (globalThis as { createImageBitmap?: unknown }).createImageBitmap === 'function'
  && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'function';
const isServer = (): boolean => {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown };
  return g.Deno !== undefined || typeof g.process?.versions?.node === 'string';
};

/** A short name for messages: the path or URL, else the kind of object. */
function describe(source: unknown): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (isObject(source) && typeof source.name === 'string' && source.name) return source.name;
  return isObject(source) ? (source.constructor?.name ?? 'object') : typeof source;
}

/** ./decode-node.js (jpeg-js, pngjs) in Node and Deno; its URL is computed so browser bundles never follow it. */
async function nodeDecoder(): Promise<DecodeNode> {
  const url = new URL('./decode-node.js', import.meta.url).href;
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ url)) as DecodeNode;
}

/** Pixels of a browser image (ImageBitmap, image element, canvas, video frame) through an OffscreenCanvas. */
function pixelsOf(image: CanvasImageSource | ImageBitmap, what: string): ImageDataLike {
  const { width, height } = image as { width: number; height: number };
  if (!(width > 0 && height > 0)) throw new EdgeqError('BAD_IMAGE', `${what}: the image has no pixels (${width}x${height}; not loaded yet?)`);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new EdgeqError('NOT_SUPPORTED', 'no 2d OffscreenCanvas context to read image pixels');
  ctx.drawImage(image, 0, 0);
  return ctx.getImageData(0, 0, width, height);
}

async function decodeBytes(bytes: Uint8Array, what: string): Promise<RawImage | ImageDataLike> {
  if (isServer() || !hasDom()) return (await nodeDecoder()).decodeImage(bytes, what);
  let bitmap: ImageBitmap;
  try {
    // As stored: no colour-profile conversion, no alpha premultiplication (which would change RGB).
    bitmap = await createImageBitmap(new Blob([bytes as BlobPart]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (err) {
    throw new EdgeqError('BAD_IMAGE', `${what}: cannot decode: ${(err as Error).message}`, { cause: err });
  }
  try {
    return pixelsOf(bitmap, what);
  } finally {
    bitmap.close();
  }
}

/**
 * Decodes one image source to 8-bit pixels (RawImage, or the ImageData a canvas gives). Errors:
 * EdgeqError NOT_FOUND (a missing file or URL; readBytes), BAD_OPTION (another read failure),
 * BAD_IMAGE (undecodable bytes, an unknown source),
 * each naming the source.
 */
export async function loadImage(source: ImageSource): Promise<RawImage | ImageDataLike> {
  const what = describe(source);
  if (isPixels(source)) return asRawImage(source);
  if (typeof source === 'string' || source instanceof URL) return decodeBytes(await readBytes(source), what);
  if (source instanceof Uint8Array) return decodeBytes(source, what);
  if (source instanceof ArrayBuffer) return decodeBytes(new Uint8Array(source), what);
  if (typeof Blob === 'function' && source instanceof Blob) return decodeBytes(new Uint8Array(await source.arrayBuffer()), what);
  if (isObject(source) && typeof source.width === 'number' && hasDom()) return pixelsOf(source as unknown as CanvasImageSource, what);
  throw new EdgeqError('BAD_IMAGE', `cannot read an image from ${what}: pass a path or URL, encoded bytes (ArrayBuffer, Uint8Array, Blob), an ImageBitmap / image element / canvas, or decoded pixels {width, height, data}`);
}
