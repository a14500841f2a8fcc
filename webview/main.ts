// The Attention Lens panel: token chips, the matrix, focus bars and the layer × head grid, linked by hover.
// Token text reaches the DOM only through textContent.
import type { AnalysisSummary, HeadSelector, SliceReply, ThumbnailsReply, ToWebview } from '../src/protocol/messages';
import { viridis } from './color-scale';
import { Heatmap } from './heatmap';
import { vscode } from './vscode-api';

interface ViewState {
  summary?: AnalysisSummary;
  sourceLabel?: string;
  layer: number;
  head: HeadSelector;
  direction: 'row' | 'column';
  hideSpecial: boolean;
  locked: number | null;
}

const THUMB = 24;
const saved = vscode.getState() as ViewState | undefined;
const state: ViewState = saved ?? { layer: 0, head: 0, direction: 'row', hideSpecial: false, locked: null };
let matrix: Float32Array | undefined;
let focus: number | null = state.locked;
let requestSeq = 0;
let latestRequest = 0;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const app = document.getElementById('app')!;
const status = el('div', { class: 'status', role: 'status' });
const header = el('header');
const title = el('h1', {}, 'Attention Lens');
const meta = el('div', { class: 'meta' });
const controls = el('div', { class: 'controls' });
const layerSel = el('select', { id: 'layer', 'aria-label': 'Layer' });
const headSel = el('select', { id: 'head', 'aria-label': 'Head' });
const dirSel = el('select', { id: 'direction', 'aria-label': 'Direction' });
dirSel.append(el('option', { value: 'row' }, 'attention paid (row)'), el('option', { value: 'column' }, 'attention received (column)'));
const hideBox = el('input', { type: 'checkbox', id: 'hide-special' });
const hideLabel = el('label', { for: 'hide-special' }, ' hide special tokens');
hideLabel.prepend(hideBox);
const label = (text: string, control: HTMLElement) => { const l = el('label', {}, `${text} `); l.append(control); return l; };
controls.append(label('Layer', layerSel), label('Head', headSel), label('Show', dirSel), hideLabel);
header.append(title, meta, controls);
const tokensView = el('section', { class: 'tokens', 'aria-label': 'Tokens; hover or use arrow keys to focus a token', tabindex: '0' });
const main = el('div', { class: 'main' });
const matrixWrap = el('section', { class: 'matrix', 'aria-label': 'Attention matrix: query tokens down, key tokens across' });
const canvas = el('canvas', { id: 'heatmap', role: 'img', 'aria-label': 'attention heatmap' });
const tooltip = el('div', { class: 'tooltip', role: 'tooltip' });
const legend = el('div', { class: 'legend', 'aria-hidden': 'true' });
matrixWrap.append(canvas, tooltip, legend);
const bars = el('section', { class: 'bars', 'aria-label': 'Focus token attention' });
main.append(matrixWrap, bars);
const grid = el('section', { class: 'grid', 'aria-label': 'Every layer and head' });
const live = el('div', { class: 'sr-only', 'aria-live': 'polite' });
app.append(header, status, tokensView, main, grid, live);

const heatmap = new Heatmap(canvas, () => Math.max(160, Math.min(560, matrixWrap.clientWidth || 400)));

for (let s = 0; s <= 8; s++) {
  const [r, g, b] = viridis(s / 8);
  const sw = el('span', { class: 'swatch' });
  sw.style.background = `rgb(${r},${g},${b})`;
  legend.append(sw);
}
legend.prepend(el('span', {}, 'low '));
legend.append(el('span', {}, ' high (relative to the matrix maximum); grey = masked'));

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

/** The focus token's distribution (its row, or its column), renormalised when special tokens are hidden. */
function distribution(index: number): number[] {
  const s = state.summary!;
  const n = s.n;
  const m = matrix!;
  const hidden = hiddenMask(s);
  const values = Array.from({ length: n }, (_, j) => (hidden[j] ? 0 : state.direction === 'row' ? m[index * n + j] : m[j * n + index]));
  const total = values.reduce((a, b) => a + b, 0);
  return total > 0 ? values.map((v) => v / total) : values;
}

function renderTokens(): void {
  const s = state.summary!;
  tokensView.replaceChildren();
  const hidden = hiddenMask(s);
  s.tokens.forEach((t, i) => {
    if (hidden[i]) return;
    const chip = el('span', { class: `token${t.special ? ' special' : ''}`, 'data-index': String(i), role: 'button', tabindex: '-1', 'aria-label': `token ${i}: ${t.text}` });
    chip.textContent = t.text.replace(/\n/g, '⏎');
    chip.addEventListener('mouseenter', () => setFocus(i, false));
    chip.addEventListener('click', () => lock(i));
    tokensView.append(chip);
  });
}

function renderShading(): void {
  const chips = tokensView.querySelectorAll<HTMLElement>('.token');
  if (focus === null || !matrix) {
    chips.forEach((c) => { c.style.backgroundColor = ''; c.removeAttribute('data-weight'); c.classList.remove('focus'); });
    bars.replaceChildren(el('p', { class: 'hint' }, 'Hover a token to see where its attention goes. Click to lock, Esc to unlock, arrow keys to move.'));
    heatmap.crosshair(undefined);
    return;
  }
  const dist = distribution(focus);
  const max = Math.max(...dist, 1e-12);
  chips.forEach((c) => {
    const j = Number(c.dataset.index);
    const w = dist[j];
    c.dataset.weight = w.toFixed(6);
    // Opacity proportional to the weight, relative to the row's largest weight.
    const [r, g, b] = viridis(w / max);
    c.style.backgroundColor = `rgba(${r},${g},${b},${(w / max).toFixed(4)})`;
    c.classList.toggle('focus', j === focus);
  });
  renderBars(dist);
  heatmap.crosshair({ row: focus, col: focus });
}

function renderBars(dist: number[]): void {
  const s = state.summary!;
  const ranked = dist.map((w, j) => ({ w, j })).filter((x) => x.w > 0).sort((a, b) => b.w - a.w);
  const shown = ranked.slice(0, 12);
  const rest = ranked.slice(12).reduce((a, x) => a + x.w, 0);
  const heading = el('h2', {}, `Attention ${state.direction === 'row' ? 'paid by' : 'received by'} "${s.tokens[focus!].text}"`);
  const list = el('ol', { class: 'barlist' });
  for (const { w, j } of shown) {
    const li = el('li');
    const name = el('span', { class: 'barname' }, s.tokens[j].text);
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${(w * 100).toFixed(1)}%`;
    const pct = el('span', { class: 'pct' }, `${(w * 100).toFixed(1)}%`);
    li.append(name, el('span', { class: 'track' }), pct);
    li.children[1].append(bar);
    li.addEventListener('mouseenter', () => tokensView.querySelector(`[data-index="${j}"]`)?.classList.add('peer'));
    li.addEventListener('mouseleave', () => tokensView.querySelector(`[data-index="${j}"]`)?.classList.remove('peer'));
    list.append(li);
  }
  if (rest > 0) list.append(el('li', { class: 'rest' }, `all others: ${(rest * 100).toFixed(1)}%`));
  bars.replaceChildren(heading, list);
  live.textContent = `${s.tokens[focus!].text}: ` + shown.slice(0, 3).map(({ w, j }) => `${s.tokens[j].text} ${(w * 100).toFixed(0)}%`).join(', ');
}

function setFocus(i: number | null, fromKeyboard: boolean): void {
  if (state.locked !== null && !fromKeyboard) return;
  focus = i;
  renderShading();
}

function lock(i: number | null): void {
  state.locked = i;
  focus = i;
  save();
  renderShading();
}

function fillSelectors(): void {
  const s = state.summary!;
  layerSel.replaceChildren(...Array.from({ length: s.model.layers }, (_, l) => el('option', { value: String(l) }, `${l + 1} of ${s.model.layers}`)));
  layerSel.value = String(Math.min(state.layer, s.model.layers - 1));
  fillHeads();
}

function fillHeads(): void {
  const s = state.summary!;
  const h = s.model.heads[state.layer];
  headSel.replaceChildren(
    ...Array.from({ length: h }, (_, k) => el('option', { value: String(k) }, `head ${k + 1}`)),
    el('option', { value: 'mean' }, 'mean of heads'),
    el('option', { value: 'max' }, 'max of heads'),
  );
  if (typeof state.head === 'number' && state.head >= h) state.head = 0;
  headSel.value = String(state.head);
}

function requestSlice(): void {
  const s = state.summary;
  if (!s) return;
  latestRequest = ++requestSeq;
  vscode.postMessage({ type: 'requestSlice', requestId: latestRequest, analysisId: s.analysisId, layer: state.layer, head: state.head });
}

function onSlice(requestId: number, slice: SliceReply): void {
  // A fast user may have asked again: only the latest answer is drawn.
  if (requestId !== latestRequest || slice.analysisId !== state.summary?.analysisId) return;
  matrix = new Float32Array(slice.buffer);
  heatmap.set(matrix, slice.n, state.summary.model.kind === 'causal', hiddenMask(state.summary));
  canvas.setAttribute('aria-label', `attention heatmap, layer ${state.layer + 1}, ${typeof state.head === 'number' ? `head ${state.head + 1}` : `${state.head} of heads`}, ${slice.n} by ${slice.n}`);
  setStatus('');
  renderShading();
}

function onThumbnails(t: ThumbnailsReply): void {
  const s = state.summary;
  if (!s || t.analysisId !== s.analysisId) return;
  const data = new Float32Array(t.buffer);
  const table = el('div', { class: 'gridtable' });
  let o = 0;
  t.heads.forEach((h, l) => {
    const row = el('div', { class: 'gridrow' });
    row.append(el('span', { class: 'gridlabel' }, `L${l + 1}`));
    for (let k = 0; k < h; k++, o++) {
      const c = el('canvas', { class: 'thumb', width: String(t.size), height: String(t.size), title: `layer ${l + 1}, head ${k + 1}`, tabindex: '0', role: 'button', 'aria-label': `select layer ${l + 1} head ${k + 1}` });
      const ctx = c.getContext('2d')!;
      const img = new ImageData(t.size, t.size);
      const block = data.subarray(o * t.size * t.size, (o + 1) * t.size * t.size);
      const max = Math.max(...block, 1e-12);
      block.forEach((v, i) => { const [r, g, b] = viridis(v / max); img.data.set([r, g, b, 255], i * 4); });
      ctx.putImageData(img, 0, 0);
      const select = () => { state.layer = l; state.head = k; layerSel.value = String(l); fillHeads(); save(); markThumb(); requestSlice(); };
      c.addEventListener('click', select);
      c.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') select(); });
      c.dataset.layer = String(l);
      c.dataset.head = String(k);
      row.append(c);
    }
    table.append(row);
  });
  grid.replaceChildren(el('h2', {}, 'All layers × heads (click to select)'), table);
  markThumb();
}

function markThumb(): void {
  grid.querySelectorAll<HTMLElement>('.thumb').forEach((c) => c.classList.toggle('selected', Number(c.dataset.layer) === state.layer && String(c.dataset.head) === String(state.head)));
}

function showAnalysis(s: AnalysisSummary, sourceLabel: string): void {
  const sameShape = state.summary && state.summary.model.id === s.model.id;
  state.summary = s;
  state.sourceLabel = sourceLabel;
  if (!sameShape) { state.layer = 0; state.head = 0; }
  state.locked = null;
  focus = null;
  matrix = undefined;
  save();
  title.textContent = `Attention — ${sourceLabel}`;
  const model = s.model;
  meta.textContent = `${model.id} · ${model.kind} · ${model.layers} layers × ${[...new Set(model.heads)].join('/')} heads · ${model.dtype} · N = ${s.n} tokens → N² = ${(s.n * s.n).toLocaleString()} scores per head per layer`;
  setStatus(s.truncated ? `Text longer than the model's ${model.maxPositions} positions: showing the first ${s.analysedChars.toLocaleString()} of ${s.totalChars.toLocaleString()} characters.` : '');
  fillSelectors();
  renderTokens();
  renderShading();
  requestSlice();
  vscode.postMessage({ type: 'requestThumbnails', analysisId: s.analysisId, size: Math.min(THUMB, s.n) });
}

layerSel.addEventListener('change', () => { state.layer = Number(layerSel.value); fillHeads(); save(); markThumb(); requestSlice(); });
headSel.addEventListener('change', () => { const v = headSel.value; state.head = v === 'mean' || v === 'max' ? v : Number(v); save(); markThumb(); requestSlice(); });
dirSel.addEventListener('change', () => { state.direction = dirSel.value === 'column' ? 'column' : 'row'; save(); renderShading(); });
hideBox.addEventListener('change', () => { state.hideSpecial = hideBox.checked; save(); if (state.summary && matrix) { renderTokens(); heatmap.set(matrix, state.summary.n, state.summary.model.kind === 'causal', hiddenMask(state.summary)); renderShading(); } });
tokensView.addEventListener('mouseleave', () => setFocus(null, false));
canvas.addEventListener('mousemove', (ev) => {
  const cell = heatmap.cellAt(ev);
  const s = state.summary;
  if (!cell || !s || !matrix) { tooltip.hidden = true; return; }
  const w = matrix[cell.row * s.n + cell.col];
  const masked = s.model.kind === 'causal' && cell.col > cell.row;
  tooltip.textContent = `${s.tokens[cell.row].text} → ${s.tokens[cell.col].text}: ${masked ? 'masked (future token)' : `${(w * 100).toFixed(2)}%`}`;
  tooltip.hidden = false;
  tooltip.style.left = `${ev.offsetX + 12}px`;
  tooltip.style.top = `${ev.offsetY + 12}px`;
  if (state.locked === null) { focus = state.direction === 'row' ? cell.row : cell.col; renderShading(); }
  heatmap.crosshair(cell);
});
canvas.addEventListener('mouseleave', () => { tooltip.hidden = true; if (state.locked === null) setFocus(null, false); });
document.addEventListener('keydown', (e) => {
  const s = state.summary;
  if (!s) return;
  if (e.key === 'Escape') { lock(null); return; }
  if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
    const step = e.key === 'ArrowRight' ? 1 : -1;
    const next = Math.max(0, Math.min(s.n - 1, (focus ?? -1) + step));
    lock(next);
    tokensView.querySelector<HTMLElement>(`[data-index="${next}"]`)?.focus();
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
      showAnalysis(m.summary, m.sourceLabel);
      break;
    case 'slice':
      onSlice(m.requestId, m.slice);
      break;
    case 'thumbnails':
      onThumbnails(m.thumbnails);
      break;
    case 'error':
      setStatus(m.message, 'error');
      break;
  }
});

setStatus('Select text in an editor and run "Attention Lens: Show Attention".');
if (state.summary) showAnalysis(state.summary, state.sourceLabel ?? '');
vscode.postMessage({ type: 'ready' });
