// The N×N matrix on one canvas (never one element per cell), scaled for devicePixelRatio.
import { viridis } from './color-scale';

/** Draws and hit-tests an attention matrix. */
export class Heatmap {
  private matrix: Float32Array | undefined;
  private n = 0;
  private causal = false;
  private hidden: boolean[] = [];
  private cross: { row: number; col: number } | undefined;

  constructor(readonly canvas: HTMLCanvasElement, private readonly sizePx: () => number) {}

  /** Sets the matrix; `hidden[i]` greys row/column i (hidden special tokens). */
  set(matrix: Float32Array, n: number, causal: boolean, hidden: boolean[]): void {
    this.matrix = matrix;
    this.n = n;
    this.causal = causal;
    this.hidden = hidden;
    this.draw();
  }

  /** Marks a cell with a crosshair (or clears it). */
  crosshair(cell: { row: number; col: number } | undefined): void {
    this.cross = cell;
    this.draw();
  }

  /** The cell under a mouse event. */
  cellAt(ev: MouseEvent): { row: number; col: number } | undefined {
    if (!this.n) return undefined;
    const r = this.canvas.getBoundingClientRect();
    const col = Math.floor(((ev.clientX - r.left) / r.width) * this.n);
    const row = Math.floor(((ev.clientY - r.top) / r.height) * this.n);
    return row >= 0 && col >= 0 && row < this.n && col < this.n ? { row, col } : undefined;
  }

  /** Redraws at the current size and pixel ratio. */
  draw(): void {
    const m = this.matrix;
    const n = this.n;
    if (!m || !n) return;
    const css = this.sizePx();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.style.width = `${css}px`;
    this.canvas.style.height = `${css}px`;
    this.canvas.width = Math.round(css * dpr);
    this.canvas.height = Math.round(css * dpr);
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    // One pixel per cell, then scaled up without smoothing: O(N²) work, no per-cell draw calls.
    const img = new ImageData(n, n);
    let max = 0;
    for (let i = 0; i < m.length; i++) if (m[i] > max) max = m[i];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const o = (i * n + j) * 4;
      if ((this.causal && j > i) || this.hidden[i] || this.hidden[j]) {
        // Masked or hidden cells are grey with a checker, never drawn as zero weights.
        const v = (i + j) % 2 === 0 ? 128 : 96;
        img.data[o] = v; img.data[o + 1] = v; img.data[o + 2] = v; img.data[o + 3] = 90;
        continue;
      }
      const [r, g, b] = viridis(max > 0 ? m[i * n + j] / max : 0);
      img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = 255;
    }
    const off = new OffscreenCanvas(n, n);
    off.getContext('2d')!.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(off, 0, 0, this.canvas.width, this.canvas.height);
    if (this.cross) {
      const cell = this.canvas.width / n;
      ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue('--vscode-focusBorder') || '#fff';
      ctx.lineWidth = Math.max(1, dpr);
      ctx.strokeRect(0, this.cross.row * cell, this.canvas.width, cell);
      ctx.strokeRect(this.cross.col * cell, 0, cell, this.canvas.height);
    }
  }
}
