// Runs a model's long graph (long-surgery.ts) and recomputes exact rows from what it kept. One per loaded model: the
// long session is built for a block side and rebuilt when an analysis needs another; the rows sessions (one small
// graph per layer, no weights) are built on first use and kept.
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from '../protocol/rpc';
import { halfToFloat } from './float16';
import { exposeLongInFile, type LongSurgery, rowsModelBytes } from './long-surgery';
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

/** Slices axis −2 of a tensor to [from, to) (the query rows), keeping every leading axis. */
function sliceRows(t: ort.Tensor, from: number, to: number): ort.Tensor {
  const dims = t.dims;
  const n = dims[dims.length - 2];
  const inner = dims[dims.length - 1];
  const outer = dims.slice(0, -2).reduce((a, b) => a * b, 1);
  const data = t.data as unknown as { subarray(a: number, b: number): ArrayLike<unknown>; constructor: unknown };
  const Ctor = (
    t.data as unknown as { constructor: new (n: number) => { set(a: ArrayLike<unknown>, o: number): void } }
  ).constructor;
  const out = new Ctor(outer * (to - from) * inner);
  for (let o = 0; o < outer; o++)
    out.set(data.subarray((o * n + from) * inner, (o * n + to) * inner), o * (to - from) * inner);
  return new ort.Tensor(t.type as 'float32', out as unknown as Float32Array, [...dims.slice(0, -2), to - from, inner]);
}

export class LongRunner {
  private surgery: LongSurgery | undefined;
  private session: ort.InferenceSession | undefined;
  private readonly rowSessions = new Map<number, Promise<ort.InferenceSession>>();

  constructor(private readonly model: LoadedModel) {}

  /** Runs the long graph on `ids`; every full map is reduced in the graph and freed there. */
  async run(ids: number[], block: number): Promise<LongPass> {
    const path = this.model.modelPath;
    if (!path)
      throw new EngineError(
        'bad-input',
        `${this.model.id} was loaded from memory, not from a file; long inputs are analysed from model files only.`,
      );
    if (!this.surgery || this.surgery.block !== block || !this.session) {
      await this.session?.release();
      this.session = undefined;
      this.surgery = exposeLongInFile(path, this.model.id, basename(path), block, this.model.attentionRanks);
      // With onnxruntime's arena, as the plain model runs: without it every N² buffer is freshly faulted in by the
      // kernel on every pass (measured at N = 4,096: 75 % system time, several times slower). And with one intra-op
      // thread per core: onnxruntime's default ran one thread on this 2-core machine, and a pass at N = 2,048 took
      // 8.5 s instead of 4.4 s.
      this.session = await createFromBytes(
        create,
        this.model.id,
        this.surgery.bytes,
        { intraOpNumThreads: availableParallelism() },
        this.model.folder,
      );
    }
    const { layers } = this.surgery;
    const fetch = [...new Set(layers.flatMap((l) => [l.overview, l.received, l.q, l.k, ...l.sides]))];
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run(feedsFor(this.session, ids), fetch);
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
      throw new EngineError('bad-model', `the model failed on the long input (${message}).`);
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
    const spec = this.surgery?.layers[layer];
    if (!spec) throw new EngineError('unknown-analysis', 'the long graph of this analysis is gone; run it again.');
    const session = await this.rowSession(layer, pass);
    const given = pass.inputs[layer];
    const n = pass.n;
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of given) {
      const d = t.dims;
      const queryByKey = d.length >= 2 && d[d.length - 2] === n && d[d.length - 1] === n;
      feeds[name] = name === spec.q || (name !== spec.k && queryByKey) ? sliceRows(t, from, to) : t;
    }
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(feeds, [spec.probs]);
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
      throw new EngineError('bad-model', `exact rows could not be recomputed for layer ${layer} (${message}).`);
    }
    return floats(out[spec.probs], spec.probs);
  }

  /** Builds every layer's rows graph now (one after another), so the first hover on a layer does not wait for it. */
  async warm(pass: LongPass): Promise<void> {
    for (let l = 0; l < pass.inputs.length; l++) await this.rowSession(l, pass).catch(() => undefined);
  }

  private rowSession(layer: number, pass: LongPass): Promise<ort.InferenceSession> {
    let s = this.rowSessions.get(layer);
    if (!s) {
      const spec = this.surgery!.layers[layer];
      const inputs = [...pass.inputs[layer]].map(([name, t]) => ({ name, type: t.type, rank: t.dims.length }));
      const path = this.model.modelPath!;
      s = createFromBytes(
        create,
        this.model.id,
        rowsModelBytes(path, basename(path), spec, inputs),
        {},
        this.model.folder,
      );
      s.catch(() => this.rowSessions.delete(layer));
      this.rowSessions.set(layer, s);
    }
    return s;
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
    for (const s of this.rowSessions.values()) await (await s.catch(() => undefined))?.release();
    this.rowSessions.clear();
  }
}
