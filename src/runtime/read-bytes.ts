// Bytes from a location a user names: a path (Node: node:fs, imported only there; Deno:
// Deno.readFile) or a URL (fetched; file: URLs read directly in Node and Deno). Used for model
// files, kernel builds and images.
import { EdgeqError } from '../errors.js';

export const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && typeof process.versions.node === 'string'
  && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined';

type DenoReadFile = { readFile(p: URL | string): Promise<Uint8Array> };
export const denoApi = (): DenoReadFile | undefined => (globalThis as { Deno?: DenoReadFile }).Deno;

/** A string that is a URL (has a scheme) rather than a file path. Windows drive letters are paths. */
export const toUrl = (location: URL | string): URL | undefined =>
  typeof location !== 'string' ? location : /^[a-z][a-z0-9+.-]+:/i.test(location) ? new URL(location) : undefined;

/** Fetches a URL and checks the status. */
export async function fetchOk(location: URL | string): Promise<Response> {
  const response = await fetch(location);
  if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status} ${response.statusText}`.trim()), { status: response.status });
  return response;
}

/** A read that failed because nothing is there: ENOENT (Node), NotFound (Deno), HTTP 404 / 410. */
const isMissing = (err: unknown): boolean => {
  const e = err as { code?: string; name?: string; status?: number };
  return e?.code === 'ENOENT' || e?.name === 'NotFound' || e?.status === 404 || e?.status === 410;
};

/**
 * Reads bytes from a path (Node, Deno) or URL (fetched; file: read directly in Node and Deno), with
 * a one-line error that names it: NOT_FOUND where nothing is there, else BAD_OPTION.
 */
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
    if (isMissing(err)) throw new EdgeqError('NOT_FOUND', `${String(location)} does not exist`, { cause: err });
    throw new EdgeqError('BAD_OPTION', `cannot read ${String(location)}: ${(err as Error).message}`, { cause: err });
  }
}
