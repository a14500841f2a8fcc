// Runs a model's long graph (long-surgery.ts) and recomputes exact rows from what it kept. One per loaded model: the
// long session is built for a block side and rebuilt when an analysis needs another; the rows sessions (one small
// graph per layer, no weights) are built on first use and kept.
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type LayerOperands, localRows, localTile } from '../protocol/local-rows';
import type { RowRecipe } from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import { halfToFloat } from './float16';
import { LOCAL_TOLERANCE, maskRecipe, type Operands, sharedKeyHeads } from './layer-operands';
import { BANDS } from './long-chunks';
import { fusedOperands } from './long-fused';
import { exposeLongInFile, type LongSurgery, longPrefixInFile, rowsModelBytes } from './long-surgery';
import { createFromBytes, feedsFor, type LoadedModel } from './model-runner';

/** What one long pass kept: per layer the reductions and the rows graph's inputs. */
export interface LongPass {
  n: number;
  block: number;
  heads: number[];
  overview: Float32Array[];
  received: Float32Array[];
  /** Per layer, the rows graph's inputs by name (Q, the K side and the sides the scores read). */
  inputs: Map<string, ort.Tensor>[];
}

const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (
  ...a: unknown[]
) => Promise<ort.InferenceSession>;

function floats(t: ort.Tensor | undefined, name: string): Float32Array {
  if (t?.type === 'float16') return halfToFloat(t.data as Uint16Array);
  if (t?.type !== 'float32') throw new EngineError('bad-model', `long-input output ${name} is missing or not float.`);
  return t.data as Float32Array;
}

/** Slices one axis of a tensor to [from, to), keeping the others. */
function sliceAxis(t: ort.Tensor, axis: number, from: number, to: number): ort.Tensor {
  const dims = t.dims;
  const n = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const data = t.data as unknown as { subarray(a: number, b: number): ArrayLike<unknown> };
  const Ctor = (
    t.data as unknown as { constructor: new (n: number) => { set(a: ArrayLike<unknown>, o: number): void } }
  ).constructor;
  const out = new Ctor(outer * (to - from) * inner);
  for (let o = 0; o < outer; o++)
    out.set(data.subarray((o * n + from) * inner, (o * n + to) * inner), o * (to - from) * inner);
  const shape = [...dims];
  shape[axis] = to - from;
  return new ort.Tensor(t.type as 'float32', out as unknown as Float32Array, shape);
}

/** Slices axis −2 (the query rows) to [from, to). */
function sliceRows(t: ort.Tensor, from: number, to: number): ort.Tensor {
  return sliceAxis(t, t.dims.length - 2, from, to);
}

/** The model's failure on a long input, as a typed error with its first line. */
function failed(error: unknown): EngineError {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
  return new EngineError('bad-model', `the model failed on the long input (${message}).`);
}

/** One layer's maps (heads × N² × 4 bytes; a band's when banded) from which the long session is released after its pass. */
const RELEASE_AFTER_BYTES = 256 * 2 ** 20;

export class LongRunner {
  private surgery: LongSurgery | undefined;
  private session: ort.InferenceSession | undefined;
  private readonly rowSessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(private readonly model: LoadedModel) {}

  /** Counts long passes: a warm-up for an earlier pass stops when a new one starts (see warmAll). */
  private passes = 0;

  /** How many long passes have started (a caller compares it to know whether a newer one began). */
  get passCount(): number {
    return this.passes;
  }

  /** The model file (long inputs are read from files only). */
  private path(): string {
    const path = this.model.modelPath;
    if (!path)
      throw new EngineError(
        'bad-input',
        `${this.model.id} was loaded from memory, not from a file; long inputs are analysed from model files only.`,
      );
    return path;
  }

  /** The long graph for `block` (its names are what rows graphs and cuts read); another block drops the session. */
  private async surgeryFor(block: number): Promise<LongSurgery> {
    if (this.surgery?.block === block) return this.surgery;
    const path = this.path();
    await this.session?.release();
    this.session = undefined;
    this.surgery = exposeLongInFile(path, this.model.id, basename(path), block, this.model.attentionRanks);
    // Rows graphs do not depend on the block, but their tensor names come from this surgery.
    this.prepared.clear();
    return this.surgery;
  }

  /** Passes under way (dispose waits for them: a session is never released under its own run). */
  private readonly running = new Set<Promise<unknown>>();

  private tracked<T>(pass: Promise<T>): Promise<T> {
    this.running.add(pass);
    const done = () => this.running.delete(pass);
    pass.then(done, done);
    return pass;
  }

  /** Cut graphs by block and layer (a few hundred KB each: the weights stay in the model file). */
  private readonly cuts = new Map<string, Uint8Array | undefined>();

  /**
   * Layer `layer` alone, for a first overview: the long graph cut after that layer (longPrefixInFile) keeps what a
   * whole pass keeps for it, at the cost of the layers up to it (layer 0 of 30 on the SmolLM2 shape: a thirtieth of
   * the pass). Its session goes right after, so it never holds weights beside the long session. The other layers
   * hold nothing (empty arrays) until a whole pass fills them. Undefined when the graph cannot be cut.
   */
  async runFirst(ids: number[], block: number, layer: number): Promise<LongPass | undefined> {
    this.passes++;
    const path = this.path();
    const { layers } = await this.surgeryFor(block);
    const spec = layers[layer];
    if (!spec) return undefined;
    const key = `${block}:${layer}`;
    if (!this.cuts.has(key))
      this.cuts.set(
        key,
        longPrefixInFile(path, this.model.id, basename(path), block, this.model.attentionRanks, layer),
      );
    const bytes = this.cuts.get(key);
    if (!bytes) return undefined;
    const run = async () => {
      const session = await createFromBytes(
        create,
        this.model.id,
        bytes,
        { intraOpNumThreads: availableParallelism() },
        this.model.folder,
      );
      try {
        return await session.run(feedsFor(session, ids), [
          ...new Set([spec.overview, spec.received, spec.q, spec.k, ...spec.sides]),
        ]);
      } finally {
        await session.release();
      }
    };
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.tracked(run());
    } catch (error) {
      throw failed(error);
    }
    const empty = () => new Float32Array(0);
    const heads = [...this.model.info.heads];
    heads[layer] = result[spec.received].dims.slice(0, -1).reduce((a, b) => a * b, 1);
    return {
      n: ids.length,
      block,
      heads,
      overview: layers.map((l, i) => (i === layer ? floats(result[l.overview], l.overview) : empty())),
      received: layers.map((l, i) => (i === layer ? floats(result[l.received], l.received) : empty())),
      inputs: layers.map((l, i) =>
        i === layer ? new Map([l.q, l.k, ...l.sides].map((name) => [name, result[name]])) : new Map(),
      ),
    };
  }

  /** Runs the long graph on `ids`; every full map is reduced in the graph and freed there. */
  async run(ids: number[], block: number): Promise<LongPass> {
    this.passes++;
    const { layers } = await this.surgeryFor(block);
    if (!this.session || !this.surgery) {
      // With onnxruntime's arena, as the plain model runs: without it every N² buffer is freshly faulted in by the
      // kernel on every pass (measured at N = 4,096: 75 % system time, several times slower). And with one intra-op
      // thread per core: onnxruntime's default ran one thread on this 2-core machine, and a pass at N = 2,048 took
      // 8.5 s instead of 4.4 s.
      this.session = await createFromBytes(
        create,
        this.model.id,
        (this.surgery as LongSurgery).bytes,
        { intraOpNumThreads: availableParallelism() },
        this.model.folder,
      );
    }
    const fetch = [...new Set(layers.flatMap((l) => [l.overview, l.received, l.q, l.k, ...l.sides]))];
    let result: ort.InferenceSession.OnnxValueMapType;
    const session = this.session;
    try {
      result = await this.tracked(session.run(feedsFor(session, ids), fetch));
      // onnxruntime's arena keeps a pass's peak and grows on the next one (measured at N = 8,192: 16.8 GB after two
      // passes). Once one layer's maps pass RELEASE_AFTER_BYTES the session goes after its pass: the next long
      // analysis rebuilds it (seconds, against a pass of tens of seconds there).
      const n = ids.length;
      const held = Math.max(...this.model.info.heads) * n * n * 4;
      // A banded layer holds one band's maps at a time.
      const banded = layers.every((l) => l.banded);
      if ((banded ? held / BANDS : held) >= RELEASE_AFTER_BYTES && this.session === session) {
        await session.release();
        this.session = undefined;
      }
    } catch (error) {
      throw failed(error);
    }
    const n = ids.length;
    const heads = layers.map((l) => result[l.received].dims.slice(0, -1).reduce((a, b) => a * b, 1));
    return {
      n,
      block,
      heads,
      overview: layers.map((l) => floats(result[l.overview], l.overview)),
      received: layers.map((l) => floats(result[l.received], l.received)),
      inputs: layers.map((l) => new Map([l.q, l.k, ...l.sides].map((name) => [name, result[name]]))),
    };
  }

  /** Exact rows [from, to) of every head of `layer`: heads × (to − from) × N, head-major. */
  async rows(pass: LongPass, layer: number, from: number, to: number): Promise<Float32Array> {
    const spec = this.spec(layer);
    const n = pass.n;
    if (spec.fused) {
      const op = await this.fusedOf(pass, layer);
      const count = to - from;
      const out = new Float32Array(op.heads * count * n);
      for (let i = from; i < to; i++) {
        const r = localRows(op, i);
        for (let h = 0; h < op.heads; h++) out.set(r.subarray(h * n, (h + 1) * n), (h * count + i - from) * n);
      }
      return out;
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of pass.inputs[layer]) {
      const d = t.dims;
      const queryByKey = d.length >= 2 && d[d.length - 2] === n && d[d.length - 1] === n;
      feeds[name] = name === spec.q || (name !== spec.k && queryByKey) ? sliceRows(t, from, to) : t;
    }
    return this.runPiece(layer, 'rows', feeds);
  }

  /**
   * Exact rows [from, to) of ONE head: its Q rows against its slice of K after the K side (computed once per layer
   * and kept for the last layers asked), so a tile costs one head's product and Softmax, not every head's.
   */
  async headRows(pass: LongPass, layer: number, head: number, from: number, to: number): Promise<Float32Array> {
    const spec = this.spec(layer);
    const n = pass.n;
    const heads = pass.heads[layer];
    const kEnd = await this.kEndOf(pass, layer);
    const feeds: Record<string, ort.Tensor> = {};
    const oneHead = (t: ort.Tensor) =>
      t.dims.length === 4 && t.dims[1] === heads ? sliceAxis(t, 1, head, head + 1) : t;
    feeds[spec.kEnd] = oneHead(kEnd);
    for (const [name, t] of pass.inputs[layer]) {
      if (name === spec.k) continue;
      const d = t.dims;
      const queryByKey = d.length >= 2 && d[d.length - 2] === n && d[d.length - 1] === n;
      feeds[name] = oneHead(name === spec.q || queryByKey ? sliceRows(t, from, to) : t);
    }
    if (!(kEnd.dims.length === 4 && kEnd.dims[1] === heads) || !feeds[spec.q] || feeds[spec.q].dims[1] !== 1)
      return (await this.rows(pass, layer, from, to)).slice(head * (to - from) * n, (head + 1) * (to - from) * n);
    return this.runPiece(layer, 'head', feeds);
  }

  /** The exact tile rows [row, row + size) × keys [col, col + size) of one head (clipped to N), row-major. */
  async tile(
    pass: LongPass,
    layer: number,
    head: number,
    row: number,
    col: number,
    size: number,
  ): Promise<{ rows: number; cols: number; data: Float32Array }> {
    if (this.spec(layer).fused) return localTile(await this.fusedOf(pass, layer), head, row, col, size);
    const n = pass.n;
    const rows = Math.min(size, n - row);
    const cols = Math.min(size, n - col);
    const band = await this.headRows(pass, layer, head, row, row + rows);
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) data.set(band.subarray(i * n + col, i * n + col + cols), i * cols);
    return { rows, cols, data };
  }

  /** A GroupQueryAttention layer's checked operands (long-fused.ts), the last three layers kept; refused with why. */
  private async fusedOf(pass: LongPass, layer: number): Promise<Operands> {
    const got = await this.fusedChecked(pass, layer);
    if ('unavailable' in got)
      throw new EngineError(
        'bad-model',
        `exact rows of layer ${layer} cannot be computed for this GroupQueryAttention graph (${got.unavailable}); its overview and received sums are exact.`,
      );
    return got;
  }

  private readonly fusedKept = new Map<number, Operands | { unavailable: string }>();
  private fusedFor: LongPass | undefined;

  private async fusedChecked(pass: LongPass, layer: number): Promise<Operands | { unavailable: string }> {
    if (this.fusedFor !== pass) {
      this.fusedKept.clear();
      this.fusedFor = pass;
    }
    const kept = this.fusedKept.get(layer);
    if (kept) return kept;
    const spec = this.spec(layer);
    const fused = spec.fused!;
    const n = pass.n;
    const tensors = pass.inputs[layer];
    const [query, key, samples] = [fused.query, fused.key, fused.samples].map((name) => tensors.get(name));
    let result: Operands | { unavailable: string };
    if (fused.unavailable) result = { unavailable: fused.unavailable };
    else if (![query, key, samples].every((t) => t?.type === 'float32'))
      result = { unavailable: 'the op reads float16 activations' };
    else {
      const op = fusedOperands(fused, query as never, key as never, n);
      if ('unavailable' in op) result = op;
      else {
        // Checked against the op's own rows 0, ⌊N/2⌋ and N − 1, which the long graph returned.
        const own = (samples as ort.Tensor).data as Float32Array;
        let worst = 0;
        [0, n >> 1, n - 1].forEach((i, s) => {
          const mine = localRows(op, i);
          for (let h = 0; h < op.heads; h++)
            for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(mine[h * n + j] - own[(h * 3 + s) * n + j]));
        });
        result =
          worst <= LOCAL_TOLERANCE
            ? { ...op, checked: { rows: 3, worst } }
            : {
                unavailable: `rows computed from its queries and keys differ from its own by ${worst.toExponential(1)}`,
              };
      }
    }
    if (this.fusedKept.size >= 3) this.fusedKept.delete(this.fusedKept.keys().next().value!);
    this.fusedKept.set(layer, result);
    return result;
  }

  private readonly prepared = new Map<string, ort.Tensor>();
  private preparedFor: LongPass | undefined;

  /** K as the layer's product reads it (after the repeat / transpose / scale), computed once per layer and kept. */
  private async kEndOf(pass: LongPass, layer: number): Promise<ort.Tensor> {
    const spec = this.spec(layer);
    let kEnd = this.prepared.get(`${pass.n}:${layer}`);
    if (!kEnd || this.preparedFor !== pass) {
      if (this.preparedFor !== pass) this.prepared.clear();
      this.preparedFor = pass;
      const k = pass.inputs[layer].get(spec.k)!;
      const session = await this.session_(layer, 'prep', [{ name: spec.k, type: k.type, rank: k.dims.length }]);
      kEnd = (await session.run({ [spec.k]: k }, [spec.kEnd]))[spec.kEnd];
      // The last three layers' K stay ready (panning and zooming stay in one layer).
      if (this.prepared.size >= 3) this.prepared.delete(this.prepared.keys().next().value!);
      this.prepared.set(`${pass.n}:${layer}`, kEnd);
    }
    return kEnd;
  }

  /**
   * One layer's operands for rows computed in the panel (local-rows.ts): Q and K as the product reads them, the recipe
   * from scores to weights, checked here on sample rows against this engine's rows; or why not.
   */
  async operands(pass: LongPass, layer: number, kvHeads: number): Promise<Operands | { unavailable: string }> {
    const spec = this.spec(layer);
    if (spec.fused) return this.fusedChecked(pass, layer);
    const n = pass.n;
    if ('unavailable' in spec.chain) return { unavailable: spec.chain.unavailable };
    const q = pass.inputs[layer].get(spec.q)!;
    if (q.type !== 'float32') return { unavailable: 'the queries are not float32' };
    const [one, heads, rows, dim] = q.dims;
    if (q.dims.length !== 4 || one !== 1 || rows !== n) return { unavailable: `the queries are shaped [${q.dims}]` };
    const kEnd = await this.kEndOf(pass, layer);
    if (kEnd.type !== 'float32' || kEnd.dims.length !== 4 || kEnd.dims[1] !== heads || kEnd.dims[2] !== dim)
      return { unavailable: `the keys are shaped [${kEnd.dims}]` };
    const k = kEnd.data as Float32Array;
    const keyHeads = sharedKeyHeads(k, heads, kvHeads, dim * n);
    // The product reads K as dim × N per head; the panel gets each key as a row (its sums run along memory).
    const keys = new Float32Array(keyHeads * n * dim);
    const group = heads / keyHeads;
    for (let g = 0; g < keyHeads; g++) {
      const src = g * group * dim * n;
      const dst = g * n * dim;
      for (let t = 0; t < dim; t++) for (let j = 0; j < n; j++) keys[dst + j * dim + t] = k[src + t * n + j];
    }
    let mask: Pick<RowRecipe, 'causal' | 'window'> | { unavailable: string } = { causal: false, window: 0 };
    if (spec.chain.mask) {
      const side = pass.inputs[layer].get(spec.chain.mask)!;
      mask = this.masks.get(side) ?? maskRecipe(side, n);
      this.masks.set(side, mask);
    }
    if ('unavailable' in mask) return mask;
    const op: LayerOperands = {
      heads,
      keyHeads,
      n,
      dim,
      recipe: { steps: spec.chain.steps, ...mask },
      q: q.data as Float32Array,
      k: keys,
    };
    // The panel's rows must be the engine's: the first, middle and last queries are compared in every head.
    let worst = 0;
    const sample = [...new Set([0, n >> 1, n - 1])];
    for (const i of sample) {
      const local = localRows(op, i);
      const exact = await this.rows(pass, layer, i, i + 1);
      for (let j = 0; j < exact.length; j++) worst = Math.max(worst, Math.abs(local[j] - exact[j]));
    }
    if (!(worst <= LOCAL_TOLERANCE))
      return { unavailable: `rows from the operands differ from the engine's by ${worst.toExponential(1)}` };
    return { ...op, checked: { rows: sample.length, worst } };
  }

  private readonly masks = new WeakMap<ort.Tensor, Pick<RowRecipe, 'causal' | 'window'> | { unavailable: string }>();

  /**
   * Builds every layer's rows graphs now and runs them once (one after another), so the first hover or tile on a
   * layer does not wait: a session's first run plans its memory (measured at N = 4,096: 56–63 ms, then 1–2 ms a row).
   */
  async warm(pass: LongPass): Promise<void> {
    this.warming = this.warmAll(pass);
    return this.warming;
  }

  /** True while the long session is kept between analyses (it is released after passes with large maps). */
  get holdsSession(): boolean {
    return this.session !== undefined;
  }

  /** The warm-up under way (benchmarks wait for it before timing rows). */
  warming: Promise<void> = Promise.resolve();

  private async warmAll(pass: LongPass): Promise<void> {
    // A fused layer has no rows graphs to build.
    if (this.surgery?.layers.some((l) => l.fused)) return;
    // A new analysis stops this one: it would compete with the new pass for the cores (building a layer's rows
    // graphs takes tens of ms), and the new pass starts a warm-up of its own. Graphs already built are kept.
    const own = this.passes;
    for (let l = 0; l < pass.inputs.length && this.passes === own; l++) {
      await this.rows(pass, l, 0, 1).catch(() => undefined);
      await this.headRows(pass, l, 0, 0, 1).catch(() => undefined);
    }
  }

  private spec(layer: number) {
    const spec = this.surgery?.layers[layer];
    if (!spec) throw new EngineError('unknown-analysis', 'the long graph of this analysis is gone; run it again.');
    return spec;
  }

  private async runPiece(
    layer: number,
    kind: 'rows' | 'head',
    feeds: Record<string, ort.Tensor>,
  ): Promise<Float32Array> {
    const spec = this.spec(layer);
    const inputs = Object.entries(feeds).map(([name, t]) => ({ name, type: t.type, rank: t.dims.length }));
    const session = await this.session_(layer, kind, inputs);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(feeds, [spec.probs]);
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
      throw new EngineError('bad-model', `exact rows could not be recomputed for layer ${layer} (${message}).`);
    }
    return floats(out[spec.probs], spec.probs);
  }

  /** A layer's rows / prep / head graph session, built on first use and kept. */
  private session_(
    layer: number,
    kind: 'rows' | 'prep' | 'head',
    inputs: { name: string; type: string; rank: number }[],
  ): Promise<ort.InferenceSession> {
    const key = `${kind}:${layer}`;
    let s = this.rowSessions.get(key);
    if (!s) {
      const path = this.model.modelPath!;
      s = createFromBytes(
        create,
        this.model.id,
        rowsModelBytes(path, basename(path), this.spec(layer)[kind], inputs),
        { intraOpNumThreads: availableParallelism() },
        this.model.folder,
      );
      s.catch(() => this.rowSessions.delete(key));
      this.rowSessions.set(key, s);
    }
    return s;
  }

  async dispose(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.session?.release();
    this.session = undefined;
    for (const s of this.rowSessions.values()) await (await s.catch(() => undefined))?.release();
    this.rowSessions.clear();
  }
}
