// A long analysis in the panel (N in the thousands; the engine keeps no full maps, see long-surgery.ts). The matrix
// is a zoomable window over the block-max overview; once the window is at most one cell per pixel, the exact tile on
// screen is fetched and drawn instead. A minimap shows where the window is. The token list is virtualised (only the
// rows in view are in the DOM). Hover gives the exact row of the query under the pointer, and its focus bars; the
// received view shows how much attention each token gets (sinks stand out); the layer × head grid comes from the
// overviews.
import type {
  AnalysisSummary,
  FirstView,
  HeadSelector,
  OverviewReply,
  PanelApi,
  ReceivedReply,
  RowsReply,
  ThumbnailsReply,
  TileReply,
} from '../src/protocol/messages';
import type { EngineError, RpcClient } from '../src/protocol/rpc';
import { VIRIDIS_LUT } from './color-scale';
import { displayText, el, secondaryButton } from './dom';
import { renderFocusBars } from './focus-bars';
import { LatestRequest } from './latest-request';
import { LocalRowSource } from './local-row-source';
import { renderGridPending, renderThumbnailGrid } from './thumbnail-grid';
import { vscode } from './vscode-api';

const REQUEST_TIMEOUT_MS = 120_000;
/** Largest canvas side in CSS pixels (a narrow panel gets a smaller square). */
const SIDE = 512;
const MINI = 160;
const ROW_HEIGHT = 18;
/** Smallest window side in tokens (16 cells of 32 px). */
const MIN_SPAN = 16;
/** How long the pointer rests on a row before the editor heat follows it. */
const HEAT_DELAY_MS = 80;

/** The window on screen, in token coordinates: queries [r0, r0 + span) × keys [c0, c0 + span). */
export interface LongWindow {
  r0: number;
  c0: number;
  span: number;
}

export class LongView {
  readonly element = el('section', { class: 'long', 'aria-label': 'Attention over a long input' });
  private readonly layer = el('select', { id: 'long-layer', title: 'Layer' });
  private readonly head = el('select', { id: 'long-head', title: 'Head, or the mean / max of the layer’s heads' });
  private readonly caption = el('p', { class: 'hint', id: 'long-caption' });
  private readonly readout = el('p', { class: 'hint', id: 'long-readout', 'aria-live': 'polite' });
  private readonly canvas = el('canvas', {
    id: 'long-heatmap',
    tabindex: '0',
    role: 'img',
    'aria-label': 'Attention matrix: wheel or + / − to zoom, drag or arrows to pan, 0 to see all',
  }) as HTMLCanvasElement;
  private readonly mini = el('canvas', {
    id: 'long-minimap',
    title: 'Click to move the window here',
  }) as HTMLCanvasElement;
  private readonly list = el('div', { class: 'long-tokens', id: 'long-tokens', tabindex: '0', 'aria-label': 'Tokens' });
  private readonly spacer = el('div', { class: 'long-spacer' });
  private readonly bars = el('div', { class: 'bars long-bars', id: 'long-bars' });
  private readonly received = el('canvas', {
    id: 'long-received',
    title: 'Attention each token receives',
  }) as HTMLCanvasElement;
  private readonly sinks = el('ol', { class: 'long-sinks', id: 'long-sinks' });
  private readonly grid = el('div', { class: 'grid', id: 'long-grid' });

  private summary: AnalysisSummary | undefined;
  private sel = { layer: 0, head: 0 as HeadSelector };
  private view: LongWindow = { r0: 0, c0: 0, span: 1 };
  private readonly overviews = new Map<string, Float32Array>();
  private tile: { key: string; reply: TileReply; data: Float32Array } | undefined;
  private row: { layer: number; index: number; heads: number; data: Float32Array } | undefined;
  private focus: { q: number; k: number } | null = null;
  /** The canvas side in CSS pixels, fitted to the panel. */
  private px = SIDE;
  /** Date.now() in the host when the command started: the first overview's paint is measured from it. */
  startedAt: number | undefined;
  private measured = -1;
  /** When each paint happened (tests and benchmarks read it). */
  paints = { overview: 0, tile: 0, row: 0 };

  private readonly tiles: LatestRequest<Parameters<PanelApi['tile']>[0], TileReply>;
  private readonly rows: LatestRequest<Parameters<PanelApi['rows']>[0], RowsReply>;
  /** Exact rows computed here from the layer's operands (no message per hover). */
  private readonly local: LocalRowSource;

  constructor(
    private readonly rpc: RpcClient<PanelApi>,
    private readonly onError: (e: EngineError) => void,
  ) {
    this.tiles = new LatestRequest(
      (p) => this.rpc.call('tile', p, REQUEST_TIMEOUT_MS),
      (t) => this.onTile(t),
      onError,
    );
    this.rows = new LatestRequest(
      (p) => this.rpc.call('rows', p, REQUEST_TIMEOUT_MS),
      (r) => this.onRow(r),
      onError,
    );
    this.local = new LocalRowSource(rpc, REQUEST_TIMEOUT_MS, (layer) => this.onLocalReady(layer), onError);
    const button = secondaryButton;
    const controls = el('div', { class: 'controls' });
    controls.append(
      el('label', { for: 'long-layer' }, 'Layer'),
      this.layer,
      el('label', { for: 'long-head' }, 'Head'),
      this.head,
      button('long-zoom-in', '+', 'Zoom in (+)', () => this.zoom(0.5)),
      button('long-zoom-out', '−', 'Zoom out (−)', () => this.zoom(2)),
      button('long-zoom-all', 'All', 'See the whole matrix (0)', () => this.setView({ r0: 0, c0: 0, span: this.n })),
      button('long-export-png', 'Export PNG', 'Save the matrix on screen as a PNG image', () =>
        vscode.postMessage({ type: 'exportPng', dataUrl: this.canvas.toDataURL('image/png') }),
      ),
    );
    this.list.append(this.spacer);
    const side = el('div', { class: 'long-side' });
    side.append(el('h2', {}, 'Where you are'), this.mini, this.bars);
    const main = el('div', { class: 'long-main' });
    main.append(this.list, el('div', { class: 'long-matrix' }, ''), side);
    main.children[1].append(this.canvas, this.readout);
    this.element.append(
      controls,
      this.caption,
      main,
      el('h2', {}, 'Attention each token receives (summed over queries)'),
      this.received,
      this.sinks,
      this.grid,
    );
    this.layer.addEventListener('change', () => this.select(Number(this.layer.value), this.sel.head));
    this.head.addEventListener('change', () => {
      const v = this.head.value;
      this.select(this.sel.layer, v === 'mean' || v === 'max' ? v : Number(v));
    });
    this.wire();
  }

  private get n(): number {
    return this.summary?.n ?? 1;
  }

  /** A new long analysis, with the first overview, received sums and grid when the host sent them. */
  show(s: AnalysisSummary, first?: FirstView): void {
    this.summary = s;
    this.overviews.clear();
    this.painted = undefined;
    this.tile = undefined;
    this.row = undefined;
    this.focus = null;
    this.tiles.reset();
    this.rows.reset();
    const layers = s.model.layers;
    this.layer.replaceChildren(
      ...Array.from({ length: layers }, (_, l) => el('option', { value: String(l) }, String(l + 1))),
    );
    const ov = first?.overview;
    this.sel = ov ? { layer: ov.layer, head: ov.head } : { layer: 0, head: 0 };
    if (this.sel.head === 'rollout') this.sel.head = 'mean';
    this.local.reset(s.analysisId);
    this.local.want(this.sel.layer);
    this.fillHeads();
    const long = s.long!;
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(b < 2 ** 20 ? 2 : 0)} MB`;
    this.caption.textContent =
      `${s.n.toLocaleString()} tokens: each head is ${s.n.toLocaleString()}² = ${(s.n * s.n).toLocaleString()} scores. ` +
      `The engine keeps about ${mb(long.keptBytes)} instead of ${mb(long.fullBytes)}: a block-max overview (each cell the largest ` +
      `weight in ${long.block} × ${long.block} tokens) and what it needs to recompute any row exactly. Zoom in until a cell is ` +
      'a pixel or more to see exact weights (shading: square root of the weight, so small weights show).';
    this.view = { r0: 0, c0: 0, span: s.n };
    this.spacer.style.height = `${s.n * ROW_HEIGHT}px`;
    this.list.scrollTop = 0;
    if (ov) this.onOverview(ov);
    else this.requestOverview();
    if (first?.received) this.onReceived(first.received);
    else this.requestReceived();
    if (first?.thumbnails) this.onThumbnails(first.thumbnails);
    else {
      // The first overview may come from a graph cut after its layer: the grid waits for the whole pass.
      renderGridPending(this.grid);
      this.rpc
        .call('thumbnails', { analysisId: s.analysisId, size: 24 }, REQUEST_TIMEOUT_MS)
        .then((t) => this.onThumbnails(t), this.onError);
    }
    this.renderList();
    this.renderBars();
  }

  /** The window on screen (tests drive it). */
  getView(): LongWindow {
    return { ...this.view };
  }

  setView(v: LongWindow): void {
    const n = this.n;
    const span = Math.max(Math.min(MIN_SPAN, n), Math.min(n, Math.round(v.span)));
    this.view = {
      span,
      r0: Math.max(0, Math.min(n - span, Math.round(v.r0))),
      c0: Math.max(0, Math.min(n - span, Math.round(v.c0))),
    };
    this.draw();
  }

  private zoom(factor: number, at?: { q: number; k: number }): void {
    const v = this.view;
    const centre = at ?? { q: v.r0 + v.span / 2, k: v.c0 + v.span / 2 };
    const span = v.span * factor;
    // The point under the pointer stays where it is.
    const fq = (centre.q - v.r0) / v.span;
    const fk = (centre.k - v.c0) / v.span;
    this.setView({ span, r0: centre.q - fq * span, c0: centre.k - fk * span });
  }

  private select(layer: number, head: HeadSelector): void {
    this.sel = { layer, head };
    this.tile = undefined;
    this.tiles.reset();
    this.rows.reset();
    this.row = undefined;
    this.requestOverview();
    this.requestReceived();
    this.local.want(layer);
    if (this.focus) this.fetchRow(this.focus.q);
  }

  /** The focused query's exact row: computed here when the layer's operands are, else asked of the engine. */
  private fetchRow(q: number): void {
    const local = this.local.rows(this.sel.layer, q);
    document.body.dataset.rowSource = local ? 'panel' : 'engine';
    if (local) this.onRow(local);
    else this.rows.request(this.rowParams(q));
  }

  /** The exact tile on screen: computed here when the layer's operands are, else asked of the engine. */
  private fetchTile(head: number, row: number, col: number, size: number): void {
    const layer = this.sel.layer;
    const local = this.local.tile(layer, head, row, col, size);
    document.body.dataset.tileSource = local ? 'panel' : 'engine';
    // Drawn after the draw that asked for it (this runs inside draw()).
    if (local) queueMicrotask(() => this.onTile(local));
    else this.tiles.request({ analysisId: this.summary!.analysisId, layer, head, row, col, size });
  }

  private onLocalReady(layer: number): void {
    const f = this.focus;
    if (f && layer === this.sel.layer && !(this.row?.layer === layer && this.row.index === f.q)) this.fetchRow(f.q);
  }

  private fillHeads(): void {
    const s = this.summary!;
    const h = s.model.heads[this.sel.layer] ?? 1;
    this.head.replaceChildren(
      ...Array.from({ length: h }, (_, k) => el('option', { value: String(k) }, String(k + 1))),
      el('option', { value: 'mean' }, 'mean of heads'),
      el('option', { value: 'max' }, 'max of heads'),
    );
    this.layer.value = String(this.sel.layer);
    this.head.value = String(this.sel.head);
  }

  private key(layer = this.sel.layer, head = this.sel.head): string {
    return `${layer}:${head}`;
  }

  private requestOverview(): void {
    const s = this.summary!;
    const { layer, head } = this.sel;
    if (this.overviews.has(this.key())) {
      this.draw();
      return;
    }
    this.rpc
      .call('overview', { analysisId: s.analysisId, layer, head }, REQUEST_TIMEOUT_MS)
      .then((o) => this.onOverview(o), this.onError);
  }

  private requestReceived(): void {
    const s = this.summary!;
    this.rpc
      .call('received', { analysisId: s.analysisId, layer: this.sel.layer, head: this.sel.head }, REQUEST_TIMEOUT_MS)
      .then((r) => this.onReceived(r), this.onError);
  }

  private onOverview(o: OverviewReply): void {
    if (o.analysisId !== this.summary?.analysisId) return;
    this.overviews.set(this.key(o.layer, o.head), new Float32Array(o.buffer));
    if (this.key(o.layer, o.head) === this.key()) {
      this.fillHeads();
      this.draw();
      this.drawMini();
    }
  }

  private onTile(t: TileReply): void {
    if (t.analysisId !== this.summary?.analysisId) return;
    this.tile = { key: this.key(t.layer, t.head), reply: t, data: new Float32Array(t.buffer) };
    this.draw();
  }

  private onRow(r: RowsReply): void {
    if (r.analysisId !== this.summary?.analysisId) return;
    // An engine reply for a query the pointer has left (a row computed here may have overtaken it).
    if (this.focus && (r.index !== this.focus.q || r.layer !== this.sel.layer)) return;
    const arrived = performance.now();
    this.row = { layer: r.layer, index: r.index, heads: r.heads, data: new Float32Array(r.buffer) };
    this.renderBars();
    this.paints.row = performance.now();
    document.body.dataset.longRow = `${r.layer}:${r.index}`;
    // Hover → exact row drawn (bars, readout), engine round trip included; the benchmark reads it.
    const hovered = this.hoveredAt.get(r.index);
    if (hovered !== undefined) {
      // The whole wait, and its part before the reply reached the panel (engine, host and messages).
      document.body.dataset.rowArrivedMs = (arrived - hovered).toFixed(1);
      // Up to the frame that shows it (after the rest of the hover's redraw).
      requestAnimationFrame(() => {
        document.body.dataset.rowPaintMs = (performance.now() - hovered).toFixed(1);
      });
    }
  }

  /** When each query was hovered, and when the tile on its way was asked for (for the paint timings). */
  private readonly hoveredAt = new Map<number, number>();
  private tileAsked: { key: string; at: number } | undefined;
  private tilePainted: number | undefined;

  /** The focused query's exact weights for the head on screen (or the heads' mean / max). */
  private focusRow(): Float32Array | undefined {
    const r = this.row;
    const n = this.n;
    if (!r || !this.focus || r.index !== this.focus.q || r.layer !== this.sel.layer) return undefined;
    const head = this.sel.head;
    if (typeof head === 'number') return r.data.slice(head * n, (head + 1) * n);
    const out = new Float32Array(n);
    for (let k = 0; k < r.heads; k++)
      for (let j = 0; j < n; j++) {
        const v = r.data[k * n + j];
        out[j] = head === 'max' ? Math.max(out[j], v) : out[j] + v / r.heads;
      }
    return out;
  }

  private rowParams(q: number) {
    return { analysisId: this.summary!.analysisId, layer: this.sel.layer, index: q, direction: 'row' as const };
  }

  /** Focuses query q (key k under the pointer): its exact row is fetched, the editor heat follows. */
  focusOn(q: number, k: number, since = performance.now()): void {
    this.focus = { q, k };
    if (this.hoveredAt.size > 64) this.hoveredAt.clear();
    this.hoveredAt.set(q, since);
    this.fetchRow(q);
    // The panel's own work between the request and the reply (the benchmark reports it beside the wait).
    const t = performance.now();
    this.renderReadout();
    this.draw();
    document.body.dataset.rowSyncMs = (performance.now() - t).toFixed(1);
  }

  private renderReadout(): void {
    const s = this.summary;
    if (!s || !this.focus) {
      this.readout.textContent = 'Hover the matrix: rows are queries (reading), columns keys (read).';
      return;
    }
    const { q, k } = this.focus;
    const tok = (i: number) => `“${displayText(s.tokens[i].text)}” (${i})`;
    const exact = this.exactAt(q, k);
    this.readout.textContent =
      `${tok(q)} → ${tok(k)}: ` +
      (exact !== undefined
        ? `${(exact * 100).toFixed(2)}% (exact)`
        : `up to ${((this.overviewAt(q, k) ?? 0) * 100).toFixed(2)}% in its ${s.long!.block} × ${s.long!.block} block`);
  }

  private exactAt(q: number, k: number): number | undefined {
    const t = this.tile;
    if (t && t.key === this.key()) {
      const { row, col, rows, cols } = t.reply;
      if (q >= row && q < row + rows && k >= col && k < col + cols) return t.data[(q - row) * cols + (k - col)];
    }
    const r = this.focusRow();
    return r?.[k];
  }

  private overviewAt(q: number, k: number): number | undefined {
    const o = this.overviews.get(this.key());
    const long = this.summary?.long;
    if (!o || !long) return undefined;
    return o[Math.floor(q / long.block) * long.size + Math.floor(k / long.block)];
  }

  private renderBars(): void {
    const s = this.summary;
    if (!s) return;
    const dist = this.focusRow();
    if (!dist || !this.focus) {
      this.bars.replaceChildren(
        el('h2', {}, 'Focus'),
        el('p', { class: 'hint' }, 'Hover a row to see where it looks.'),
      );
      return;
    }
    renderFocusBars(
      this.bars,
      `“${displayText(s.tokens[this.focus.q].text)}” looks at`,
      s.tokens,
      dist,
      () => undefined,
      {
        distribution: this.sel.head !== 'max',
      },
    );
    // The editor heat follows once the pointer rests: decorating the editor for every row the pointer sweeps over
    // kept the extension host and the workbench busy, and delayed the next hover (measured in code-server at
    // N = 4,093: row median 45 → 32 ms without it).
    const index = this.focus.q;
    clearTimeout(this.heatTimer);
    this.heatTimer = setTimeout(() => {
      const weights = Float32Array.from(dist, (w) => Math.min(1, Math.max(0, w)));
      vscode.postMessage({ type: 'focusToken', index, weightsBuffer: weights.buffer });
    }, HEAT_DELAY_MS);
    this.renderReadout();
  }

  private onReceived(r: ReceivedReply): void {
    if (r.analysisId !== this.summary?.analysisId || this.key(r.layer, r.head) !== this.key()) return;
    const data = new Float32Array(r.buffer);
    const n = data.length;
    const w = Math.max(200, Math.min(1000, this.element.clientWidth || 800));
    const h = 80;
    const dpr = window.devicePixelRatio || 1;
    this.received.width = Math.round(w * dpr);
    this.received.height = Math.round(h * dpr);
    this.received.style.width = `${w}px`;
    this.received.style.height = `${h}px`;
    const ctx = this.received.getContext('2d')!;
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, w, h);
    let max = 0;
    for (const v of data) max = Math.max(max, v);
    // One bar per pixel column: the largest sum among the tokens it covers, so a sink is never averaged away.
    ctx.fillStyle = getComputedStyle(document.body).getPropertyValue('--vscode-charts-blue') || '#3794ff';
    for (let x = 0; x < w; x++) {
      const from = Math.floor((x * n) / w);
      const to = Math.max(from + 1, Math.floor(((x + 1) * n) / w));
      let v = 0;
      for (let j = from; j < to && j < n; j++) v = Math.max(v, data[j]);
      const bh = max > 0 ? (v / max) * (h - 2) : 0;
      ctx.fillRect(x, h - bh, 1, bh);
    }
    const s = this.summary!;
    const order = Array.from(data.keys())
      .sort((a, b) => data[b] - data[a])
      .slice(0, 6);
    this.sinks.replaceChildren(
      ...order.map((j) => {
        const li = el(
          'li',
          { 'data-index': String(j) },
          `“${displayText(s.tokens[j].text)}” (${j}) receives ${data[j].toFixed(1)} — ${((data[j] / n) * 100).toFixed(1)}% of all attention`,
        );
        li.addEventListener('click', () => this.focusOn(j, j));
        return li;
      }),
    );
  }

  private onThumbnails(t: ThumbnailsReply): void {
    // When the grid came, from the command's start in the host (benchmarks read it; the clock as fromCommandMs).
    if (this.startedAt !== undefined && t.analysisId === this.summary?.analysisId)
      document.body.dataset.gridFromCommandMs = String(Date.now() - this.startedAt);
    renderThumbnailGrid(this.grid, t, (layer, head) => {
      this.select(layer, head);
      this.fillHeads();
    });
  }

  /** Draws the window: exact cells from the tile when it is on screen at ≥ 1 pixel per cell, else the overview. */
  private draw(): void {
    const s = this.summary;
    if (!s) return;
    const dpr = window.devicePixelRatio || 1;
    // Beside the token list when the panel is wide enough, else the square shrinks (never below 240 px).
    this.px = Math.max(240, Math.min(SIDE, (this.element.clientWidth || SIDE + 200) - 200));
    if (this.canvas.width !== Math.round(this.px * dpr)) {
      this.canvas.width = Math.round(this.px * dpr);
      this.canvas.height = Math.round(this.px * dpr);
      this.canvas.style.width = `${this.px}px`;
      this.canvas.style.height = `${this.px}px`;
    }
    const { r0, c0, span } = this.view;
    const exactWanted = span <= this.px && typeof this.sel.head === 'number';
    const t = this.tile;
    const exactReady =
      exactWanted &&
      t !== undefined &&
      t.key === this.key() &&
      t.reply.row === r0 &&
      t.reply.col === c0 &&
      t.reply.rows === Math.min(span, s.n - r0) &&
      t.reply.cols === Math.min(span, s.n - c0);
    const side = Math.round(this.px * dpr);
    const ctx = this.canvas.getContext('2d')!;
    // A hover moves only the outline: the pixels painted last time are reused (repainting them cost ~10 ms a hover).
    const source = exactReady
      ? `tile:${t!.reply.row},${t!.reply.col}`
      : this.overviews.has(this.key())
        ? 'overview'
        : '';
    const paintKey = `${side}|${r0},${c0},${span}|${this.key()}|${source}`;
    if (this.painted?.key === paintKey && source) {
      ctx.putImageData(this.painted.image, 0, 0);
      this.outlineFocus(ctx, dpr);
      this.renderList();
      return;
    }
    const image = new ImageData(side, side);
    const px = image.data;
    const paint = (value: (q: number, k: number) => number, max: number) => {
      for (let y = 0; y < side; y++) {
        const q = r0 + Math.floor((y * span) / side);
        for (let x = 0; x < side; x++) {
          const k = c0 + Math.floor((x * span) / side);
          const v = value(q, k);
          // Square-root shading: over thousands of keys most weights are small, and a linear scale shows one bright
          // diagonal on black.
          const c = Math.max(0, Math.min(255, Math.round(Math.sqrt(max > 0 ? v / max : 0) * 255))) * 3;
          const o = (y * side + x) * 4;
          px[o] = VIRIDIS_LUT[c];
          px[o + 1] = VIRIDIS_LUT[c + 1];
          px[o + 2] = VIRIDIS_LUT[c + 2];
          px[o + 3] = 255;
        }
      }
    };
    if (exactReady) {
      const { row, col, cols } = t!.reply;
      let max = 0;
      for (const v of t!.data) max = Math.max(max, v);
      paint((q, k) => t!.data[(q - row) * cols + (k - col)], max);
      this.canvas.dataset.exact = 'true';
      this.paints.tile = performance.now();
      document.body.dataset.longPainted = `tile:${r0},${c0},${span}`;
      const asked = this.tileAsked;
      if (asked?.key === `${r0},${c0},${span}`) {
        this.tileAsked = undefined;
        this.tilePainted = asked.at;
      }
    } else {
      const o = this.overviews.get(this.key());
      if (!o) return;
      const { block, size } = s.long!;
      let max = 0;
      const b0 = Math.floor(r0 / block);
      const b1 = Math.ceil((r0 + span) / block);
      const k0 = Math.floor(c0 / block);
      const k1 = Math.ceil((c0 + span) / block);
      for (let i = b0; i < b1 && i < size; i++)
        for (let j = k0; j < k1 && j < size; j++) max = Math.max(max, o[i * size + j]);
      paint((q, k) => o[Math.floor(q / block) * size + Math.floor(k / block)], max);
      this.canvas.dataset.exact = 'false';
      this.paints.overview = performance.now();
      document.body.dataset.longPainted = `overview:${this.key()}`;
      if (this.startedAt !== undefined && this.measured !== s.analysisId) {
        this.measured = s.analysisId;
        document.body.dataset.fromCommandMs = String(Date.now() - this.startedAt);
      }
      if (exactWanted && this.tileAsked?.key !== `${r0},${c0},${span}`)
        this.tileAsked = { key: `${r0},${c0},${span}`, at: performance.now() };
      if (exactWanted) this.fetchTile(this.sel.head as number, r0, c0, span);
    }
    ctx.putImageData(image, 0, 0);
    this.painted = { key: paintKey, image };
    if (this.tilePainted !== undefined) {
      document.body.dataset.tilePaintMs = (performance.now() - this.tilePainted).toFixed(1);
      this.tilePainted = undefined;
    }
    this.outlineFocus(ctx, dpr);
    this.canvas.dataset.view = `${r0},${c0},${span}`;
    this.drawMini();
    this.renderList();
  }

  private heatTimer: ReturnType<typeof setTimeout> | undefined;

  /** The last full paint of the matrix and what it showed. */
  private painted: { key: string; image: ImageData } | undefined;

  /** The focused cell, outlined. */
  private outlineFocus(ctx: CanvasRenderingContext2D, dpr: number): void {
    if (!this.focus) return;
    const { r0, c0, span } = this.view;
    const cell = this.px / span;
    const y = (this.focus.q - r0) * cell;
    const x = (this.focus.k - c0) * cell;
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = dpr;
    if (y >= 0 && y < this.px && x >= 0 && x < this.px)
      ctx.strokeRect(x * dpr, y * dpr, Math.max(2, cell) * dpr, Math.max(2, cell) * dpr);
  }

  private drawMini(): void {
    const s = this.summary;
    const o = this.overviews.get(this.key());
    if (!s || !o) return;
    const { size } = s.long!;
    this.mini.width = MINI;
    this.mini.height = MINI;
    const ctx = this.mini.getContext('2d')!;
    const image = new ImageData(MINI, MINI);
    let max = 0;
    for (const v of o) max = Math.max(max, v);
    for (let y = 0; y < MINI; y++)
      for (let x = 0; x < MINI; x++) {
        const v = o[Math.floor((y * size) / MINI) * size + Math.floor((x * size) / MINI)];
        const c = Math.round(Math.sqrt(max > 0 ? v / max : 0) * 255) * 3;
        const at = (y * MINI + x) * 4;
        image.data[at] = VIRIDIS_LUT[c];
        image.data[at + 1] = VIRIDIS_LUT[c + 1];
        image.data[at + 2] = VIRIDIS_LUT[c + 2];
        image.data[at + 3] = 255;
      }
    ctx.putImageData(image, 0, 0);
    if (this.tilePainted !== undefined) {
      document.body.dataset.tilePaintMs = (performance.now() - this.tilePainted).toFixed(1);
      this.tilePainted = undefined;
    }
    const f = MINI / s.n;
    const { r0, c0, span } = this.view;
    ctx.strokeStyle = '#ff4081';
    ctx.lineWidth = 2;
    ctx.strokeRect(c0 * f, r0 * f, Math.max(3, span * f), Math.max(3, span * f));
  }

  /** Only the rows of the token list in view are in the DOM. */
  private renderList(): void {
    const s = this.summary;
    if (!s) return;
    const first = Math.max(0, Math.floor(this.list.scrollTop / ROW_HEIGHT) - 2);
    const count = Math.ceil((this.list.clientHeight || this.px) / ROW_HEIGHT) + 4;
    const rows: HTMLElement[] = [];
    for (let i = first; i < Math.min(s.n, first + count); i++) {
      const inView = i >= this.view.r0 && i < this.view.r0 + this.view.span;
      const r = el(
        'div',
        {
          class: `long-token${inView ? ' in-view' : ''}${this.focus?.q === i ? ' focused' : ''}`,
          'data-index': String(i),
        },
        `${i} ${displayText(s.tokens[i].text)}`,
      );
      r.style.top = `${i * ROW_HEIGHT}px`;
      rows.push(r);
    }
    this.spacer.replaceChildren(...rows);
  }

  private cellAt(e: MouseEvent): { q: number; k: number } {
    const rect = this.canvas.getBoundingClientRect();
    const { r0, c0, span } = this.view;
    const fx = Math.max(0, Math.min(0.9999, (e.clientX - rect.left) / rect.width));
    const fy = Math.max(0, Math.min(0.9999, (e.clientY - rect.top) / rect.height));
    return { q: r0 + Math.floor(fy * span), k: c0 + Math.floor(fx * span) };
  }

  private wire(): void {
    let drag: { x: number; y: number; v: LongWindow } | undefined;
    this.canvas.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        this.zoom(e.deltaY < 0 ? 0.8 : 1.25, this.cellAt(e));
      },
      { passive: false },
    );
    this.canvas.addEventListener('mousedown', (e) => {
      drag = { x: e.clientX, y: e.clientY, v: { ...this.view } };
    });
    window.addEventListener('mouseup', () => {
      drag = undefined;
    });
    this.canvas.addEventListener('mousemove', (e) => {
      if (drag && e.buttons === 1) {
        const rect = this.canvas.getBoundingClientRect();
        const per = drag.v.span / rect.width;
        this.setView({
          span: drag.v.span,
          r0: drag.v.r0 - (e.clientY - drag.y) * per,
          c0: drag.v.c0 - (e.clientX - drag.x) * per,
        });
        return;
      }
      const { q, k } = this.cellAt(e);
      // The event's own time: the wait for the row starts when the pointer moved, queueing included.
      if (this.focus?.q !== q || this.focus.k !== k) this.focusOn(q, k, e.timeStamp);
    });
    this.canvas.addEventListener('keydown', (e) => {
      const v = this.view;
      const step = Math.max(1, Math.round(v.span / 8));
      const moves: Record<string, () => void> = {
        '+': () => this.zoom(0.5),
        '=': () => this.zoom(0.5),
        '-': () => this.zoom(2),
        '0': () => this.setView({ r0: 0, c0: 0, span: this.n }),
        ArrowUp: () => this.setView({ ...v, r0: v.r0 - step }),
        ArrowDown: () => this.setView({ ...v, r0: v.r0 + step }),
        ArrowLeft: () => this.setView({ ...v, c0: v.c0 - step }),
        ArrowRight: () => this.setView({ ...v, c0: v.c0 + step }),
      };
      const run = moves[e.key];
      if (run) {
        e.preventDefault();
        run();
      }
    });
    this.mini.addEventListener('click', (e) => {
      const rect = this.mini.getBoundingClientRect();
      const q = ((e.clientY - rect.top) / rect.height) * this.n;
      const k = ((e.clientX - rect.left) / rect.width) * this.n;
      const span = this.view.span;
      this.setView({ span, r0: q - span / 2, c0: k - span / 2 });
    });
    this.list.addEventListener('scroll', () => this.renderList());
    this.list.addEventListener('mouseover', (e) => {
      const i = Number((e.target as HTMLElement).dataset?.index);
      if (Number.isInteger(i)) this.focusOn(i, this.focus?.k ?? i);
    });
    this.list.addEventListener('click', (e) => {
      const i = Number((e.target as HTMLElement).dataset?.index);
      if (!Number.isInteger(i)) return;
      // Brings the clicked query's rows into the window.
      const span = this.view.span;
      if (i < this.view.r0 || i >= this.view.r0 + span) this.setView({ ...this.view, r0: i - span / 2 });
    });
  }
}
