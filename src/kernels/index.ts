// Host side of the kernel module: loading, weight packing, buffer planning and typed wrappers.
export * from './wasm.js';
export * from './kernel-api.generated.js';
export * from './packing.js';
export * from './conv.js';
export * from './ops.js';
export * from './winograd.js';
export * from './relaxed-probe.js';
export * from './relaxed.js';
export * from './relaxed-check.js';
export * from './relaxed-c4.js';
