// The .edgeq file format: the QModel it holds, its reader (validation) and writer. docs/format.md.
export * from './qmodel.js';
export * from './reader.js';
export * from './writer.js';
export { crc32 } from './crc32.js';
