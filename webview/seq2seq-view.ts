// An encoder–decoder analysis in the panel: the source strip above, the output strip below, a family selector
// (encoder self / decoder self / cross), layer and head, and the chosen family's matrix (cross: output × source).
// Hovering an output token shades the source by its cross row; hovering a source token shades the output by its
// column (which output tokens read it). For the self families a token shades its own strip by its row. The focus
// token's weights are also the lesson's ranked bars, and the family's layer × head grid selects a map by click.
import type {
  AttentionFamily,
  FamilySliceReply,
  PanelApi,
  Seq2SeqReply,
  TokenInfo,
  HeadSelector,
} from '../src/protocol/messages';
import type { EngineError, RpcClient } from '../src/protocol/rpc';
import { VIRIDIS_LUT } from './color-scale';
import { displayText, el, secondaryButton } from './dom';
import { renderFocusBars } from './focus-bars';
import { TokenView } from './token-view';
import { vscode } from './vscode-api';

const FAMILY_LABELS: Record<AttentionFamily, string> = {
  cross: 'cross-attention (output → source)',
  encoder: 'encoder self-attention (source)',
  decoder: 'decoder self-attention (output, causal)',
};
const REQUEST_TIMEOUT_MS = 60_000;

/** A small canvas of a rows × cols map, block-averaged to at most 24 cells a side, viridis relative to its maximum. */
function thumbnail(m: Float32Array, rows: number, cols: number, causal: boolean): HTMLCanvasElement {
  const h = Math.min(24, rows);
  const w = Math.min(24, cols);
  const sums = new Float32Array(h * w);
  const counts = new Float32Array(h * w);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      if (causal && j > i) continue;
      const at = Math.floor((i * h) / rows) * w + Math.floor((j * w) / cols);
      sums[at] += m[i * cols + j];
      counts[at]++;
    }
  let max = 0;
  for (let k = 0; k < sums.length; k++) max = Math.max(max, counts[k] ? sums[k] / counts[k] : 0);
  const canvas = el('canvas', { width: String(w), height: String(h) }) as HTMLCanvasElement;
  const img = new ImageData(w, h);
  for (let k = 0; k < sums.length; k++) {
    const v = counts[k] ? sums[k] / counts[k] / (max || 1) : 0;
    const c = Math.min(255, Math.round(v * 255)) * 3;
    img.data.set([VIRIDIS_LUT[c], VIRIDIS_LUT[c + 1], VIRIDIS_LUT[c + 2], 255], k * 4);
  }
  canvas.getContext('2d')?.putImageData(img, 0, 0);
  return canvas;
}

export class Seq2SeqView {
  readonly element = el('section', { class: 'seq2seq', 'aria-label': 'Encoder–decoder attention' });
  private readonly family = el('select', { id: 's2s-family', title: 'Which attention to show' });
  private readonly layer = el('select', { id: 's2s-layer', title: 'Layer' });
  private readonly head = el('select', { id: 's2s-head', title: 'Head, or the mean / max of the layer’s heads' });
  private readonly sourceStrip = el('div', { class: 's2s-tokens source', 'aria-label': 'Source tokens (encoder)' });
  private readonly targetStrip = el('div', { class: 's2s-tokens target', 'aria-label': 'Output tokens (decoder)' });
  private readonly caption = el('p', { class: 'hint' });
  private readonly canvas = el('canvas', { id: 's2s-heatmap', role: 'img' }) as HTMLCanvasElement;
  /** Lines from the focus token to the tokens it weighs most (bertviz's two-column view, over wrapped strips). */
  private readonly links = el('canvas', { class: 's2s-links', 'aria-hidden': 'true' }) as HTMLCanvasElement;
  /** The lesson's ranked chart for the focus token: its row (or column) as bars. */
  private readonly bars = el('div', { class: 'bars s2s-bars', id: 's2s-bars' });
  /** Every layer × head of the family on screen, small; a click selects it. */
  private readonly grid = el('div', { class: 'grid s2s-grid', id: 's2s-grid' });
  private gridKey = '';
  private readonly source: TokenView;
  private readonly target: TokenView;
  private reply: Seq2SeqReply | undefined;
  private matrix: { m: Float32Array; rows: number; cols: number; key: string } | undefined;
  private focus: { side: 'source' | 'target'; index: number } | null = null;

  constructor(
    private readonly rpc: RpcClient<PanelApi>,
    private readonly onError: (e: EngineError) => void,
  ) {
    for (const f of ['cross', 'encoder', 'decoder'] as const)
      this.family.append(el('option', { value: f }, FAMILY_LABELS[f]));
    const controls = el('div', { class: 'controls' });
    const button = secondaryButton;
    controls.append(
      el('label', { for: 's2s-family' }, 'Attention'),
      this.family,
      el('label', { for: 's2s-layer' }, 'Layer'),
      this.layer,
      el('label', { for: 's2s-head' }, 'Head'),
      this.head,
      button('s2s-export-png', 'Export PNG', 'Save the matrix on screen as a PNG image', () =>
        vscode.postMessage({ type: 'exportPng', dataUrl: this.canvas.toDataURL('image/png') }),
      ),
      button('s2s-export-json', 'Export JSON', 'Save this map, or every map of the three families, as JSON', () => {
        const r = this.reply;
        if (!r) return;
        const v = this.view();
        vscode.postMessage({ type: 'exportSeq2SeqJson', analysisId: r.analysisId, ...v });
      }),
    );
    this.source = new TokenView(
      this.sourceStrip,
      (i) => this.setFocus({ side: 'source', index: i }),
      () => undefined,
    );
    this.target = new TokenView(
      this.targetStrip,
      (i) => this.setFocus({ side: 'target', index: i }),
      () => undefined,
    );
    this.element.append(
      this.links,
      controls,
      el('h2', {}, 'Source'),
      this.sourceStrip,
      el('h2', {}, 'Output'),
      this.targetStrip,
      this.caption,
      this.bars,
      this.canvas,
      this.grid,
    );
    this.family.addEventListener('change', () => {
      this.fillLayers();
      this.request();
    });
    this.layer.addEventListener('change', () => {
      this.fillHeads();
      this.request();
    });
    this.head.addEventListener('change', () => this.request());
  }

  /** A new encoder–decoder analysis. */
  show(reply: Seq2SeqReply): void {
    this.reply = reply;
    this.focus = null;
    this.matrix = undefined;
    this.source.render(reply.tokens, []);
    const target: TokenInfo[] = reply.targetTokens.map((t, i) => ({
      text: t.text,
      id: t.id,
      start: null,
      end: null,
      special: t.special,
      generated: reply.generated && i > 0,
    }));
    this.target.render(target, []);
    this.fillLayers();
    this.request();
  }

  private get side(): 'encoder' | 'decoder' {
    return this.family.value === 'encoder' ? 'encoder' : 'decoder';
  }

  private fillLayers(): void {
    const r = this.reply;
    if (!r) return;
    const keep = Number(this.layer.value) || 0;
    const count = r.model.layers[this.side];
    this.layer.replaceChildren(
      ...Array.from({ length: count }, (_, l) => el('option', { value: String(l) }, `${l + 1} of ${count}`)),
    );
    this.layer.value = String(Math.min(keep, count - 1));
    this.fillHeads();
  }

  private fillHeads(): void {
    const r = this.reply;
    if (!r) return;
    const keep = this.head.value || '0';
    const heads = r.model.heads[this.side][Number(this.layer.value)] ?? 0;
    this.head.replaceChildren(
      ...Array.from({ length: heads }, (_, h) => el('option', { value: String(h) }, `head ${h + 1}`)),
      el('option', { value: 'mean' }, 'mean of heads'),
      el('option', { value: 'max' }, 'max of heads'),
      // Rollout multiplies the self-attention maps through the layers (cross-attention mixes two sequences).
      ...(this.family.value === 'cross' ? [] : [el('option', { value: 'rollout' }, 'rollout through this layer')]),
    );
    const aggregate = keep === 'mean' || keep === 'max' || (keep === 'rollout' && this.family.value !== 'cross');
    this.head.value = aggregate || Number(keep) < heads ? keep : '0';
  }

  /** The family, layer and head chosen. */
  private view(): { family: AttentionFamily; layer: number; head: HeadSelector } {
    const v = this.head.value;
    const head = v === 'mean' || v === 'max' || v === 'rollout' ? v : Number(v);
    return { family: this.family.value as AttentionFamily, layer: Number(this.layer.value), head };
  }

  private request(): void {
    const r = this.reply;
    if (!r) return;
    const { family, layer, head } = this.view();
    const key = `${r.analysisId}:${family}:${layer}:${head}`;
    this.rpc.call('familySlice', { analysisId: r.analysisId, family, layer, head }, REQUEST_TIMEOUT_MS).then(
      (s) => {
        if (this.reply?.analysisId !== s.analysisId) return;
        this.matrix = { m: new Float32Array(s.buffer), rows: s.rows, cols: s.cols, key };
        document.body.dataset.seq2seqPainted = key;
        this.draw();
        this.shade();
        void this.renderGrid();
      },
      (e: EngineError) => this.onError(e),
    );
  }

  /** The editor cursor is on source token `index`. */
  focusSource(index: number): void {
    if (this.reply && index >= 0 && index < this.reply.tokens.length) this.setFocus({ side: 'source', index });
  }

  private setFocus(f: { side: 'source' | 'target'; index: number }): void {
    this.focus = f;
    this.shade();
  }

  /** Shades the strip the focus token's weights fall on (see the top of this file). */
  private shade(): void {
    const r = this.reply;
    const mx = this.matrix;
    this.source.clear();
    this.target.clear();
    this.source.mark(this.focus?.side === 'source' ? this.focus.index : null, null);
    this.target.mark(this.focus?.side === 'target' ? this.focus.index : null, null);
    if (!r || !mx || !this.focus) {
      this.drawLinks(undefined, this.source, new Float32Array(0));
      this.caption.textContent = 'Hover a token: its weights shade the other strip (cross) or its own (self).';
      this.bars.replaceChildren();
      return;
    }
    const family = this.family.value as AttentionFamily;
    const { side, index } = this.focus;
    const name = (t: { text: string }) => `"${displayText(t.text)}"`;
    let weights: Float32Array;
    let strip: TokenView;
    if (family === 'cross' && side === 'target') {
      weights = mx.m.slice(index * mx.cols, (index + 1) * mx.cols);
      strip = this.source;
      this.caption.textContent = `Where output token ${name(r.targetTokens[index])} looks in the source (its cross-attention row).`;
    } else if (family === 'cross') {
      weights = Float32Array.from({ length: mx.rows }, (_, i) => mx.m[i * mx.cols + index]);
      strip = this.target;
      this.caption.textContent = `Which output tokens read source token ${name(r.tokens[index])} (its cross-attention column).`;
    } else if ((family === 'encoder') === (side === 'source')) {
      weights = mx.m.slice(index * mx.cols, (index + 1) * mx.cols);
      strip = side === 'source' ? this.source : this.target;
      const t = side === 'source' ? r.tokens[index] : r.targetTokens[index];
      this.caption.textContent = `Where ${name(t)} looks among the ${side === 'source' ? 'source' : 'output'} tokens.`;
    } else {
      this.caption.textContent = `The ${family} family relates ${family === 'encoder' ? 'source' : 'output'} tokens only: hover one of those.`;
      this.drawLinks(undefined, this.source, new Float32Array(0));
      this.bars.replaceChildren();
      return;
    }
    strip.shadeOne(weights, weights);
    // The editor heat shades the source text: weights over the source tokens, outlining the focused source token (or,
    // for an output token, the source token it weighs most); weights over the output clear it.
    if (strip === this.source) {
      const outline = side === 'source' ? index : weights.indexOf(Math.max(...weights));
      vscode.postMessage({
        type: 'focusToken',
        index: outline,
        weights: Array.from(weights, (w) => Math.min(1, Math.max(0, w))),
      });
    } else vscode.postMessage({ type: 'focusToken', index: null });
    // A row sums to 1 (a distribution over what the token reads); a cross column does not.
    const column = family === 'cross' && side === 'source';
    const focusToken = side === 'source' ? r.tokens[index] : r.targetTokens[index];
    const stripTokens = strip === this.source ? r.tokens : r.targetTokens;
    renderFocusBars(
      this.bars,
      column ? `${name(focusToken)} is read by` : `${name(focusToken)} looks at`,
      stripTokens.map((t) => ({ text: t.text, id: t.id, start: null, end: null, special: t.special })),
      weights,
      () => undefined,
      column ? { distribution: false, note: 'Each bar is that output token’s weight on this source token.' } : {},
    );
    const from = (side === 'source' ? this.source : this.target).chip(index);
    this.drawLinks(from, strip, weights);
  }

  /**
   * The family's layer × head grid: every map as a small heatmap (block-averaged to at most 24 cells a side), asked
   * for one by one after the matrix on screen; a click selects that layer and head.
   */
  private async renderGrid(): Promise<void> {
    const r = this.reply;
    if (!r) return;
    const family = this.family.value as AttentionFamily;
    const key = `${r.analysisId}:${family}`;
    if (this.gridKey === key) {
      this.markGrid();
      return;
    }
    this.gridKey = key;
    const side = this.side;
    const table = el('div', { class: 'gridtable', role: 'grid', 'aria-label': `${family}: layers by heads` });
    this.grid.replaceChildren(el('h2', {}, `All layers × heads — ${FAMILY_LABELS[family]}`), table);
    for (let l = 0; l < r.model.layers[side]; l++) {
      const row = el('div', { class: 'gridrow', role: 'row' });
      row.append(el('span', { class: 'gridlabel' }, `L${l + 1}`));
      table.append(row);
      for (let h = 0; h < (r.model.heads[side][l] ?? 0); h++) {
        let s: FamilySliceReply;
        try {
          s = await this.rpc.call(
            'familySlice',
            { analysisId: r.analysisId, family, layer: l, head: h },
            REQUEST_TIMEOUT_MS,
          );
        } catch {
          return;
        }
        if (this.gridKey !== key) return;
        const canvas = thumbnail(new Float32Array(s.buffer), s.rows, s.cols, family === 'decoder');
        canvas.classList.add('thumb');
        canvas.dataset.layer = String(l);
        canvas.dataset.head = String(h);
        canvas.setAttribute('role', 'gridcell');
        canvas.title = `layer ${l + 1}, head ${h + 1}`;
        canvas.addEventListener('click', () => {
          this.layer.value = String(l);
          this.fillHeads();
          this.head.value = String(h);
          this.request();
        });
        row.append(canvas);
      }
    }
    this.markGrid();
    document.body.dataset.seq2seqGrid = key;
  }

  /** Outlines the grid cell of the layer and head on screen. */
  private markGrid(): void {
    const { layer, head } = this.view();
    for (const c of this.grid.querySelectorAll<HTMLCanvasElement>('canvas.thumb'))
      c.classList.toggle('selected', c.dataset.layer === String(layer) && c.dataset.head === String(head));
  }

  /** How many of the largest weights get a line. */
  private static readonly LINKS = 3;

  /** Lines from the focus chip to the chips of its largest weights, thicker and darker for larger ones. */
  private drawLinks(from: HTMLElement | undefined, strip: TokenView, weights: Float32Array): void {
    const box = this.element.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.links.width = Math.round(box.width * dpr);
    this.links.height = Math.round(box.height * dpr);
    this.links.style.width = `${box.width}px`;
    this.links.style.height = `${box.height}px`;
    const ctx = this.links.getContext('2d');
    if (!ctx || !from) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const top = Array.from(weights, (w, j) => ({ w, j }))
      .sort((a, b) => b.w - a.w)
      .slice(0, Seq2SeqView.LINKS);
    const max = top[0]?.w || 1;
    const centre = (e: HTMLElement) => {
      const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2 - box.left, top: r.top - box.top, bottom: r.bottom - box.top };
    };
    const a = centre(from);
    ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue('--vscode-focusBorder').trim() || '#3794ff';
    let drawn = 0;
    for (const { w, j } of top) {
      const chip = strip.chip(j);
      if (!chip || chip === from) continue;
      const b = centre(chip);
      // From the facing edges: an output chip (below) to a source chip (above), or along one strip.
      const down = b.top > a.bottom;
      const y1 = down ? a.bottom : a.top;
      const y2 = down ? b.top : b.bottom;
      ctx.globalAlpha = 0.25 + 0.75 * (w / max);
      ctx.lineWidth = 1 + 2 * (w / max);
      ctx.beginPath();
      ctx.moveTo(a.x, y1);
      ctx.bezierCurveTo(a.x, (y1 + y2) / 2, b.x, (y1 + y2) / 2, b.x, y2);
      ctx.stroke();
      drawn++;
    }
    this.links.dataset.links = String(drawn);
  }

  /** The matrix with both axes labelled (queries down the side, keys across the top), viridis relative to its maximum. */
  private draw(): void {
    const mx = this.matrix;
    const r = this.reply;
    if (!mx || !r) return;
    const { m, rows, cols } = mx;
    const family = this.family.value as AttentionFamily;
    const label = (t: { text: string }) => displayText(t.text).slice(0, 12);
    const rowLabels = (family === 'encoder' ? r.tokens : r.targetTokens).map(label);
    const colLabels = (family === 'decoder' ? r.targetTokens : r.tokens).map(label);
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const font = `10px ${getComputedStyle(document.body).fontFamily || 'sans-serif'}`;
    ctx.font = font;
    const widest = (labels: string[]) => Math.ceil(Math.max(0, ...labels.map((l) => ctx.measureText(l).width))) + 6;
    const left = Math.min(90, widest(rowLabels));
    const top = Math.min(90, widest(colLabels));
    // Cells fit the panel's width (at most 24 px, at least 4: a long source scrolls sideways).
    const room = Math.max(160, (this.element.clientWidth || 480) - left - 12);
    const cell = Math.max(4, Math.min(24, Math.floor(room / cols), Math.floor(480 / rows)));
    const width = left + cols * cell;
    const height = top + rows * cell;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.setAttribute('aria-label', `${this.family.selectedOptions[0]?.textContent}, ${rows} by ${cols}`);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const img = new ImageData(cols, rows);
    let max = 0;
    for (const v of m) if (v > max) max = v;
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        const o = (i * cols + j) * 4;
        // The decoder cannot look at later output tokens: those cells are masked grey, not zero weights.
        if (family === 'decoder' && j > i) {
          img.data.set([112, 112, 112, 90], o);
          continue;
        }
        const k = Math.min(255, Math.round((m[i * cols + j] / (max || 1)) * 255)) * 3;
        img.data.set([VIRIDIS_LUT[k], VIRIDIS_LUT[k + 1], VIRIDIS_LUT[k + 2], 255], o);
      }
    const pixels = document.createElement('canvas');
    pixels.width = cols;
    pixels.height = rows;
    pixels.getContext('2d')?.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(pixels, left, top, cols * cell, rows * cell);
    // Labels through fillText only: token text never becomes markup.
    ctx.font = font;
    ctx.fillStyle = getComputedStyle(document.body).color || '#ccc';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    if (cell >= 8) for (const [i, t] of rowLabels.entries()) ctx.fillText(t, left - 4, top + (i + 0.5) * cell);
    ctx.save();
    ctx.translate(left, top - 4);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    if (cell >= 8) for (const [j, t] of colLabels.entries()) ctx.fillText(t, 0, (j + 0.5) * cell);
    ctx.restore();
  }
}
