// A preprocessing spec is data, so each model can carry its own (it is stored in the .edgeq header).

export interface PreprocessSpec {
  /** Resize so the short side equals this many pixels ('short-side'), or crop the largest centred square first ('square-crop'). */
  resizeMode: 'short-side' | 'square-crop';
  /** Short side after resize (short-side mode). */
  resize: number;
  /**
   * Output side of the centre crop (or of the square resize in square-crop mode). For a non-square
   * crop (`size`), the larger of its two sides: `resize / crop` is the preset's ratio either way.
   */
  crop: number;
  /**
   * The centre crop as [height, width] when it is not square (a 1x3x96x160 model: [96, 160]; `crop`
   * is then 160). Absent: crop x crop, as in every file written before non-square inputs.
   */
  size?: [number, number];
  /** 'antialias' = area-weighted bilinear (PIL style) when shrinking; 'bilinear' = plain sampling (TF legacy). */
  interpolation: 'antialias' | 'bilinear';
  /** Pixel values are divided by this before mean/std (255 gives [0,1]). */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /**
   * Channels of the model input: 'rgb' or 'bgr' (3 planes, in that order), or 'gray' (1 plane, the
   * luma Y = 0.299 R + 0.587 G + 0.114 B of ITU-R BT.601, as Pillow's convert('L') before rounding;
   * normalized with mean[0] and std[0]).
   */
  channels: 'rgb' | 'bgr' | 'gray';
}

export const IMAGENET: PreprocessSpec = {
  resizeMode: 'short-side', resize: 256, crop: 224, interpolation: 'antialias',
  scale: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 'rgb',
};

/** darknet-tiny: largest centred square, plain bilinear (TF legacy) to 224, /255, no mean/std. */
export const UNIT: PreprocessSpec = {
  resizeMode: 'square-crop', resize: 224, crop: 224, interpolation: 'bilinear',
  scale: 255, mean: [0, 0, 0], std: [1, 1, 1], channels: 'rgb',
};

export const PRESETS: Record<string, PreprocessSpec> = { imagenet: IMAGENET, unit: UNIT };

/** The centre crop's [height, width]: `size`, else the square crop x crop. */
export function cropSize(spec: PreprocessSpec): [number, number] {
  return spec.size ? [spec.size[0], spec.size[1]] : [spec.crop, spec.crop];
}

/** Planes of the model input the spec makes: 1 for 'gray', else 3. */
export function specChannels(spec: PreprocessSpec): 1 | 3 {
  return spec.channels === 'gray' ? 1 : 3;
}

/**
 * Whether `spec` is well formed: positive integer sides, crop <= resize <= 8 x crop (a larger resize
 * only burns time and memory), `size` (when given) two positive integers whose larger is `crop`,
 * finite values, non-zero std. The runtime and the .edgeq reader check specs with it.
 */
export function isValidSpec(p: PreprocessSpec): boolean {
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 2 ** 24;
  return typeof p === 'object' && p !== null
    && (p.resizeMode === 'short-side' || p.resizeMode === 'square-crop') && int(p.resize) && int(p.crop)
    && p.crop <= p.resize && p.resize <= 8 * p.crop
    && (p.size === undefined || (Array.isArray(p.size) && p.size.length === 2 && p.size.every(int) && Math.max(p.size[0], p.size[1]) === p.crop))
    && (p.interpolation === 'antialias' || p.interpolation === 'bilinear') && typeof p.scale === 'number' && Number.isFinite(p.scale) && p.scale > 0
    && [p.mean, p.std].every((v) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x)))
    && p.std.every((x) => x !== 0) && (p.channels === 'rgb' || p.channels === 'bgr' || p.channels === 'gray');
}
