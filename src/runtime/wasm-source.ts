// Where the kernel module comes from: bytes, a URL or a compiled module the caller passes, or the
// builds shipped beside this package (build/edgeq-simd.wasm, build/edgeq-scalar.wasm), located
// relative to this module with `new URL(..., import.meta.url)`.
// Node reads files with node:fs (imported only when running in Node), Deno with Deno.readFile;
// browsers, extensions and workers fetch, compiling while the bytes stream in when the server
// sends `application/wasm`.
import { EdgeqError } from '../errors.js';
import { KERNEL_WASM_RELAXED, KERNEL_WASM_SCALAR, KERNEL_WASM_SIMD } from '../kernels/wasm.js';

export type WasmSource = BufferSource | WebAssembly.Module | URL | string;
/** The single-thread builds: SIMD, scalar, and SIMD + relaxed SIMD (edgeq-relaxed.wasm). */
export type KernelBuild = 'simd' | 'scalar' | 'relaxed';

const compiled = new Map<KernelBuild, Promise<WebAssembly.Module>>();

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && typeof process.versions.node === 'string'
  && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined';

type DenoReadFile = { readFile(p: URL | string): Promise<Uint8Array> };
const denoApi = (): DenoReadFile | undefined => (globalThis as { Deno?: DenoReadFile }).Deno;

/**
 * The default locations of a build: build/ two folders above this module (dist/runtime/ in the
 * package, src/runtime/ in a checkout), then three (a copy that keeps one more folder level).
 */
function defaultUrls(build: KernelBuild): URL[] {
  const file = build === 'simd' ? KERNEL_WASM_SIMD : build === 'relaxed' ? KERNEL_WASM_RELAXED : KERNEL_WASM_SCALAR;
  return [new URL(`../../build/${file}`, import.meta.url), new URL(`../../../build/${file}`, import.meta.url)];
}

/** A string that is a URL (has a scheme) rather than a file path. Windows drive letters are paths. */
const toUrl = (location: URL | string): URL | undefined =>
  typeof location !== 'string' ? location : /^[a-z][a-z0-9+.-]+:/i.test(location) ? new URL(location) : undefined;

/** Fetches a URL and checks the status. */
async function fetchOk(location: URL | string): Promise<Response> {
  const response = await fetch(location);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
  return response;
}

/** Reads bytes from a path or URL, with an error that names it. */
export async function readBytes(location: URL | string): Promise<Uint8Array> {
  const url = toUrl(location);
  try {
    if (isNode() && (!url || url.protocol === 'file:')) {
      const fs = await import(/* webpackIgnore: true */ 'node:fs/promises');
      return new Uint8Array(await fs.readFile(url ?? (location as string)));
    }
    const deno = denoApi();
    if (deno && (!url || url.protocol === 'file:')) return await deno.readFile(url ?? (location as string));
    return new Uint8Array(await (await fetchOk(url ?? (location as string))).arrayBuffer());
  } catch (err) {
    throw new EdgeqError('BAD_OPTION', `cannot read ${String(location)}: ${(err as Error).message}`, { cause: err });
  }
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
