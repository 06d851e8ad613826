// Browser-safe image preprocessing. Node file decoding lives in decode-node.ts / folder-node.ts.
export * from './spec.js';
export * from './types.js';
export * from './resize.js';
export * from './preprocess.js';
export * from './load.js';
