// The preprocessing a command uses: chosen from --preprocess and its overrides, fitted to the
// model's input side, and described in one line that quantize, run and bench print first.
import { EdgeqError } from 'edgeq';
import { cropSize, LUMA, PRESETS, type PreprocessSpec } from 'edgeq/image';
import type { InputShape } from './model-shape.js';

export type PresetName = 'imagenet' | 'unit';

export interface PreprocessOptions {
  preprocess?: PresetName;
  mean?: [number, number, number];
  std?: [number, number, number];
  resize?: number;
  /** The centre crop: a side (square) or [height, width] (--crop 96x160). */
  crop?: number | [number, number];
}

/** The preset (default imagenet) with the explicit overrides applied; `preset` names where it came from. */
export function specFromOptions(o: PreprocessOptions): { spec: PreprocessSpec; preset: string } {
  const spec: PreprocessSpec = { ...PRESETS[o.preprocess ?? 'imagenet'] };
  if (o.mean) spec.mean = o.mean;
  if (o.std) spec.std = o.std;
  if (o.resize) spec.resize = o.resize;
  if (o.crop) Object.assign(spec, cropFields(typeof o.crop === 'number' ? [o.crop, o.crop] : o.crop));
  const explicit = o.mean && o.std && o.resize && o.crop;
  return { spec, preset: o.preprocess ?? (explicit ? 'explicit' : 'imagenet (default)') };
}

/**
 * Images given by the user (`flag` names them, e.g. "--calib") must come with a preprocessing the
 * user chose: --preprocess, or all of --mean, --std, --resize and --crop. Throws BAD_OPTION otherwise.
 */
export function requireChosenPreprocessing(o: PreprocessOptions, flag: string, hasOverrides = true): void {
  if (o.preprocess) return;
  if (hasOverrides && o.mean && o.std && o.resize && o.crop) return;
  throw new EdgeqError('BAD_OPTION', `${flag} needs --preprocess imagenet|unit${hasOverrides ? ' (or all of --mean, --std, --resize, --crop)' : ''}: the images must be prepared as the model was trained`);
}

/** The spec fields of an H x W centre crop: `crop` its larger side, `size` when it is not square. */
function cropFields([h, w]: [number, number]): Pick<PreprocessSpec, 'crop' | 'size'> {
  return { crop: Math.max(h, w), size: h !== w ? [h, w] : undefined };
}

/** A spec without an undefined `size` field (a square crop stores none: the bytes of older files). */
function tidy(spec: PreprocessSpec): PreprocessSpec {
  if (spec.size !== undefined) return spec;
  const { size: _size, ...rest } = spec;
  return rest;
}

/**
 * `spec` for a model whose input is `shape` ([C, H, W]): when the model's input size differs from
 * the spec's crop and the user gave no --crop, the crop becomes the model's H x W and the resize scales
 * with its larger side (e.g. imagenet 256/224 -> 146/128 for a 128x128 model, 183 for 96x160). A
 * 1-channel model takes the luma ('gray'; mean and std become their luma-weighted values). A --crop
 * that disagrees with the model, or an input of other than 1 or 3 channels, is a BAD_SHAPE error
 * naming both.
 */
export function fitSpecToInput(spec: PreprocessSpec, shape: InputShape, cropGiven: boolean): PreprocessSpec {
  const { name, channels, height, width } = shape;
  if (channels !== undefined && channels !== 3 && channels !== 1) throw new EdgeqError('BAD_SHAPE', `model input "${name}" has ${channels} channels; image preprocessing makes 3 (RGB) or 1 (grey)`);
  if (channels === 1 && spec.channels !== 'gray') {
    // The luma weights sum to 1: a uniform mean or std stays as it is.
    const luma = (v: readonly number[]) => (v[0] === v[1] && v[1] === v[2] ? v[0]! : LUMA[0] * v[0]! + LUMA[1] * v[1]! + LUMA[2] * v[2]!);
    const m = luma(spec.mean), sd = luma(spec.std);
    spec = { ...spec, channels: 'gray', mean: [m, m, m], std: [sd, sd, sd] };
  } else if (channels === 3 && spec.channels === 'gray') {
    throw new EdgeqError('BAD_SHAPE', `model input "${name}" has 3 channels; the preprocessing makes 1 (gray)`);
  }
  if (height === undefined || width === undefined) return tidy(spec);
  const [ch, cw] = cropSize(spec);
  if (ch === height && cw === width) return tidy(spec);
  if (cropGiven) throw new EdgeqError('BAD_SHAPE', `--crop ${ch === cw ? ch : `${ch}x${cw}`} does not match the model input "${name}", ${height}x${width}`);
  const side = Math.max(height, width);
  const resize = spec.resizeMode === 'square-crop' ? side : Math.round((spec.resize * side) / spec.crop);
  return tidy({ ...spec, ...cropFields([height, width]), resize });
}

/** One line: `preprocessing imagenet: short side 256, centre crop 224, antialias, /255, mean 0.485,... std ..., rgb`. */
export function describeSpec(spec: PreprocessSpec, preset: string): string {
  const [h, w] = cropSize(spec);
  const crop = h === w ? `${h}` : `${h}x${w}`;
  const size = spec.resizeMode === 'short-side' ? `short side ${spec.resize}, centre crop ${crop}` : `centre ${h === w ? 'square' : `${w}:${h} window`} resized to ${h === w ? spec.crop : `${Math.round((spec.resize * w) / spec.crop)}x${Math.round((spec.resize * h) / spec.crop)}, crop ${crop}`}`;
  return `preprocessing ${preset}: ${size}, ${spec.interpolation}, /${spec.scale}, mean ${spec.mean.join(',')}, std ${spec.std.join(',')}, ${spec.channels}`;
}
