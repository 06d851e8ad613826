/** Every failure edgeq reports on purpose is an EdgeqError with a stable code. */
export type EdgeqErrorCode =
  | 'BAD_ONNX'          // ONNX bytes that do not parse, or a graph that is inconsistent
  | 'UNSUPPORTED_OP'    // an op (or op attribute) outside what the tools map
  | 'BAD_SHAPE'         // shapes that do not agree, or cannot be inferred statically
  | 'BAD_MODEL'         // a .edgeq file that fails validation (magic, version, offsets, checksum)
  | 'BAD_INPUT'         // a run() input of the wrong length, type or with NaN/Inf
  | 'BAD_IMAGE'         // an image that cannot be decoded
  | 'NOT_FOUND'         // a file, folder or URL that does not exist (the message names it)
  | 'BAD_OPTION'        // an unknown or invalid option
  | 'RELEASED'          // use of a released session
  | 'ABORTED'           // a run cancelled through its AbortSignal
  | 'NOT_SUPPORTED'     // the environment lacks a needed feature (e.g. SIMD)
  | 'INTERNAL';

export class EdgeqError extends Error {
  readonly code: EdgeqErrorCode;
  constructor(code: EdgeqErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeqError';
    this.code = code;
  }
}
