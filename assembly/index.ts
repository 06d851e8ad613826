// edgeq kernel module: every export takes pointers and sizes into the imported memory.
export function probe_add(a: i32, b: i32): i32 { return a + b; }
