// The extension's service worker: the "Classify with edgeq" context menu, and the hand-off to the
// offscreen document whose worker runs the classifier. No inference happens here, so the service
// worker stays responsive and may be stopped between clicks; the result is shown in the page.
const MENU_ID = 'edgeq-classify';
const OFFSCREEN_PAGE = 'offscreen.html';

chrome.runtime.onInstalled.addListener(() => {
  chrome.contextMenus.create({ id: MENU_ID, title: 'Classify with edgeq', contexts: ['image'] });
});

chrome.contextMenus.onClicked.addListener((info, tab) => {
  if (info.menuItemId !== MENU_ID || !info.srcUrl || tab?.id === undefined) return;
  classifyInTab(tab.id, info.frameId ?? 0, info.srcUrl).catch(() => { /* shown in the page */ });
});

let creating;

/** Creates the offscreen document once (it lives until the browser closes it). */
async function ensureOffscreen() {
  const url = chrome.runtime.getURL(OFFSCREEN_PAGE);
  const open = await chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT'], documentUrls: [url] });
  if (open.length > 0) return;
  creating ??= chrome.offscreen.createDocument({
    url: OFFSCREEN_PAGE,
    reasons: ['WORKERS'],
    justification: 'Runs the edgeq WebAssembly image classifier in a worker.',
  }).finally(() => { creating = undefined; });
  await creating;
}

/**
 * Classifies the image at `srcUrl`: { top: [{ index, label, score }], ms, decodeMs, backend,
 * threads, isolated, width, height } (and `logits` with { logits: true }).
 */
async function classify(srcUrl, options = {}) {
  await ensureOffscreen();
  const reply = await chrome.runtime.sendMessage({
    target: 'edgeq-offscreen', type: 'classify', srcUrl, topK: options.topK ?? 5, logits: options.logits === true,
  });
  if (!reply) throw new Error('the classifier did not answer');
  if (reply.error) throw new Error(reply.error);
  return reply;
}

/** What the context menu does: classify, and show the progress and the answer in the page. */
async function classifyInTab(tabId, frameId, srcUrl, options) {
  await show(tabId, frameId, { state: 'busy' });
  try {
    const result = await classify(srcUrl, options);
    await show(tabId, frameId, { state: 'done', top: result.top, ms: result.ms, backend: result.backend, threads: result.threads });
    return result;
  } catch (err) {
    await show(tabId, frameId, { state: 'error', message: err.message });
    throw err;
  }
}

function show(tabId, frameId, view) {
  return chrome.scripting.executeScript({ target: { tabId, frameIds: [frameId] }, func: renderPanel, args: [view] })
    .catch(() => { /* a page extensions may not script (chrome://, the Web Store) */ });
}

// For the extension's own pages, DevTools and tests: the same calls the context menu makes.
globalThis.edgeq = { classify, classifyInTab };

/**
 * Injected into the page: a small panel (in a shadow root, so the page's styles do not reach it)
 * with the top-5 classes and bars. Self-contained: it runs in the page, not here.
 */
function renderPanel(view) {
  const ID = 'edgeq-extension-result';
  let host = document.getElementById(ID);
  if (!host) {
    host = document.createElement('div');
    host.id = ID;
    host.style.cssText = 'all: initial; position: fixed; top: 16px; right: 16px; z-index: 2147483647;';
    host.attachShadow({ mode: 'open' });
    document.documentElement.append(host);
  }
  host.dataset.state = view.state;
  const el = (tag, className, text) => {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const style = el('style', '', `
    .panel { font: 13px/1.4 system-ui, sans-serif; color: #1d2430; background: #fff; width: 280px;
      border: 1px solid #d9dee7; border-radius: 10px; box-shadow: 0 6px 24px rgba(0,0,0,.18); padding: 10px 12px; }
    .head { display: flex; justify-content: space-between; align-items: center; margin-bottom: 6px; font-weight: 600; }
    button { all: unset; cursor: pointer; color: #5b6575; padding: 0 4px; font-size: 16px; }
    ol { list-style: none; margin: 0; padding: 0; }
    li { position: relative; margin: 0 0 4px; padding: 4px 8px; border-radius: 5px; overflow: hidden; }
    .bar { position: absolute; inset: 0 auto 0 0; background: #dce7fb; }
    .row { position: relative; display: flex; justify-content: space-between; gap: 8px; }
    .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .score, .foot { color: #5b6575; font-variant-numeric: tabular-nums; }
    .foot { margin-top: 4px; font-size: 12px; }
    .error { color: #b3261e; }`);
  const panel = el('div', 'panel');
  const head = el('div', 'head', 'edgeq');
  const close = el('button', '', '×');
  close.title = 'Close';
  close.addEventListener('click', () => host.remove());
  head.append(close);
  panel.append(head);
  if (view.state === 'busy') panel.append(el('div', 'foot', 'Classifying…'));
  if (view.state === 'error') panel.append(el('div', 'error', view.message));
  if (view.state === 'done') {
    const list = el('ol');
    for (const { label, score } of view.top) {
      const li = el('li');
      const bar = el('span', 'bar');
      bar.style.width = `${(score * 100).toFixed(1)}%`;
      const row = el('span', 'row');
      row.append(el('span', 'label', label), el('span', 'score', `${(score * 100).toFixed(1)}%`));
      li.append(bar, row);
      list.append(li);
    }
    const threads = `${view.threads} thread${view.threads === 1 ? '' : 's'}`;
    panel.append(list, el('div', 'foot', `${view.ms.toFixed(0)} ms · ${view.backend === 'simd' ? 'SIMD' : view.backend} · ${threads}`));
  }
  host.shadowRoot.replaceChildren(style, panel);
}
