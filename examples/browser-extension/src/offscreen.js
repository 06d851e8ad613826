// The offscreen document: fetches the image (the extension's host permission lets it read any
// image the user right-clicked) and hands the bytes to the worker that runs the classifier.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 0;

worker.addEventListener('message', ({ data }) => {
  pending.get(data.id)?.(data);
  pending.delete(data.id);
});
worker.addEventListener('error', (event) => {
  for (const reply of pending.values()) reply({ error: `the classifier worker failed: ${event.message ?? 'unknown error'}` });
  pending.clear();
});

async function classify({ srcUrl, topK, logits }) {
  let response;
  try {
    response = await fetch(srcUrl);
  } catch (err) {
    throw new Error(`cannot fetch the image: ${err.message}`);
  }
  if (!response.ok) throw new Error(`cannot fetch the image: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  const type = response.headers.get('content-type') ?? '';
  return new Promise((resolve) => {
    const id = ++nextId;
    pending.set(id, resolve);
    worker.postMessage({ id, bytes, type, topK, logits }, [bytes]);
  });
}

chrome.runtime.onMessage.addListener((message, _sender, sendResponse) => {
  if (message?.target !== 'edgeq-offscreen' || message.type !== 'classify') return false;
  classify(message).then(sendResponse, (err) => sendResponse({ error: err.message }));
  return true; // answers asynchronously
});
