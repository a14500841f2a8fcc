// One long analysis (N in the thousands): what the long graph kept — block-max overviews and the attention each key
// receives — and exact rows, columns and tiles recomputed on demand (long-run.ts). Nothing
// here holds an N × N map; a column is recomputed in bands of rows and only its entries are kept.
import type { Direction, HeadScore, HeadSelector, RankBy } from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import type { Operands } from './layer-operands';
import type { LongPass, LongRunner } from './long-run';

/** Rows recomputed per band when a column or an overview at another block side is asked for. */
const BAND = 256;

export class LongStore {
  readonly long = true;
  private filling: Promise<void> | undefined;

  /**
   * `pass` may hold one layer only (a first overview from a cut graph, LongRunner.runFirst); `fill` then runs the
   * whole pass the first time another layer (or every layer) is read — the panel asks for the grid right after its
   * first paint.
   */
  constructor(
    private pass: LongPass,
    private readonly runner: LongRunner,
    private readonly fill?: () => Promise<LongPass>,
  ) {}

  /** Whether `layer` (every layer when undefined) is held now. */
  holds(layer?: number): boolean {
    const o = this.pass.overview;
    return layer === undefined ? o.every((a) => a.length > 0) : (o[layer]?.length ?? 0) > 0;
  }

  /**
   * Resolves once `layer` (every layer when undefined) is held, running the whole pass once if needed. The layer
   * that came first keeps its tensors, so what the panel painted and computes rows from stays what it reads later.
   */
  async ready(layer?: number): Promise<void> {
    if (this.holds(layer) || !this.fill) return;
    // A layer out of range gets the clear refusal of the method asking, not a whole pass first.
    if (layer !== undefined && !(Number.isInteger(layer) && layer >= 0 && layer < this.pass.overview.length)) return;
    this.filling ??= this.fill().then(
      (whole) => {
        const first = this.pass;
        const had = (l: number) => first.overview[l].length > 0;
        // A tensor every layer reads (the mask) is the whole pass's, so it is held once.
        const uses = new Map<unknown, number>();
        for (const m of whole.inputs) for (const t of m.values()) uses.set(t, (uses.get(t) ?? 0) + 1);
        this.pass = {
          ...whole,
          overview: whole.overview.map((a, l) => (had(l) ? first.overview[l] : a)),
          received: whole.received.map((a, l) => (had(l) ? first.received[l] : a)),
          inputs: whole.inputs.map((m, l) =>
            had(l)
              ? new Map(
                  [...first.inputs[l]].map(([name, t]) => {
                    const theirs = m.get(name);
                    return [name, theirs && (uses.get(theirs) ?? 0) > 1 ? theirs : t];
                  }),
                )
              : m,
          ),
        };
      },
      (error) => {
        this.filling = undefined;
        throw error;
      },
    );
    await this.filling;
  }

  get n(): number {
    return this.pass.n;
  }

  get heads(): number[] {
    return this.pass.heads;
  }

  get block(): number {
    return this.pass.block;
  }

  /** Cells per side of an overview. */
  get size(): number {
    return Math.ceil(this.pass.n / this.pass.block);
  }

  /** Bytes kept: the reductions and the tensors exact rows are recomputed from. */
  get bytes(): number {
    const p = this.pass;
    let total = 0;
    for (const a of [...p.overview, ...p.received]) total += a.byteLength;
    const seen = new Set<unknown>();
    for (const m of p.inputs)
      for (const t of m.values()) {
        if (seen.has(t.data)) continue;
        seen.add(t.data);
        total += (t.data as { byteLength: number }).byteLength;
      }
    return total;
  }

  /** One head's block-max overview (size²), or the mean / max over the layer's heads of theirs (ready(layer) first). */
  overview(layer: number, head: HeadSelector): Float32Array {
    return this.perHead(this.pass.overview, layer, head, this.size * this.size);
  }

  /** The attention each token receives: one head's column sums, or the heads' mean / max (ready(layer) first). */
  received(layer: number, head: HeadSelector): Float32Array {
    return this.perHead(this.pass.received, layer, head, this.pass.n);
  }

  /** Exact rows [from, to) of every head: heads × (to − from) × N. */
  async band(layer: number, from: number, to: number): Promise<Float32Array> {
    this.checkLayer(layer);
    await this.ready(layer);
    return this.runner.rows(this.pass, layer, from, to);
  }

  /** Token `index`'s row (or column) in every head of `layer`: heads × N, head-major — exact. */
  async rows(layer: number, index: number, direction: Direction): Promise<Float32Array> {
    this.checkIndex(index);
    const n = this.pass.n;
    if (direction === 'row') return this.band(layer, index, index + 1);
    const h = this.heads[layer];
    const out = new Float32Array(h * n);
    // A column needs every row; causal rows above `index` are zero there, but the mask decides that, not us.
    for (let from = 0; from < n; from += BAND) {
      const to = Math.min(n, from + BAND);
      const band = await this.band(layer, from, to);
      const r = to - from;
      for (let k = 0; k < h; k++) for (let i = 0; i < r; i++) out[k * n + from + i] = band[(k * r + i) * n + index];
    }
    return out;
  }

  /** One layer's operands for rows computed in the panel (long-run.ts), or why not. */
  async operands(layer: number, kvHeads: number): Promise<Operands | { unavailable: string }> {
    this.checkLayer(layer);
    await this.ready(layer);
    return this.runner.operands(this.pass, layer, kvHeads);
  }

  /** The exact tile rows [row, row + size) × keys [col, col + size) of one head (clipped to N), row-major. */
  async tile(
    layer: number,
    head: number,
    row: number,
    col: number,
    size: number,
  ): Promise<{ rows: number; cols: number; data: Float32Array }> {
    this.checkHead(layer, head);
    this.checkIndex(row);
    this.checkIndex(col);
    if (!(Number.isInteger(size) && size >= 1 && size <= 1024))
      throw new EngineError('bad-input', `a tile is 1 … 1024 cells wide (got ${size}).`);
    await this.ready(layer);
    return this.runner.tile(this.pass, layer, head, row, col, size);
  }

  /**
   * One head's overview at block side `block` (⌈N/block⌉²): pooled from the kept overview when `block` is a multiple
   * of the graph's, else from exact rows recomputed in bands.
   */
  async overviewAt(layer: number, head: number, block: number): Promise<{ size: number; data: Float32Array }> {
    this.checkHead(layer, head);
    if (!(Number.isInteger(block) && block >= 1))
      throw new EngineError('bad-input', `the block must be ≥ 1 (got ${block}).`);
    await this.ready(layer);
    const n = this.pass.n;
    const size = Math.ceil(n / block);
    const out = new Float32Array(size * size);
    if (block % this.block === 0) {
      const f = block / this.block;
      const m = this.size;
      const src = this.overview(layer, head);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          const at = Math.floor(i / f) * size + Math.floor(j / f);
          if (src[i * m + j] > out[at]) out[at] = src[i * m + j];
        }
      return { size, data: out };
    }
    for (let from = 0; from < n; from += BAND) {
      const to = Math.min(n, from + BAND);
      const band = await this.band(layer, from, to);
      const r = to - from;
      const base = head * r * n;
      for (let i = 0; i < r; i++)
        for (let j = 0; j < n; j++) {
          const at = Math.floor((from + i) / block) * size + Math.floor(j / block);
          const v = band[base + i * n + j];
          if (v > out[at]) out[at] = v;
        }
    }
    return { size, data: out };
  }

  /** The layer × head grid from the overviews (ready() first): each head's overview max-pooled, layer-major. */
  thumbnails(size: number): { size: number; data: Float32Array } {
    if (!this.holds()) throw new EngineError('internal', 'the layers of this long analysis are not all held yet.');
    const m = this.size;
    const s = Math.max(1, Math.min(Math.floor(size), m));
    const total = this.heads.reduce((a, b) => a + b, 0);
    const out = new Float32Array(total * s * s);
    let o = 0;
    this.pass.overview.forEach((data, l) => {
      for (let h = 0; h < this.heads[l]; h++, o++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < m; j++) {
            const at = o * s * s + Math.floor((i * s) / m) * s + Math.floor((j * s) / m);
            const v = data[h * m * m + i * m + j];
            if (v > out[at]) out[at] = v;
          }
    });
    return { size: s, data: out };
  }

  /** Head ranking: a token pair (exact rows of that query) and "first token" (from the received sums). */
  async rank(by: RankBy): Promise<HeadScore[]> {
    await this.ready();
    const n = this.pass.n;
    const scores: HeadScore[] = [];
    if (by.kind === 'pair') {
      this.checkIndex(by.query);
      this.checkIndex(by.key);
      for (let l = 0; l < this.heads.length; l++) {
        const row = await this.band(l, by.query, by.query + 1);
        for (let h = 0; h < this.heads[l]; h++) scores.push({ layer: l, head: h, weight: row[h * n + by.key] });
      }
    } else if (by.kind === 'first') {
      this.pass.received.forEach((r, l) => {
        for (let h = 0; h < this.heads[l]; h++) scores.push({ layer: l, head: h, weight: r[h * n] / n });
      });
    } else
      throw new EngineError(
        'bad-input',
        `ranking by "${String(by.kind)}" needs every full map; on a long input rank by a token pair or by the first token.`,
      );
    return scores.sort((a, b) => b.weight - a.weight);
  }

  private perHead(arrays: Float32Array[], layer: number, head: HeadSelector, size: number): Float32Array {
    this.checkLayer(layer);
    const data = arrays[layer];
    if (data.length === 0) throw new EngineError('internal', `layer ${layer} of this long analysis is not held yet.`);
    const h = this.heads[layer];
    if (typeof head === 'number') {
      this.checkHead(layer, head);
      return data.slice(head * size, (head + 1) * size);
    }
    if (head !== 'mean' && head !== 'max')
      throw new EngineError(
        'bad-input',
        `a long input shows single heads, their mean or their max (not ${String(head)}).`,
      );
    const out = new Float32Array(size);
    for (let k = 0; k < h; k++)
      for (let i = 0; i < size; i++) {
        const v = data[k * size + i];
        out[i] = head === 'mean' ? out[i] + v / h : Math.max(out[i], v);
      }
    return out;
  }

  private checkLayer(layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.heads.length)
      throw new EngineError('bad-input', `layer ${layer} is out of range (the model has ${this.heads.length} layers).`);
  }

  private checkHead(layer: number, head: number): void {
    this.checkLayer(layer);
    if (!Number.isInteger(head) || head < 0 || head >= this.heads[layer])
      throw new EngineError(
        'bad-input',
        `head ${head} is out of range (layer ${layer} has ${this.heads[layer]} heads).`,
      );
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pass.n)
      throw new EngineError('bad-input', `token ${index} is out of range (N = ${this.pass.n}).`);
  }
}
