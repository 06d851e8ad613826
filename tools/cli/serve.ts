// `edgeq serve`: a small static server for the example web page (examples/web) and the runtime it
// imports from the runtime package `edgeq` (dist/**/*.js and build/*.wasm, at the same paths as in
// that package, so the runtime finds its kernel builds relative to itself). Node http, loopback addresses only.
//
// Every response carries the cross-origin isolation headers (COOP same-origin, COEP require-corp,
// CORP same-origin) that give the page SharedArrayBuffer and so threads; `isolate: false` drops them.
// GET /config.json describes the model given with --model ({ model, version, bytes, name }); the page
// keys its Cache API entry on `version` (a content hash), so it downloads the model once per version.
// A TensorFlow Lite model (.tflite, told by its TFL3 identifier) is imported on the fly with
// importTflite's defaults and its own pass-through preprocessing (tflitePreprocess), and the
// resulting .edgeq is served from memory (re-imported when the file changes).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';
import { EdgeqError } from 'edgeq';
import { requireFile, requireFolder } from './paths.js';
import { importTfliteForRun, isTflite } from '../tflite/index.js';

export interface ServeOptions {
  /** The .edgeq model served at /model.edgeq (a .tflite file is imported first). */
  model?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** A loopback address: 127.0.0.1 (default), localhost or ::1. */
  host?: string;
  /** The folder served at / (default: the package's examples/web). */
  dir?: string;
  /** Send COOP/COEP/CORP (default true). */
  isolate?: boolean;
}

export interface RunningServer {
  /** Base URL, ending with '/'. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp',
  '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.edgeq': 'application/octet-stream',
};

/** The folder of the runtime package `edgeq` (its dist/, build/ and examples/web). */
export function packageRoot(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('edgeq/package.json'));
  } catch (err) {
    throw new EdgeqError('INTERNAL', `cannot find the runtime package edgeq: ${(err as Error).message}`, { cause: err });
  }
}

/** `file` inside `root` (no `..` escape), or undefined. */
function inside(root: string, rel: string): string | undefined {
  const file = resolve(root, `.${sep}${rel}`);
  return file === root || file.startsWith(root + sep) ? file : undefined;
}

/** The served model; `edgeq` holds the .edgeq bytes imported from a .tflite file (else the file is sent). */
interface ModelInfo { path: string; name: string; bytes: number; version: string; mtimeMs: number; edgeq?: Buffer }

function modelInfo(path: string): ModelInfo {
  requireFile(path, '--model');
  const mtimeMs = statSync(path).mtimeMs;
  let data = readFileSync(path);
  let edgeq: Buffer | undefined;
  if (isTflite(new Uint8Array(data.buffer, data.byteOffset, data.length))) {
    data = edgeq = Buffer.from(importTfliteForRun(new Uint8Array(data.buffer, data.byteOffset, data.length), path).edgeq);
  }
  return {
    path, name: basename(path), bytes: data.length, mtimeMs, edgeq,
    version: createHash('sha256').update(data).digest('hex').slice(0, 16),
  };
}

export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new EdgeqError('BAD_OPTION', `--host must be a loopback address (127.0.0.1, localhost or ::1), got "${host}"`);
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EdgeqError('BAD_OPTION', `--port must be 0..65535, got ${port}`);
  const root = packageRoot();
  const dir = resolve(options.dir ?? join(root, 'examples', 'web'));
  requireFolder(dir, '--dir folder');
  const isolate = options.isolate ?? true;
  let model = options.model ? modelInfo(resolve(options.model)) : undefined;

  const headers = (type: string): Record<string, string> => ({
    'Content-Type': type,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...(isolate ? {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    } : {}),
  });

  const send = (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer): void => {
    res.writeHead(status, { ...headers(type), 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const sendFile = (req: IncomingMessage, res: ServerResponse, file: string, etag?: string): void => {
    const st = statSync(file);
    const tag = etag ?? `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    if (req.headers['if-none-match'] === tag) {
      res.writeHead(304, { ...headers(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'), ETag: tag });
      res.end();
      return;
    }
    res.writeHead(200, { ...headers(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'), ETag: tag, 'Content-Length': String(st.size) });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  };

  /** The file a request path maps to, or undefined (404). */
  const route = (path: string): string | undefined => {
    if (/^\/dist\/[\w./-]+\.js$/.test(path)) return inside(root, path.slice(1));
    if (/^\/build\/[\w.-]+\.wasm$/.test(path)) return inside(root, path.slice(1));
    return inside(dir, (path.endsWith('/') ? `${path}index.html` : path).slice(1));
  };

  const server = createServer((req, res) => {
    try {
      // DNS rebinding guard: only loopback names in the Host header.
      const hostName = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!LOOPBACK.has(hostName)) return send(req, res, 403, TYPES['.txt']!, 'edgeq serve answers loopback names only\n');
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(req, res, 405, TYPES['.txt']!, 'method not allowed\n');
      let path: string;
      try {
        path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      } catch {
        return send(req, res, 400, TYPES['.txt']!, 'bad path\n');
      }
      if (path.includes('\0') || path.split('/').includes('..')) return send(req, res, 400, TYPES['.txt']!, 'bad path\n');
      if (path === '/config.json') {
        if (model && existsSync(model.path) && statSync(model.path).mtimeMs !== model.mtimeMs) model = modelInfo(model.path);
        const body = JSON.stringify(model
          ? { model: '/model.edgeq', version: model.version, bytes: model.bytes, name: model.name }
          : { model: null, hint: 'start the server with --model <file.edgeq>' });
        return send(req, res, 200, TYPES['.json']!, body);
      }
      if (path === '/model.edgeq') {
        if (!model || !existsSync(model.path)) return send(req, res, 404, TYPES['.txt']!, 'no model: start the server with --model <file.edgeq>\n');
        if (model.edgeq) {
          const tag = `"${model.version}"`;
          if (req.headers['if-none-match'] === tag) { res.writeHead(304, { ...headers(TYPES['.edgeq']!), ETag: tag }); res.end(); return; }
          res.setHeader('ETag', tag);
          return send(req, res, 200, TYPES['.edgeq']!, model.edgeq);
        }
        return sendFile(req, res, model.path, `"${model.version}"`);
      }
      const file = route(path);
      if (!file || !existsSync(file) || !statSync(file).isFile()) return send(req, res, 404, TYPES['.txt']!, `not found: ${path}\n`);
      return sendFile(req, res, file);
    } catch (err) {
      if (!res.headersSent) send(req, res, 500, TYPES['.txt']!, `${(err as Error).message}\n`);
      else res.destroy();
    }
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'EADDRINUSE'
      ? new EdgeqError('BAD_OPTION', `port ${port} is in use; pass --port <n> (0 picks a free one)`)
      : err));
    server.listen(port, host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, ''), () => ok());
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host === '::1' || host === '[::1]' ? '[::1]' : host;
  return {
    url: `http://${shown}:${actual}/`,
    port: actual,
    close: () => new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    }),
  };
}

export async function serveCommand(o: { model?: string; port: number; host: string; dir?: string; isolate: boolean }): Promise<void> {
  const running = await startServer(o);
  const what = o.model ? `model ${o.model}${/\.tflite$/i.test(o.model) ? ' (imported from TFLite)' : ''}` : 'no model (pass --model <file.edgeq>)';
  console.log(`edgeq serve: ${running.url} (${what}; ${o.isolate ? 'cross-origin isolated' : 'not cross-origin isolated'}; Ctrl-C stops)`);
  await new Promise<void>((ok) => {
    const stop = (): void => { void running.close().then(ok); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
