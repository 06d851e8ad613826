// Where the kernel module comes from: bytes, a URL or a compiled module the caller passes, or the
// builds shipped beside this package (build/edgeq-simd.wasm, build/edgeq-scalar.wasm).
// Node reads files with node:fs (imported only when running in Node); browsers and Deno fetch.
import { EdgeqError } from '../errors.js';
import { KERNEL_WASM_SCALAR, KERNEL_WASM_SIMD } from '../kernels/wasm.js';

export type WasmSource = BufferSource | WebAssembly.Module | URL | string;
export type KernelBuild = 'simd' | 'scalar';

const compiled = new Map<KernelBuild, Promise<WebAssembly.Module>>();

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && typeof process.versions.node === 'string'
  && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined';

/** The default locations of a build: beside the sources (src/runtime) or beside dist (dist/src/runtime). */
function defaultUrls(build: KernelBuild): URL[] {
  const file = build === 'simd' ? KERNEL_WASM_SIMD : KERNEL_WASM_SCALAR;
  return [new URL(`../../build/${file}`, import.meta.url), new URL(`../../../build/${file}`, import.meta.url)];
}

/** Reads bytes from a path or URL, with an error that names it. */
export async function readBytes(location: URL | string): Promise<Uint8Array> {
  const url = typeof location === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(location) ? undefined : new URL(location);
  try {
    if (isNode() && (!url || url.protocol === 'file:')) {
      const fs = await import('node:fs/promises');
      return new Uint8Array(await fs.readFile(url ?? (location as string)));
    }
    const deno = (globalThis as { Deno?: { readFile(p: URL | string): Promise<Uint8Array> } }).Deno;
    if (deno && (!url || url.protocol === 'file:')) return await deno.readFile(url ?? (location as string));
    const response = await fetch(url ?? (location as string));
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  } catch (err) {
    throw new EdgeqError('BAD_OPTION', `cannot read ${String(location)}: ${(err as Error).message}`, { cause: err });
  }
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  const bytes = source instanceof URL || typeof source === 'string' ? await readBytes(source) : source;
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (err) {
    throw new EdgeqError('NOT_SUPPORTED', `cannot compile the kernel module: ${(err as Error).message}`, { cause: err });
  }
}

/** The compiled kernel module of a build; compiled once per process and shared by sessions. */
export function kernelModule(build: KernelBuild, source?: WasmSource): Promise<WebAssembly.Module> {
  if (source !== undefined) return compile(source);
  let p = compiled.get(build);
  if (!p) {
    p = (async () => {
      const errors: string[] = [];
      for (const url of defaultUrls(build)) {
        try {
          return await compile(url);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      throw new EdgeqError('NOT_SUPPORTED', `the ${build} kernel build was not found (run \`npm run build:wasm\`, or pass options.wasm): ${errors.join('; ')}`);
    })();
    p.catch(() => compiled.delete(build));
    compiled.set(build, p);
  }
  return p;
}
