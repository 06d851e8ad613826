// The classifier: a module worker in the offscreen document. The runtime, its kernels and the model
// ship inside the extension (edgeq/, model.edgeq); nothing is fetched from the network but the image.
import { EdgeqError, Session, loadImage, outputsProbabilities, topClasses } from './edgeq/dist/index.js';

let loading;

/** The session, made once: threads where this context is cross-origin isolated, else one. */
function load() {
  loading ??= (async () => {
    const t0 = performance.now();
    const response = await fetch(new URL('./model.edgeq', import.meta.url));
    const bytes = new Uint8Array(await response.arrayBuffer());
    const wanted = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
    let session;
    let threads = wanted;
    try {
      session = await Session.create(bytes, { threads });
    } catch (err) {
      if (threads === 1 || !(err instanceof EdgeqError) || err.code !== 'BAD_OPTION') throw err;
      threads = 1; // this runtime version runs one thread
      session = await Session.create(bytes, { threads });
    }
    // session.threads: what the runtime actually got (it may run fewer threads than asked).
    return { session, threads: session.threads ?? threads, loadMs: performance.now() - t0 };
  })();
  loading.catch(() => { loading = undefined; });
  return loading;
}

self.addEventListener('message', async ({ data }) => {
  const { id, bytes, type, topK: k = 5, logits: wantLogits = false } = data;
  try {
    const { session, threads, loadMs } = await load();
    const t0 = performance.now();
    let pixels;
    try {
      pixels = await loadImage(new Blob([bytes], { type }));
    } catch {
      throw new Error(`cannot decode the image (${type || 'unknown type'})`);
    }
    const t1 = performance.now();
    const logits = await session.run(pixels);
    const top = topClasses(logits, k, session.model.labels, outputsProbabilities(session.model));
    self.postMessage({
      id, top, ms: performance.now() - t1, decodeMs: t1 - t0, loadMs, width: pixels.width, height: pixels.height,
      backend: session.backend, threads, isolated: self.crossOriginIsolated,
      ...(wantLogits ? { logits: Array.from(logits) } : {}),
    });
  } catch (err) {
    self.postMessage({ id, error: err.message ?? String(err) });
  }
});
