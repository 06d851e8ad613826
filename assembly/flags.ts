// Bits of the kernels' trailing `flags` argument, one group per kernel family. A `// @kernels`
// line names the exports (their *_ref twins included) whose flags the constants below it define;
// scripts/gen-kernel-api.js turns every group into named constants for the host
// (src/kernels/kernel-api.generated.ts). 16-bit lanes hold 12-bit activations (0..4095).
// The convolution groups share one activation code field (bits 4-6, same values in every group).

// @kernels qu8_gemm qu8_igemm qu8_conv_im2col
/** The input rows are 16-bit lanes. */
export const GEMM_FLAG_IN16: i32 = 1;
/** The quantized output is stored as 16-bit lanes (ignored for a float32 output). */
export const GEMM_FLAG_OUT16: i32 = 2;
/** The fused residual is 16-bit lanes. */
export const GEMM_FLAG_RES16: i32 = 4;
/** The weights are int16 in [-255, 255] (the -w16 packings: i16 w[4][8] per k-block, 64 bytes). */
export const GEMM_FLAG_W16: i32 = 8;
/** Activation code field (bits 4-6, assembly/common.ts ACT_*): HardSwish. */
export const GEMM_FLAG_ACT_HARDSWISH: i32 = 16;
/** Activation code field: HardSigmoid (y * alpha + beta; the clamp bounds it). */
export const GEMM_FLAG_ACT_HARDSIGMOID: i32 = 32;
/** Activation code field: Sigmoid. */
export const GEMM_FLAG_ACT_SIGMOID: i32 = 48;
/** Activation code field: SiLU (x * sigmoid(x)). */
export const GEMM_FLAG_ACT_SILU: i32 = 64;

// @kernels qu8_gemm_relaxed_2x4c16 qu8_igemm_relaxed_2x4c16 qu8_conv_im2col_relaxed_2x4c16
/** The quantized output is stored as 16-bit lanes (ignored for a float32 output). */
export const RELAXED_FLAG_OUT16: i32 = 2;
/** The fused residual is 16-bit lanes. */
export const RELAXED_FLAG_RES16: i32 = 4;
/** s8xs8 lowering: activations enter as a - 128 (the repacked bias holds + 128 * sum(w)). */
export const RELAXED_FLAG_SHIFTED: i32 = 8;
/** Activation code field (bits 4-6, assembly/common.ts ACT_*): HardSwish. */
export const RELAXED_FLAG_ACT_HARDSWISH: i32 = 16;
/** Activation code field: HardSigmoid (y * alpha + beta; the clamp bounds it). */
export const RELAXED_FLAG_ACT_HARDSIGMOID: i32 = 32;
/** Activation code field: Sigmoid. */
export const RELAXED_FLAG_ACT_SIGMOID: i32 = 48;
/** Activation code field: SiLU (x * sigmoid(x)). */
export const RELAXED_FLAG_ACT_SILU: i32 = 64;

// @kernels qu8_gemm_relaxed_4x8c4 qu8_conv_im2col_relaxed_4x8c4
/** s8xs8 lowering: activations enter as a - 128 (the packed bias holds + 128 * sum(w)). */
export const C4_FLAG_SHIFTED: i32 = 8;
/** Activation code field (bits 4-6, assembly/common.ts ACT_*): HardSwish. */
export const C4_FLAG_ACT_HARDSWISH: i32 = 16;
/** Activation code field: HardSigmoid (y * alpha + beta; the clamp bounds it). */
export const C4_FLAG_ACT_HARDSIGMOID: i32 = 32;
/** Activation code field: Sigmoid. */
export const C4_FLAG_ACT_SIGMOID: i32 = 48;
/** Activation code field: SiLU (x * sigmoid(x)). */
export const C4_FLAG_ACT_SILU: i32 = 64;
/** Some block has channel offsets (non-zero c[8]): each row's sum of activations is formed once per 4 rows. */
export const C4_FLAG_ROW_SUMS: i32 = 128;
/**
 * The blocks' c[8] fields hold sparse corrections instead of offsets (assembly/gemm-c4.ts): up to 8
 * entries k | lane << 16 | b << 24, each adding b * x[k] to that channel. Not with ROW_SUMS.
 */
export const C4_FLAG_CORRECTIONS: i32 = 256;

// @kernels qu8_wino3x3
/** The input is 16-bit lanes. */
export const WINO_FLAG_IN16: i32 = 1;
/** The output is stored as 16-bit lanes. */
export const WINO_FLAG_OUT16: i32 = 2;
/** Activation code field (bits 4-6, assembly/common.ts ACT_*): HardSwish. */
export const WINO_FLAG_ACT_HARDSWISH: i32 = 16;
/** Activation code field: HardSigmoid (y * alpha + beta; the clamp bounds it). */
export const WINO_FLAG_ACT_HARDSIGMOID: i32 = 32;
/** Activation code field: Sigmoid. */
export const WINO_FLAG_ACT_SIGMOID: i32 = 48;
/** Activation code field: SiLU (x * sigmoid(x)). */
export const WINO_FLAG_ACT_SILU: i32 = 64;

// @kernels qu8_vadd
/** Operand a is 16-bit lanes. */
export const VADD_FLAG_A16: i32 = 1;
/** Operand b is 16-bit lanes. */
export const VADD_FLAG_B16: i32 = 2;
/** The output is stored as 16-bit lanes. */
export const VADD_FLAG_OUT16: i32 = 4;
/** The output is float32 in real units (clamped, not rounded; ma = sa, mb = sb, zo = 0). */
export const VADD_FLAG_OUT_F32: i32 = 8;
/** XNNPACK's qu8 vadd (u8 operands and output): ma, mb are integers below 2^21, y = clamp((ma (a - za) + mb (b - zb) + 2^(shift - 1)) >> shift, fmin, fmax) + zo in i32. */
export const VADD_FLAG_Q21: i32 = 16;
/** The unit of the shift field (bits 8-12) VADD_FLAG_Q21 reads: flags |= shift * VADD_FLAG_SHIFT_1. */
export const VADD_FLAG_SHIFT_1: i32 = 256;

// @kernels u8_maxpool
/** Input and output are 16-bit lanes. */
export const MAXPOOL_FLAG_IO16: i32 = 1;

// @kernels qu8_gavgpool
/** The input is 16-bit lanes. */
export const GAVGPOOL_FLAG_IN16: i32 = 1;
/** The output is stored as 16-bit lanes. */
export const GAVGPOOL_FLAG_OUT16: i32 = 2;
/** TFLite's uint8 average (u8 in and out, one scale and zero point, HW <= 65280): q = (sum + HW / 2) / HW, ties up. */
export const GAVGPOOL_FLAG_ROUND_HALF_UP: i32 = 4;
/** TFLite's int8 average of int8 stored + 128 (the same conditions): q = 128 + round((sum - 128 * HW) / HW), ties away from zero. */
export const GAVGPOOL_FLAG_ROUND_HALF_AWAY_128: i32 = 8;

// @kernels qu8_dwconv_c16 qu8_dwconv_relaxed_c16x4
/** The input is 16-bit lanes (qu8_dwconv_c16 only). */
export const DWCONV_FLAG_IN16: i32 = 1;
/** The quantized output is stored as 16-bit lanes (ignored for a float32 output). */
export const DWCONV_FLAG_OUT16: i32 = 2;
/** The fused residual is 16-bit lanes. */
export const DWCONV_FLAG_RES16: i32 = 4;
/** qu8_dwconv_relaxed_c16x4, s8xs8 lowering: activations enter as a - 128 (the relaxed blocks' bias holds + 128 * sum(w)). */
export const DWCONV_FLAG_SHIFTED: i32 = 8;
/** Activation code field (bits 4-6, assembly/common.ts ACT_*): HardSwish. */
export const DWCONV_FLAG_ACT_HARDSWISH: i32 = 16;
/** Activation code field: HardSigmoid (y * alpha + beta; the clamp bounds it). */
export const DWCONV_FLAG_ACT_HARDSIGMOID: i32 = 32;
/** Activation code field: Sigmoid. */
export const DWCONV_FLAG_ACT_SIGMOID: i32 = 48;
/** Activation code field: SiLU (x * sigmoid(x)). */
export const DWCONV_FLAG_ACT_SILU: i32 = 64;

// @kernels qu8_vmul
/** Operand a is 16-bit lanes. */
export const VMUL_FLAG_A16: i32 = 1;
/** Operand b is 16-bit lanes. */
export const VMUL_FLAG_B16: i32 = 2;
/** The output is stored as 16-bit lanes. */
export const VMUL_FLAG_OUT16: i32 = 4;

// @kernels qu8_concat
/** The input is 16-bit lanes. */
export const CONCAT_FLAG_IN16: i32 = 1;
/** The output is stored as 16-bit lanes. */
export const CONCAT_FLAG_OUT16: i32 = 2;
/** Input and output share dtype, scale and zero point: a plain copy. */
export const CONCAT_FLAG_COPY: i32 = 4;

// @kernels qu8_avgpool
/** The input is 16-bit lanes. */
export const AVGPOOL_FLAG_IN16: i32 = 1;
/** The output is stored as 16-bit lanes. */
export const AVGPOOL_FLAG_OUT16: i32 = 2;
/** count_include_pad = 1: every window divides by KH * KW (onnxruntime's rule, ceil-mode overhang included). */
export const AVGPOOL_FLAG_INCLUDE_PAD: i32 = 4;
/** TFLite's uint8 average (u8 in and out, one scale and zero point, windows of at most 65280 taps): q = (sum + n / 2) / n over the n valid taps, ties up. */
export const AVGPOOL_FLAG_ROUND_HALF_UP: i32 = 8;
/** TFLite's int8 average of int8 stored + 128 (the same conditions): q = 128 + round((sum - 128 * n) / n), ties away from zero. */
export const AVGPOOL_FLAG_ROUND_HALF_AWAY_128: i32 = 16;
