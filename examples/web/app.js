// The edgeq web example: pick or drop an image, see the top-5 classes.
// The model comes from the server once per version and is kept in the Cache API; the kernels are
// the runtime's own build/*.wasm, compiled while they download. Plain ES modules, no bundler.
import { Session, loadImage, outputsProbabilities, topClasses } from 'edgeq';

const MODEL_CACHE = 'edgeq-models-v1';
const TOP_K = 5;
const $ = (id) => document.getElementById(id);

/** State the page shows, and what a test or the console can read. */
const demo = {
  /** Resolves when the model is loaded: { backend, threads, modelSource, modelMs, modelBytes }. */
  ready: undefined,
  /** The last result: { file, top, logits, ms, decodeMs, backend, threads }. */
  lastResult: undefined,
  /** performance.now() marks, ms since navigation start. */
  timings: {},
  results: 0,
};
globalThis.edgeqDemo = demo;

let modelBytes;
let session;
let sessionInfo;

function setState(state, message) {
  document.body.dataset.state = state;
  if (message !== undefined) $('message').textContent = message;
}

/** The model's bytes: from the Cache API when this version is there, else downloaded and stored. */
async function loadModel() {
  const config = await (await fetch('config.json', { cache: 'no-store' })).json();
  if (!config.model) throw new Error(`the server has no model (${config.hint ?? 'start it with --model'})`);
  const url = new URL(config.model, location.href);
  const key = new URL(`${url.pathname}?v=${config.version}`, url).href;
  const t0 = performance.now();
  const cache = 'caches' in globalThis ? await caches.open(MODEL_CACHE).catch(() => undefined) : undefined;
  const hit = cache && await cache.match(key);
  if (hit) {
    return { bytes: new Uint8Array(await hit.arrayBuffer()), source: 'cache', ms: performance.now() - t0, name: config.name };
  }
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`cannot download the model: HTTP ${response.status}`);
  const buffer = await response.arrayBuffer();
  if (cache) {
    // Keep only this version of the model.
    for (const old of await cache.keys()) if (new URL(old.url).pathname === url.pathname) await cache.delete(old);
    await cache.put(key, new Response(buffer, { headers: { 'Content-Type': 'application/octet-stream' } }));
  }
  return { bytes: new Uint8Array(buffer), source: 'network', ms: performance.now() - t0, name: config.name };
}

/**
 * A session with as many threads as this page may use (cross-origin isolated), else one, warmed
 * up at load (one run on a blank image) so that the first picture gets the warm time.
 */
async function createSession(bytes, backend) {
  const wanted = globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
  const s = await Session.create(bytes, { backend, threads: wanted, warmup: true });
  return { session: s, threads: s.threads }; // what the runtime got, which may be fewer
}

const BACKEND_NAMES = { simd: 'SIMD', scalar: 'scalar', relaxed: 'relaxed SIMD' };

async function start(backend) {
  session?.release();
  session = undefined;
  const { session: s, threads } = await createSession(modelBytes, backend);
  session = s;
  sessionInfo = { backend: s.backend, threads };
  $('backend').textContent = BACKEND_NAMES[s.backend] ?? s.backend;
  $('threads').textContent = `${threads}${globalThis.crossOriginIsolated ? ' (isolated)' : ' (not isolated)'}`;
}

demo.ready = (async () => {
  try {
    const model = await loadModel();
    modelBytes = model.bytes;
    await start($('backend-choice').value);
    demo.timings.ready = performance.now();
    const mb = (model.bytes.length / 1e6).toFixed(2);
    $('model').textContent = `${model.name ?? 'model'}, ${mb} MB, ${model.source === 'cache' ? 'from cache' : 'downloaded'} in ${model.ms.toFixed(0)} ms`;
    setState('ready', 'Ready. Drop an image, or choose one.');
    return { ...sessionInfo, modelSource: model.source, modelMs: model.ms, modelBytes: model.bytes.length };
  } catch (err) {
    setState('error', `Cannot start: ${err.message}`);
    throw err;
  }
})();
demo.ready.catch(() => {});

function render(top) {
  $('top').replaceChildren(...top.map(({ label, score, index }) => {
    const li = document.createElement('li');
    li.title = `class ${index}`;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${(score * 100).toFixed(1)}%`;
    const row = document.createElement('span');
    row.className = 'row';
    const name = document.createElement('span');
    name.className = 'label';
    name.textContent = label;
    const pct = document.createElement('span');
    pct.className = 'score';
    pct.textContent = `${(score * 100).toFixed(1)}%`;
    row.append(name, pct);
    li.append(bar, row);
    return li;
  }));
}

let currentFile;
let queue = Promise.resolve();

async function classify(file) {
  currentFile = file;
  const preview = $('preview');
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  setState('busy', demo.timings.ready ? 'Classifying…' : 'Loading the model…');
  try {
    await demo.ready;
    const t0 = performance.now();
    const pixels = await loadImage(file);
    const t1 = performance.now();
    const logits = await session.run(pixels);
    const top = topClasses(logits, TOP_K, session.model.labels, outputsProbabilities(session.model));
    const ms = performance.now() - t1;
    render(top);
    $('latency').textContent = `${ms.toFixed(1)} ms`;
    demo.results++;
    if (demo.timings.firstResult === undefined) {
      demo.timings.firstResult = performance.now();
      $('ttfr').textContent = `${demo.timings.firstResult.toFixed(0)} ms after load`;
    }
    demo.lastResult = { file: file.name, top, logits: Array.from(logits), ms, decodeMs: t1 - t0, ...sessionInfo };
    setState('done', `${file.name}: ${pixels.width}×${pixels.height}, decoded in ${(t1 - t0).toFixed(0)} ms`);
  } catch (err) {
    setState('error', `${file.name}: ${err.message}`);
  }
}

/** Runs classifications one after another. */
const enqueue = (file) => (queue = queue.then(() => classify(file)));

$('file').addEventListener('change', (e) => {
  const file = e.target.files?.[0];
  if (file) enqueue(file);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (file) enqueue(file);
});
$('backend-choice').addEventListener('change', (e) => {
  queue = queue.then(async () => {
    try {
      await demo.ready;
      await start(e.target.value);
      if (currentFile) await classify(currentFile);
    } catch (err) {
      setState('error', err.message);
    }
  });
});
