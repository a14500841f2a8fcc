// Keeps one analysis's attention maps in the worker and cuts what the host asks for: one head, an
// aggregate over heads, or downsampled thumbnails. Every reply is a fresh ArrayBuffer of exactly its slice.
import { type Direction, type HeadScore, type HeadSelector, MAX_GRID_HEADS, type RankBy } from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import { Rollout, rankHeads } from './head-analysis';

/** Largest number of float32 cells in one thumbnails reply (2,048 heads at 24×24). */
export const MAX_THUMBNAIL_CELLS = 2048 * 24 * 24;

/**
 * The attention maps of one analysis: per layer, heads × N × N float32, row-major. A first-view analysis holds only
 * the layer its first heatmap shows (engine.ts shortStore); `fill` runs the whole pass the first time anything else
 * is needed, so the rest costs nothing until the panel asks (right after its first paint).
 */
export class AttentionStore {
  private rollout: Rollout | undefined;
  private filling: Promise<void> | undefined;

  constructor(
    readonly n: number,
    private readonly layers: (Float32Array | undefined)[],
    readonly heads: number[],
    private readonly fill?: () => Promise<Float32Array[]>,
  ) {
    if (!fill && layers.some((l) => !l)) throw new Error('an AttentionStore without every layer needs a fill');
  }

  /** Whether `layer` (every layer when undefined) is held now. */
  holds(layer?: number): boolean {
    return layer === undefined ? this.layers.every(Boolean) : Boolean(this.layers[layer]);
  }

  /**
   * Resolves once `layer` (every layer when undefined) is held, running the rest of the pass once if needed.
   * Layers already held keep their arrays: what the panel painted first stays what it reads later.
   */
  async ready(layer?: number): Promise<void> {
    if (this.holds(layer)) return;
    if (layer !== undefined) this.checkLayer(layer);
    this.filling ??= (this.fill as () => Promise<Float32Array[]>)().then(
      (all) => {
        all.forEach((data, l) => {
          this.layers[l] ??= data;
        });
      },
      (error) => {
        this.filling = undefined;
        throw error;
      },
    );
    await this.filling;
  }

  /** Layer `layer`'s maps; ready(layer) must have resolved. */
  private held(layer: number): Float32Array {
    const data = this.layers[layer];
    if (!data) throw new EngineError('internal', `layer ${layer}'s maps are not held yet.`);
    return data;
  }

  /** Every layer's maps; ready() must have resolved. */
  private all(): Float32Array[] {
    return this.layers.map((_, l) => this.held(l));
  }

  /** Every layer × head ranked by `by` (see head-analysis.ts). */
  rank(by: RankBy): HeadScore[] {
    const ok = (i: unknown) => Number.isInteger(i) && (i as number) >= 0 && (i as number) < this.n;
    if (by.kind === 'pair' && !(ok(by.query) && ok(by.key)))
      throw new EngineError('bad-input', `token indices must be 0 … ${this.n - 1}.`);
    if (!['pair', 'previous', 'first', 'self'].includes(by.kind))
      throw new EngineError('bad-input', `unknown ranking ${String(by.kind)}.`);
    return rankHeads(this.all(), this.heads, this.n, by);
  }

  /** Bytes held. */
  get bytes(): number {
    return this.layers.reduce((s, l) => s + (l?.byteLength ?? 0), 0);
  }

  /** One head's N×N matrix, or the mean / element-wise max over a layer's heads. */
  slice(layer: number, head: HeadSelector): Float32Array {
    this.checkLayer(layer);
    const n2 = this.n * this.n;
    const h = this.heads[layer];
    if (typeof head === 'number') {
      const data = this.held(layer);
      if (!Number.isInteger(head) || head < 0 || head >= h)
        throw new EngineError('bad-input', `head ${head} is out of range (layer ${layer} has ${h} heads).`);
      return data.slice(head * n2, (head + 1) * n2);
    }
    const out = new Float32Array(n2);
    if (head === 'rollout') {
      // Computed once per layer and kept; the reply must own its buffer, so copy.
      this.rollout ??= new Rollout(this.all(), this.heads, this.n);
      return this.rollout.upTo(layer).slice();
    }
    const data = this.held(layer);
    if (head === 'mean') {
      for (let k = 0; k < h; k++) for (let i = 0; i < n2; i++) out[i] += data[k * n2 + i];
      for (let i = 0; i < n2; i++) out[i] /= h;
    } else if (head === 'max') {
      out.set(data.subarray(0, n2));
      for (let k = 1; k < h; k++)
        for (let i = 0; i < n2; i++) {
          const v = data[k * n2 + i];
          if (v > out[i]) out[i] = v;
        }
    } else {
      throw new EngineError('bad-input', `unknown head selector ${String(head)}.`);
    }
    return out;
  }

  /** Token `index`'s row (or column) in every head of `layer`: heads × N, head-major. */
  rows(layer: number, index: number, direction: Direction): Float32Array {
    this.checkLayer(layer);
    const n = this.n;
    if (!Number.isInteger(index) || index < 0 || index >= n)
      throw new EngineError('bad-input', `token ${index} is out of range (N = ${n}).`);
    const h = this.heads[layer];
    const data = this.held(layer);
    const out = new Float32Array(h * n);
    for (let k = 0; k < h; k++) {
      const base = k * n * n;
      if (direction === 'row') out.set(data.subarray(base + index * n, base + (index + 1) * n), k * n);
      else for (let j = 0; j < n; j++) out[k * n + j] = data[base + j * n + index];
    }
    return out;
  }

  /**
   * Every layer × head, block-averaged to size×size (size ≤ N), concatenated layer-major. The side shrinks for
   * models with very many heads, so the grid never exceeds MAX_THUMBNAIL_CELLS numbers (~4.7 MB).
   */
  thumbnails(size: number): { size: number; data: Float32Array } {
    const total = this.heads.reduce((a, b) => a + b, 0);
    if (total > MAX_GRID_HEADS) return { size: 0, data: new Float32Array(0) };
    const fit = Math.floor(Math.sqrt(MAX_THUMBNAIL_CELLS / Math.max(1, total)));
    const s = Math.max(1, Math.min(Math.floor(size), this.n, fit));
    const out = new Float32Array(total * s * s);
    const n = this.n;
    const n2 = n * n;
    let o = 0;
    this.all().forEach((data, l) => {
      for (let h = 0; h < this.heads[l]; h++, o++) {
        const base = h * n2;
        const dst = o * s * s;
        for (let i = 0; i < n; i++) {
          const ti = Math.floor((i * s) / n);
          for (let j = 0; j < n; j++) out[dst + ti * s + Math.floor((j * s) / n)] += data[base + i * n + j];
        }
        // Average each block so thumbnails of any N share one scale.
        for (let ti = 0; ti < s; ti++) {
          const rows = Math.ceil(((ti + 1) * n) / s) - Math.ceil((ti * n) / s);
          for (let tj = 0; tj < s; tj++) {
            const cols = Math.ceil(((tj + 1) * n) / s) - Math.ceil((tj * n) / s);
            out[dst + ti * s + tj] /= Math.max(1, rows * cols);
          }
        }
      }
    });
    return { size: s, data: out };
  }

  private checkLayer(layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.layers.length) {
      throw new EngineError(
        'bad-input',
        `layer ${layer} is out of range (the model has ${this.layers.length} layers).`,
      );
    }
  }
}

/** The ArrayBuffer of a Float32Array that owns exactly its bytes (copied if it is a view onto more). */
export function ownBuffer(a: Float32Array): ArrayBuffer {
  if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer) return a.buffer;
  return a.slice().buffer as ArrayBuffer;
}
