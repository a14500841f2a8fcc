// The N×N matrix on one canvas (never one element per cell), with token labels on both axes and a
// separate overlay canvas for the crosshair, so a hover never redraws the N² cells.
import { VIRIDIS_LUT } from './color-scale';

/** A cell of the matrix: query row, key column. */
export interface Cell {
  row: number;
  col: number;
}

const FONT_PX = 10;
const MAX_MARGIN = 84;

/** Draws and hit-tests an attention matrix. */
export class Heatmap {
  readonly canvas: HTMLCanvasElement;
  private readonly overlay: HTMLCanvasElement;
  private matrix: Float32Array | undefined;
  private n = 0;
  private causal = false;
  private hidden: boolean[] = [];
  private before: Float32Array | undefined;
  private labels: string[] = [];
  private cross: Cell | undefined;
  private margin = 0;
  private plot = 0;
  /** Theme colours, read once per full draw: reading computed style on every hover would force a style recalc. */
  private focusColour = '#fff';

  constructor(
    wrap: HTMLElement,
    private readonly sizePx: () => number,
  ) {
    const stack = document.createElement('div');
    stack.className = 'heatmap-stack';
    this.canvas = document.createElement('canvas');
    this.canvas.id = 'heatmap';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'attention heatmap');
    this.overlay = document.createElement('canvas');
    this.overlay.className = 'heatmap-overlay';
    this.overlay.setAttribute('aria-hidden', 'true');
    stack.append(this.canvas, this.overlay);
    wrap.prepend(stack);
  }

  /**
   * Sets the matrix; `hidden[i]` greys row/column i (hidden special tokens); labels name the tokens on the axes.
   * `before`, when given, is the matrix before the Keep threshold: cells it zeroed are greyed too, not drawn as "low".
   */
  set(
    matrix: Float32Array,
    n: number,
    causal: boolean,
    hidden: boolean[],
    labels: string[],
    before?: Float32Array,
  ): void {
    this.matrix = matrix;
    this.before = before === matrix ? undefined : before;
    this.n = n;
    this.causal = causal;
    this.hidden = hidden;
    this.labels = labels;
    this.draw();
  }

  /** Marks a query row and key column (or clears the mark); only the overlay is redrawn. */
  crosshair(cell: Cell | undefined): void {
    this.cross = cell;
    this.drawOverlay();
  }

  /** The cell under a mouse event, if it is over the plot. */
  cellAt(ev: MouseEvent): Cell | undefined {
    if (!this.n || !this.plot) return undefined;
    const r = this.canvas.getBoundingClientRect();
    const scale = r.width / (this.margin + this.plot);
    const x = (ev.clientX - r.left) / scale - this.margin;
    const y = (ev.clientY - r.top) / scale - this.margin;
    const col = Math.floor((x / this.plot) * this.n);
    const row = Math.floor((y / this.plot) * this.n);
    return row >= 0 && col >= 0 && row < this.n && col < this.n ? { row, col } : undefined;
  }

  /** Redraws the cells and labels at the current size and pixel ratio. */
  draw(): void {
    const m = this.matrix;
    const n = this.n;
    if (!m || !n) return;
    // A user-timing entry per draw, read by `npm run bench:webview`.
    const started = performance.now();
    const css = this.sizePx();
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.font = `${FONT_PX}px ${getComputedStyle(document.body).fontFamily || 'sans-serif'}`;
    this.margin = this.labels.length
      ? Math.min(MAX_MARGIN, Math.ceil(Math.max(...this.labels.map((l) => ctx.measureText(l).width))) + 6)
      : 0;
    this.plot = Math.max(32, css - this.margin);
    // Geometry in CSS pixels, for tests and tools that read cells off the canvas.
    this.canvas.dataset.margin = String(this.margin);
    this.canvas.dataset.plot = String(this.plot);
    for (const c of [this.canvas, this.overlay]) {
      c.style.width = `${css}px`;
      c.style.height = `${css}px`;
      c.width = Math.round(css * dpr);
      c.height = Math.round(css * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.focusColour = getComputedStyle(document.body).getPropertyValue('--vscode-focusBorder').trim() || '#fff';
    ctx.font = `${FONT_PX}px ${getComputedStyle(document.body).fontFamily || 'sans-serif'}`;
    // One pixel per cell, then scaled up without smoothing: O(N²) work, no per-cell draw calls.
    const img = new ImageData(n, n);
    const px = img.data;
    let max = 0;
    for (let i = 0; i < m.length; i++) if (m[i] > max) max = m[i];
    const scale = max > 0 ? 255 / max : 0;
    for (let i = 0; i < n; i++) {
      const rowHidden = this.hidden[i];
      for (let j = 0; j < n; j++) {
        const o = (i * n + j) * 4;
        const blanked = this.before !== undefined && m[i * n + j] === 0 && this.before[i * n + j] > 0;
        if ((this.causal && j > i) || rowHidden || this.hidden[j] || blanked) {
          // Masked, hidden and below-threshold cells are one flat translucent grey (a per-cell pattern could read
          // as data), never drawn as zero weights.
          px[o] = 112;
          px[o + 1] = 112;
          px[o + 2] = 112;
          px[o + 3] = 90;
          continue;
        }
        const k = Math.min(255, Math.round(m[i * n + j] * scale)) * 3;
        px[o] = VIRIDIS_LUT[k];
        px[o + 1] = VIRIDIS_LUT[k + 1];
        px[o + 2] = VIRIDIS_LUT[k + 2];
        px[o + 3] = 255;
      }
    }
    const off = new OffscreenCanvas(n, n);
    off.getContext('2d')!.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, css, css);
    ctx.drawImage(off, this.margin, this.margin, this.plot, this.plot);
    this.drawLabels(ctx);
    this.drawOverlay();
    performance.measure('attention-lens:draw', { start: started });
  }

  private drawLabels(ctx: CanvasRenderingContext2D): void {
    if (!this.margin) return;
    const cell = this.plot / this.n;
    // Label every k-th token so labels never overlap; at N = 512 that is a few dozen per axis.
    const step = Math.max(1, Math.ceil((FONT_PX + 2) / cell));
    ctx.fillStyle = getComputedStyle(document.body).getPropertyValue('--vscode-descriptionForeground').trim() || '#888';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let i = 0; i < this.n; i += step)
      ctx.fillText(this.labels[i], this.margin - 3, this.margin + (i + 0.5) * cell, this.margin - 4);
    ctx.save();
    ctx.translate(this.margin, this.margin);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    for (let j = 0; j < this.n; j += step) ctx.fillText(this.labels[j], 3, (j + 0.5) * cell, this.margin - 4);
    ctx.restore();
  }

  private drawOverlay(): void {
    const ctx = this.overlay.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (!this.cross || !this.n) return;
    const dpr = this.overlay.width / (this.margin + this.plot || 1);
    const cell = (this.plot / this.n) * dpr;
    const origin = this.margin * dpr;
    ctx.strokeStyle = this.focusColour;
    ctx.lineWidth = Math.max(1, dpr);
    ctx.strokeRect(0, origin + this.cross.row * cell, this.overlay.width, cell);
    ctx.strokeRect(origin + this.cross.col * cell, 0, cell, this.overlay.height);
  }
}
