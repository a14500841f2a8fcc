// The Attention Lens panel: token chips, the matrix, focus bars and the layer × head grid, linked by hover.
// Token text reaches the DOM only through textContent (see dom.ts) or canvas fillText.
import type {
  AnalysisSummary,
  Direction,
  HeadSelector,
  RowsReply,
  SliceReply,
  ThumbnailsReply,
  ToWebview,
} from '../src/protocol/messages';
import { headColour } from './color-scale';
import { makeCheckbox, makeSelect, setChoices } from './controls';
import { displayText, el } from './dom';
import { renderFocusBars } from './focus-bars';
import { Heatmap } from './heatmap';
import { TokenView } from './token-view';
import { LatestRequest } from './latest-request';
import { focusDistribution, keepTopMass, normaliseRows, renormalise } from './row-math';
import { HeadSearch } from './head-search';
import { markSelectedThumb, renderThumbnailGrid } from './thumbnail-grid';
import { vscode } from './vscode-api';

/** A head, an aggregate, or every head at once (one colour each in the token view). */
type HeadChoice = HeadSelector | 'all';

/** What survives a reload (VS Code keeps it with the panel; the serializer re-runs the text). */
export interface ViewState {
  summary?: AnalysisSummary;
  sourceLabel?: string;
  sourceText?: string;
  layer: number;
  /** Show the attention rollout through `layer` instead of one layer's heads. */
  rollout: boolean;
  head: HeadChoice;
  direction: Direction;
  hideSpecial: boolean;
  keep: number;
  locked: number | null;
  /** Which views are on screen: everything, or one view (plus the focus bars). */
  view: 'all' | 'tokens' | 'matrix' | 'grid';
}

const THUMB = 24;
const KEEP_CHOICES = [1, 0.95, 0.9, 0.8, 0.5];
const saved = vscode.getState() as Partial<ViewState> | undefined;
const state: ViewState = {
  layer: 0,
  rollout: false,
  head: 0,
  direction: 'row',
  hideSpecial: false,
  keep: 1,
  locked: null,
  view: 'all',
  ...saved,
};

/** The slice as received, with hidden tokens renormalised away, and after the threshold. */
let raw: Float32Array | undefined;
let visible: Float32Array | undefined;
let shown: Float32Array | undefined;
let headRows: { key: string; heads: number; data: Float32Array } | undefined;
let focus: number | null = state.locked;
let peer: number | null = null;
/** What the editor was last told to highlight, so a moving mouse inside one cell sends nothing. */
let lastHeat = '';

const app = document.getElementById('app')!;
const status = el('div', { class: 'status', role: 'status' });
const header = el('header');
const title = el('h1', {}, 'Attention Lens');
const meta = el('div', { class: 'meta' });
const controls = el('div', { class: 'controls', role: 'toolbar', 'aria-label': 'View controls' });
const layerCtl = makeSelect('layer', 'Layer', (v) => {
  state.rollout = v.startsWith('r');
  state.layer = Number(v.replace('r', ''));
  fillHeads();
  changedView();
});
const headCtl = makeSelect('head', 'Head', (v) => {
  state.head = v === 'mean' || v === 'max' || v === 'all' ? v : Number(v);
  changedView();
});
const dirCtl = makeSelect('direction', 'Show', (v) => {
  state.direction = v === 'column' ? 'column' : 'row';
  headRows = undefined;
  save();
  renderShading();
});
const keepCtl = makeSelect('threshold', 'Keep', (v) => {
  state.keep = Number(v);
  save();
  reprocess();
});
const viewCtl = makeSelect('view', 'View', (v) => {
  state.view = v === 'tokens' || v === 'matrix' || v === 'grid' ? v : 'all';
  applyView();
  save();
});
const hideBox = makeCheckbox('hide-special', 'hide special tokens', (on) => {
  state.hideSpecial = on;
  save();
  if (state.summary) {
    renderTokens();
    reprocess();
  }
});
const exportPngButton = document.createElement('vscode-button');
exportPngButton.id = 'export-png';
exportPngButton.setAttribute('secondary', '');
exportPngButton.textContent = 'Export PNG';
exportPngButton.addEventListener('click', () => exportPng());
const exportJsonButton = document.createElement('vscode-button');
exportJsonButton.id = 'export-json';
exportJsonButton.setAttribute('secondary', '');
exportJsonButton.textContent = 'Export JSON…';
exportJsonButton.addEventListener('click', () => {
  if (state.summary)
    vscode.postMessage({
      type: 'exportJson',
      analysisId: state.summary.analysisId,
      layer: state.layer,
      head: currentSelector(),
    });
});
controls.append(
  viewCtl.wrap,
  layerCtl.wrap,
  headCtl.wrap,
  dirCtl.wrap,
  keepCtl.wrap,
  hideBox,
  exportPngButton,
  exportJsonButton,
);
setChoices(
  dirCtl.select,
  [
    { value: 'row', label: 'attention paid (row)' },
    { value: 'column', label: 'attention received (column)' },
  ],
  state.direction,
);
setChoices(
  keepCtl.select,
  KEEP_CHOICES.map((k) => ({ value: String(k), label: k === 1 ? 'all weights' : `top ${k * 100}% of each row` })),
  String(state.keep),
);
hideBox.checked = state.hideSpecial;
setChoices(
  viewCtl.select,
  [
    { value: 'all', label: 'everything' },
    { value: 'tokens', label: 'tokens + bars' },
    { value: 'matrix', label: 'matrix + bars' },
    { value: 'grid', label: 'layers × heads' },
  ],
  state.view,
);
header.append(title, meta, controls);
const headLegend = el('div', { class: 'head-legend', 'aria-label': 'Head colours' });
const tokensView = el('section', {
  class: 'tokens',
  'aria-label': 'Tokens: hover, or focus here and use the arrow keys; Enter or click locks, Esc unlocks',
  tabindex: '0',
});
const main = el('div', { class: 'main' });
const matrixWrap = el('section', {
  class: 'matrix',
  'aria-label': 'Attention matrix: query tokens down the side, key tokens across',
});
const tooltip = el('div', { class: 'tooltip', role: 'tooltip' });
tooltip.hidden = true;
const legend = el('div', { class: 'legend', 'aria-hidden': 'true' });
matrixWrap.append(tooltip, legend);
const bars = el('section', { class: 'bars', 'aria-label': 'Focus token attention' });
main.append(matrixWrap, bars);
const grid = el('section', { class: 'grid', 'aria-label': 'Every layer and head' });
const search = new HeadSearch(
  (by) => {
    if (state.summary) vscode.postMessage({ type: 'rankHeads', analysisId: state.summary.analysisId, by });
  },
  (layer, head) => selectHead(layer, head),
);
const live = el('div', { class: 'sr-only', 'aria-live': 'polite' });
app.append(header, status, headLegend, tokensView, main, grid, search.element, live);

const tokens = new TokenView(
  tokensView,
  (i) => setFocus(i),
  (i) => lock(state.locked === i ? null : i),
);
const heatmap = new Heatmap(matrixWrap, () => Math.max(200, Math.min(600, matrixWrap.clientWidth || 420)));
const canvas = heatmap.canvas;
const slices = new LatestRequest<{ analysisId: number; layer: number; head: HeadSelector }>((requestId, p) =>
  vscode.postMessage({ type: 'requestSlice', requestId, ...p }),
);
const rows = new LatestRequest<{ analysisId: number; layer: number; index: number; direction: Direction }>(
  (requestId, p) => vscode.postMessage({ type: 'requestRows', requestId, ...p }),
);

legend.append(
  el('span', {}, 'low'),
  el('span', { class: 'ramp' }),
  el('span', {}, 'high (relative to the matrix maximum) · grey checker = masked or hidden'),
);

/** Shows the chosen views; hidden ones keep their state, and hover links the visible ones as before. */
function applyView(): void {
  app.dataset.view = state.view;
  if (state.view === 'all' || state.view === 'matrix') heatmap.draw();
}

function save(): void {
  vscode.setState(state);
}

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  status.textContent = text;
  status.className = `status ${kind}`;
  status.hidden = text.length === 0;
}

function hiddenMask(s: AnalysisSummary): boolean[] {
  return s.tokens.map((t) => state.hideSpecial && t.special);
}

function chip(i: number): HTMLElement | undefined {
  return tokens.chip(i);
}

function renderTokens(): void {
  tokens.render(state.summary!.tokens, hiddenMask(state.summary!));
}

/** Recomputes the derived matrices after the slice, hidden tokens or threshold changed. */
function reprocess(): void {
  const s = state.summary;
  if (!s || !raw) return;
  const hidden = hiddenMask(s);
  visible = renormalise(raw, s.n, hidden);
  shown = keepTopMass(visible, s.n, s.n, state.keep);
  heatmap.set(
    shown,
    s.n,
    s.model.kind === 'causal',
    hidden,
    s.tokens.map((t) => displayText(t.text).slice(0, 14)),
  );
  renderShading();
}

function renderShading(): void {
  const s = state.summary;
  tokens.mark(focus, peer);
  if (focus === null || !s || !visible || !shown) {
    tokens.clear();
    bars.replaceChildren(
      el(
        'p',
        { class: 'hint' },
        'Hover a token to see where its attention goes. Click to lock, Esc to unlock, arrow keys to move.',
      ),
    );
    heatmap.crosshair(undefined);
    live.textContent = '';
    tellEditor(null, undefined);
    return;
  }
  const n = s.n;
  const dist = focusDistribution(visible, n, focus, state.direction);
  if (allHeads()) shadeAllHeads(s, focus);
  else tokens.shadeOne(dist, state.keep >= 1 ? dist : focusDistribution(shown, n, focus, state.direction));
  const heading = `Attention ${state.direction === 'row' ? 'paid by' : 'received by'} "${s.tokens[focus].text}" (${viewName()})`;
  const top3 = renderFocusBars(bars, heading, s.tokens, dist, (j, on) => chip(j)?.classList.toggle('peer', on));
  tellEditor(focus, dist);
  live.textContent = `${s.tokens[focus].text}: ${top3}`;
  heatmap.crosshair(
    state.direction === 'row' ? { row: focus, col: peer ?? focus } : { row: peer ?? focus, col: focus },
  );
}

/** One colour per head: each chip carries a stripe per head whose opacity is that head's weight (relative to its max). */
function shadeAllHeads(s: AnalysisSummary, index: number): void {
  const key = `${s.analysisId}:${state.layer}:${index}:${state.direction}`;
  if (headRows?.key !== key) {
    // Until this token's rows arrive, show nothing rather than another token's stripes.
    tokens.clear();
    rows.request({ analysisId: s.analysisId, layer: state.layer, index, direction: state.direction });
    return;
  }
  const { heads, data } = headRows;
  tokens.shadeHeads(keepTopMass(normaliseRows(data, heads, s.n, hiddenMask(s)), heads, s.n, state.keep), heads, s.n);
}

/** Lets the host shade the source text in the editor by the focus token's distribution. */
function tellEditor(index: number | null, dist: Float32Array | undefined): void {
  const key =
    index === null
      ? ''
      : `${state.summary?.analysisId}:${index}:${viewName()}:${state.direction}:${state.hideSpecial}:${state.keep}`;
  if (key === lastHeat) return;
  lastHeat = key;
  vscode.postMessage(
    index === null || !dist
      ? { type: 'focusToken', index: null }
      : { type: 'focusToken', index, weights: Array.from(dist, (w) => Math.min(1, Math.max(0, w))) },
  );
}

/** True when the token view shows one stripe per head. */
function allHeads(): boolean {
  return state.head === 'all' && !state.rollout;
}

/** What the matrix shows, in words. */
function viewName(): string {
  if (state.rollout) return `rollout through layer ${state.layer + 1}`;
  const who =
    state.head === 'all'
      ? 'mean of heads'
      : typeof state.head === 'number'
        ? `head ${state.head + 1}`
        : `${state.head} of heads`;
  return `layer ${state.layer + 1}, ${who}`;
}

/** The next head of this layer, then the first head of the next layer (walkthrough). */
function nextHead(): void {
  const s = state.summary;
  if (!s) return;
  const heads = s.model.heads[state.layer];
  const next = typeof state.head === 'number' && !state.rollout ? state.head + 1 : 0;
  if (next < heads) selectHead(state.layer, next);
  else selectHead((state.layer + 1) % s.model.layers, 0);
}

/** Selects one layer and head (grid, legend, head search). */
function selectHead(layer: number, head: number): void {
  state.layer = layer;
  state.rollout = false;
  state.head = head;
  layerCtl.select.value = String(layer);
  fillHeads();
  changedView();
}

function renderHeadLegend(): void {
  const s = state.summary;
  if (!s || !allHeads()) {
    headLegend.replaceChildren();
    headLegend.hidden = true;
    return;
  }
  headLegend.hidden = false;
  const items = Array.from({ length: s.model.heads[state.layer] }, (_, k) => {
    const [r, g, b] = headColour(k);
    const b2 = el('button', { class: 'head-key', 'data-head': String(k), title: `show head ${k + 1} alone` });
    const sw = el('span', { class: 'swatch' });
    sw.style.background = `rgb(${r},${g},${b})`;
    b2.append(sw, document.createTextNode(`head ${k + 1}`));
    b2.addEventListener('click', () => selectHead(state.layer, k));
    return b2;
  });
  headLegend.replaceChildren(el('span', {}, 'One stripe per head on each token; stronger = more attention:'), ...items);
}

function setFocus(i: number | null): void {
  if (state.locked !== null) return;
  focus = i;
  renderShading();
}

function lock(i: number | null): void {
  state.locked = i;
  focus = i;
  if (i !== null) search.setQuery(i);
  save();
  renderShading();
}

function fillSelectors(): void {
  const s = state.summary!;
  state.layer = Math.min(state.layer, s.model.layers - 1);
  setChoices(
    layerCtl.select,
    [
      ...Array.from({ length: s.model.layers }, (_, l) => ({
        value: String(l),
        label: `${l + 1} of ${s.model.layers}`,
      })),
      ...Array.from({ length: s.model.layers }, (_, l) => ({ value: `r${l}`, label: `rollout through ${l + 1}` })),
    ],
    `${state.rollout ? 'r' : ''}${state.layer}`,
  );
  fillHeads();
}

function fillHeads(): void {
  const s = state.summary!;
  const h = s.model.heads[state.layer];
  if (typeof state.head === 'number' && state.head >= h) state.head = 0;
  setChoices(
    headCtl.select,
    [
      ...Array.from({ length: h }, (_, k) => ({ value: String(k), label: `head ${k + 1}` })),
      { value: 'all', label: 'all heads (a colour each)' },
      { value: 'mean', label: 'mean of heads' },
      { value: 'max', label: 'max of heads' },
    ],
    String(state.head),
  );
  // Rollout already averages the heads of every layer.
  headCtl.select.disabled = state.rollout;
}

/** Layer or head changed: keep the focus, fetch the new slice. */
function changedView(): void {
  headRows = undefined;
  save();
  markSelectedThumb(grid, state.layer, state.rollout ? '' : String(state.head));
  renderHeadLegend();
  requestSlice();
}

/** The selector of the matrix on screen ("all heads" shows their mean). */
function currentSelector(): HeadSelector {
  return state.rollout ? 'rollout' : state.head === 'all' ? 'mean' : state.head;
}

/** The matrix as drawn (labels included) on the theme's background, as a PNG for the host to save. */
function exportPng(): void {
  if (!state.summary || !raw) return;
  const out = document.createElement('canvas');
  out.width = canvas.width;
  out.height = canvas.height;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = getComputedStyle(document.body).backgroundColor || '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 0);
  vscode.postMessage({ type: 'exportPng', dataUrl: out.toDataURL('image/png') });
}

function requestSlice(): void {
  const s = state.summary;
  if (!s) return;
  slices.request({ analysisId: s.analysisId, layer: state.layer, head: currentSelector() });
}

function onSlice(requestId: number, slice: SliceReply): void {
  // A fast user may have asked again: only the answer to the newest wish is drawn.
  if (!slices.settle(requestId) || slice.analysisId !== state.summary?.analysisId) return;
  drawSlice(slice);
}

function drawSlice(slice: SliceReply): void {
  if (!state.summary) return;
  raw = new Float32Array(slice.buffer);
  canvas.setAttribute('aria-label', `attention heatmap, ${viewName()}, ${slice.n} by ${slice.n}`);
  setStatus(state.summary.truncated ? truncationNote(state.summary) : '');
  reprocess();
  document.body.dataset.painted = String(slice.analysisId);
}

function onRows(requestId: number, r: RowsReply): void {
  if (!rows.settle(requestId) || r.analysisId !== state.summary?.analysisId) return;
  headRows = {
    key: `${r.analysisId}:${r.layer}:${r.index}:${r.direction}`,
    heads: r.heads,
    data: new Float32Array(r.buffer),
  };
  renderShading();
}

function onThumbnails(t: ThumbnailsReply): void {
  if (t.analysisId !== state.summary?.analysisId) return;
  renderThumbnailGrid(grid, t, selectHead);
  markSelectedThumb(grid, state.layer, state.rollout ? '' : String(state.head));
}

function truncationNote(s: AnalysisSummary): string {
  const part =
    s.analysedFrom > 0
      ? `characters ${(s.analysedFrom + 1).toLocaleString()}–${s.analysedChars.toLocaleString()} (around the cursor)`
      : `the first ${s.analysedChars.toLocaleString()}`;
  return `The text is longer than the ${s.n} tokens analysed at once: showing ${part} of ${s.totalChars.toLocaleString()} characters.`;
}

function showAnalysis(
  s: AnalysisSummary,
  sourceLabel: string,
  sourceText: string | undefined,
  first?: { slice: SliceReply; thumbnails?: ThumbnailsReply },
): void {
  const sameModel = state.summary?.model.id === s.model.id;
  state.summary = s;
  state.sourceLabel = sourceLabel;
  state.sourceText = sourceText;
  if (!sameModel) {
    state.layer = 0;
    state.head = 0;
    state.rollout = false;
  }
  if (state.locked !== null && state.locked >= s.n) state.locked = null;
  focus = state.locked;
  raw = visible = shown = headRows = undefined;
  lastHeat = '';
  slices.reset();
  rows.reset();
  save();
  title.textContent = `Attention — ${sourceLabel}`;
  const model = s.model;
  meta.textContent = `${model.id} · ${model.kind} · ${model.layers} layers × ${[...new Set(model.heads)].join('/')} heads · ${model.dtype} · N = ${s.n} tokens → N² = ${(s.n * s.n).toLocaleString()} scores per head per layer`;
  setStatus(s.truncated ? truncationNote(s) : '');
  fillSelectors();
  renderTokens();
  search.setTokens(s.tokens, state.locked);
  renderHeadLegend();
  renderShading();
  // The host sends the first paint's data along when it guessed the view right; otherwise ask.
  if (
    first &&
    first.slice.analysisId === s.analysisId &&
    first.slice.layer === state.layer &&
    first.slice.head === currentSelector()
  )
    drawSlice(first.slice);
  else requestSlice();
  if (first?.thumbnails?.analysisId === s.analysisId) onThumbnails(first.thumbnails);
  else vscode.postMessage({ type: 'requestThumbnails', analysisId: s.analysisId, size: Math.min(THUMB, s.n) });
}

tokensView.addEventListener('mouseleave', () => setFocus(null));
canvas.addEventListener('mousemove', (ev) => {
  const cell = heatmap.cellAt(ev);
  const s = state.summary;
  if (!cell || !s || !shown) {
    tooltip.hidden = true;
    return;
  }
  const masked = s.model.kind === 'causal' && cell.col > cell.row;
  const w = shown[cell.row * s.n + cell.col];
  tooltip.textContent = `query ${displayText(s.tokens[cell.row].text)} → key ${displayText(s.tokens[cell.col].text)}: ${masked ? 'masked (a future token)' : `${(w * 100).toFixed(2)}%`}`;
  tooltip.hidden = false;
  tooltip.style.left = `${ev.offsetX + 12}px`;
  tooltip.style.top = `${ev.offsetY + 12}px`;
  // The hovered row (or column) becomes the focus token and the other axis its highlighted peer.
  peer = state.direction === 'row' ? cell.col : cell.row;
  if (state.locked === null) focus = state.direction === 'row' ? cell.row : cell.col;
  renderShading();
});
canvas.addEventListener('mouseleave', () => {
  tooltip.hidden = true;
  peer = null;
  if (state.locked === null) setFocus(null);
  else renderShading();
});
document.addEventListener('keydown', (e) => {
  const s = state.summary;
  if (!s) return;
  if (e.key === 'Escape') {
    lock(null);
    return;
  }
  const inTokens = tokensView.contains(document.activeElement);
  if (e.key === 'Enter' && inTokens && focus !== null) {
    lock(focus);
    return;
  }
  if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
    if (!inTokens && document.activeElement !== document.body) return;
    e.preventDefault();
    const order = tokens.order;
    if (!order.length) return;
    const at = focus === null ? -1 : order.indexOf(focus);
    const next = order[Math.max(0, Math.min(order.length - 1, at + (e.key === 'ArrowRight' ? 1 : -1)))];
    lock(next);
    chip(next)?.focus();
  }
});
new ResizeObserver(() => heatmap.draw()).observe(matrixWrap);

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const m = event.data;
  switch (m.type) {
    case 'loading':
      setStatus(m.text);
      title.textContent = `Attention — ${m.title}`;
      break;
    case 'analysis':
      showAnalysis(m.summary, m.sourceLabel, m.sourceText, m.first);
      break;
    case 'slice':
      onSlice(m.requestId, m.slice);
      break;
    case 'rows':
      onRows(m.requestId, m.rows);
      break;
    case 'thumbnails':
      onThumbnails(m.thumbnails);
      break;
    case 'focusFromEditor':
      // The editor cursor moved onto an analysed token: focus it unless the user locked another.
      if (state.locked === null && state.summary && m.index < state.summary.n) {
        focus = m.index;
        renderShading();
        chip(m.index)?.scrollIntoView({ block: 'nearest' });
      }
      break;
    case 'notice':
      setStatus(m.text);
      break;
    case 'lockToken':
      if (state.summary && m.index < state.summary.n) {
        lock(m.index);
        chip(m.index)?.scrollIntoView({ block: 'nearest' });
      }
      break;
    case 'nextHead':
      nextHead();
      break;
    case 'ranking':
      if (state.summary) search.show(m.by, m.heads, state.summary.tokens);
      break;
    case 'error':
      // A failed request must not hold the queue: forget what is in flight.
      slices.reset();
      rows.reset();
      setStatus(m.message, 'error');
      break;
  }
});

applyView();
if (state.summary) {
  // Restored after a reload: show the tokens at once; the host re-runs the text and sends fresh numbers.
  const s = state.summary;
  state.summary = undefined;
  showAnalysisShell(s);
} else {
  setStatus('Select text in an editor and run "Attention Lens: Show Attention".');
}
vscode.postMessage({ type: 'ready' });

/** The tokens of a saved analysis without numbers, until the host sends the re-run. */
function showAnalysisShell(s: AnalysisSummary): void {
  state.summary = s;
  title.textContent = `Attention — ${state.sourceLabel ?? ''}`;
  setStatus('Restoring the analysis…');
  fillSelectors();
  renderTokens();
}
