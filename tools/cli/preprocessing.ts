// The preprocessing a command uses: chosen from --preprocess and its overrides, fitted to the
// model's input side, and described in one line that quantize, run and bench print first.
import { EdgeqError } from 'edgeq';
import { PRESETS, type PreprocessSpec } from 'edgeq/image';
import type { InputShape } from './model-shape.js';

export type PresetName = 'imagenet' | 'unit';

export interface PreprocessOptions {
  preprocess?: PresetName;
  mean?: [number, number, number];
  std?: [number, number, number];
  resize?: number;
  crop?: number;
}

/** The preset (default imagenet) with the explicit overrides applied; `preset` names where it came from. */
export function specFromOptions(o: PreprocessOptions): { spec: PreprocessSpec; preset: string } {
  const spec: PreprocessSpec = { ...PRESETS[o.preprocess ?? 'imagenet'] };
  if (o.mean) spec.mean = o.mean;
  if (o.std) spec.std = o.std;
  if (o.resize) spec.resize = o.resize;
  if (o.crop) spec.crop = o.crop;
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

/**
 * `spec` for a model whose input is `shape`: when the model's input side differs from the spec's
 * crop and the user gave no --crop, the crop becomes the model's side and the resize scales with it
 * (e.g. imagenet 256/224 -> 146/128 for a 128x128 model). A --crop that disagrees with the model, a
 * non-square input or one without 3 channels is a BAD_SHAPE error naming both.
 */
export function fitSpecToInput(spec: PreprocessSpec, shape: InputShape, cropGiven: boolean): PreprocessSpec {
  const { name, channels, height, width } = shape;
  if (channels !== undefined && channels !== 3) throw new EdgeqError('BAD_SHAPE', `model input "${name}" has ${channels} channels; image preprocessing makes 3 (RGB)`);
  if (height === undefined || width === undefined) return spec;
  if (height !== width) throw new EdgeqError('BAD_SHAPE', `model input "${name}" is ${height}x${width}; image preprocessing makes square crops`);
  if (height === spec.crop) return spec;
  if (cropGiven) throw new EdgeqError('BAD_SHAPE', `--crop ${spec.crop} does not match the model input "${name}", ${height}x${width}`);
  const resize = spec.resizeMode === 'square-crop' ? height : Math.round((spec.resize * height) / spec.crop);
  return { ...spec, crop: height, resize };
}

/** One line: `preprocessing imagenet: short side 256, centre crop 224, antialias, /255, mean 0.485,... std ..., rgb`. */
export function describeSpec(spec: PreprocessSpec, preset: string): string {
  const size = spec.resizeMode === 'short-side' ? `short side ${spec.resize}, centre crop ${spec.crop}` : `centre square resized to ${spec.crop}`;
  return `preprocessing ${preset}: ${size}, ${spec.interpolation}, /${spec.scale}, mean ${spec.mean.join(',')}, std ${spec.std.join(',')}, ${spec.channels}`;
}
