// Where the kernel module comes from: bytes, a URL or a compiled module the caller passes, or the
// builds shipped beside this package (build/edgeq-simd.wasm, build/edgeq-scalar.wasm), located
// relative to this module with `new URL(..., import.meta.url)`.
// Node reads files with node:fs (imported only when running in Node), Deno with Deno.readFile;
// browsers, extensions and workers fetch, compiling while the bytes stream in when the server
// sends `application/wasm`.
import { EdgeqError } from '../errors.js';
import { KERNEL_WASM_RELAXED, KERNEL_WASM_SCALAR, KERNEL_WASM_SIMD } from '../kernels/wasm.js';
import { denoApi, fetchOk, isNode, readBytes, toUrl } from './read-bytes.js';

export type WasmSource = BufferSource | WebAssembly.Module | URL | string;
/** The single-thread builds: SIMD, scalar, and SIMD + relaxed SIMD (edgeq-relaxed.wasm). */
export type KernelBuild = 'simd' | 'scalar' | 'relaxed';

const compiled = new Map<KernelBuild, Promise<WebAssembly.Module>>();

/**
 * The default locations of a build: build/ two folders above this module (dist/runtime/ in the
 * package, src/runtime/ in a checkout), then three (a copy that keeps one more folder level).
 */
function defaultUrls(build: KernelBuild): URL[] {
  const file = build === 'simd' ? KERNEL_WASM_SIMD : build === 'relaxed' ? KERNEL_WASM_RELAXED : KERNEL_WASM_SCALAR;
  return [new URL(`../../build/${file}`, import.meta.url), new URL(`../../../build/${file}`, import.meta.url)];
}

async function compileBytes(bytes: BufferSource): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (err) {
    throw new EdgeqError('NOT_SUPPORTED', `cannot compile the kernel module: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Compiles from a URL that is fetched (http:, https:, chrome-extension:, blob:, ...): streaming
 * compilation when the response is `application/wasm`, else from the downloaded bytes.
 */
async function compileFetched(url: URL): Promise<WebAssembly.Module> {
  let response: Response;
  try {
    response = await fetchOk(url);
  } catch (err) {
    throw new EdgeqError('BAD_OPTION', `cannot read ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  const type = response.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && /^application\/wasm\b/i.test(type)) {
    try {
      return await WebAssembly.compileStreaming(response);
    } catch (err) {
      throw new EdgeqError('NOT_SUPPORTED', `cannot compile the kernel module ${url.href}: ${(err as Error).message}`, { cause: err });
    }
  }
  return compileBytes(await response.arrayBuffer());
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof URL || typeof source === 'string') {
    const url = toUrl(source);
    const local = !url || url.protocol === 'file:';
    if (url && !(local && (isNode() || denoApi()))) return compileFetched(url);
    return compileBytes(await readBytes(source) as BufferSource);
  }
  return compileBytes(source);
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
