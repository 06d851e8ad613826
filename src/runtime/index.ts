// The runtime: Session (the public API), and the planner, thread pool and I/O it is built from.
export * from './session.js';
export * from './plan.js';
export * from './pool.js';
export * from './io.js';
export * from './memory-plan.js';
export * from './wasm-source.js';
export * from './read-bytes.js';
