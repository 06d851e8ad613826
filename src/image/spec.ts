// A preprocessing spec is data, so each model can carry its own (it is stored in the .edgeq header).

export interface PreprocessSpec {
  /** Resize so the short side equals this many pixels ('short-side'), or crop the largest centred square first ('square-crop'). */
  resizeMode: 'short-side' | 'square-crop';
  /** Short side after resize (short-side mode). */
  resize: number;
  /** Output side of the centre crop (or of the square resize in square-crop mode). */
  crop: number;
  /** 'antialias' = area-weighted bilinear (PIL style) when shrinking; 'bilinear' = plain sampling (TF legacy). */
  interpolation: 'antialias' | 'bilinear';
  /** Pixel values are divided by this before mean/std (255 gives [0,1]). */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Channel order of the model input. */
  channels: 'rgb' | 'bgr';
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
