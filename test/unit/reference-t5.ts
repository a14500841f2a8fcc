// An independent plain-TypeScript T5 from the fixture's own weights: the whole encoder (RMS norms, relative position
// buckets, no 1/√d scaling, ReLU feed-forward, final norm) and the decoder's layer 0 up to its cross-attention, whose
// probabilities [head][target][source] it returns.
import type { Weights } from './onnx-weights';
import { softmax } from './reference-attention';

export interface T5RefOptions {
  heads: number;
  headDim: number;
  buckets: number;
  maxDistance: number;
  eps: number;
}

export type Rows = number[][];

export function get(w: Weights, name: string): { data: Float32Array; dims: number[] } {
  const t = w.get(name);
  if (!t) throw new Error(`no weight ${name}`);
  return { data: t.data as Float32Array, dims: t.dims };
}

export function linear(x: Rows, w: { data: Float32Array; dims: number[] }): Rows {
  const [d, cols] = w.dims;
  return x.map((row) => {
    const out = new Array(cols).fill(0);
    for (let i = 0; i < d; i++) for (let j = 0; j < cols; j++) out[j] += row[i] * w.data[i * cols + j];
    return out;
  });
}

function rms(x: Rows, g: Float32Array, eps: number): Rows {
  return x.map((row) => {
    const inv = 1 / Math.sqrt(row.reduce((a, v) => a + v * v, 0) / row.length + eps);
    return row.map((v, i) => v * inv * g[i]);
  });
}

/** T5's bucket of (key position − query position). */
export function t5Bucket(rel: number, bidirectional: boolean, o: T5RefOptions): number {
  let buckets = o.buckets;
  let ret = 0;
  let n: number;
  if (bidirectional) {
    buckets /= 2;
    if (rel > 0) ret = buckets;
    n = Math.abs(rel);
  } else n = Math.max(-rel, 0);
  const exact = buckets / 2;
  if (n < exact) return ret + n;
  const large = exact + Math.trunc((Math.log(n / exact) / Math.log(o.maxDistance / exact)) * (buckets - exact));
  return ret + Math.min(large, buckets - 1);
}

/** Attention probabilities [head][query][key] and the context rows (heads concatenated). */
export function attend(q: Rows, k: Rows, v: Rows, bias: (h: number, i: number, j: number) => number, o: T5RefOptions) {
  const probs: number[][][] = [];
  const ctx: Rows = q.map(() => new Array(o.heads * o.headDim).fill(0));
  for (let h = 0; h < o.heads; h++) {
    const at = h * o.headDim;
    const rows = q.map((qi, i) => {
      const scores = k.map((kj, j) => {
        let s = 0;
        for (let c = 0; c < o.headDim; c++) s += qi[at + c] * kj[at + c];
        return s + bias(h, i, j);
      });
      return softmax(scores);
    });
    rows.forEach((p, i) => {
      p.forEach((pj, j) => {
        for (let c = 0; c < o.headDim; c++) ctx[i][at + c] += pj * v[j][at + c];
      });
    });
    probs.push(rows);
  }
  return { probs, ctx };
}

export function addInto(x: Rows, y: Rows): void {
  for (let i = 0; i < x.length; i++) for (let j = 0; j < x[i].length; j++) x[i][j] += y[i][j];
}

/** Layer 0's cross-attention [head][target][source] of a T5 fixture for source and target (decoder input) ids. */
export function referenceT5Cross0(enc: Weights, dec: Weights, source: number[], target: number[], o: T5RefOptions) {
  const embed = (w: Weights, ids: number[]) => {
    const e = get(w, 'shared.weight');
    const d = e.dims[1];
    return ids.map((id) => Array.from(e.data.subarray(id * d, (id + 1) * d)));
  };
  // Encoder.
  let x = embed(enc, source);
  const encTable = get(enc, 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight').data;
  const encBias = (h: number, i: number, j: number) => encTable[t5Bucket(j - i, true, o) * o.heads + h];
  for (let l = 0; enc.has(`encoder.block.${l}.layer.0.layer_norm.weight`); l++) {
    const p = `encoder.block.${l}.layer`;
    const n = rms(x, get(enc, `${p}.0.layer_norm.weight`).data, o.eps);
    const a = `${p}.0.SelfAttention`;
    const { ctx } = attend(
      linear(n, get(enc, `${a}.q.weight`)),
      linear(n, get(enc, `${a}.k.weight`)),
      linear(n, get(enc, `${a}.v.weight`)),
      encBias,
      o,
    );
    addInto(x, linear(ctx, get(enc, `${a}.o.weight`)));
    const f = rms(x, get(enc, `${p}.1.layer_norm.weight`).data, o.eps);
    const hidden = linear(f, get(enc, `${p}.1.DenseReluDense.wi.weight`)).map((r) => r.map((v) => Math.max(0, v)));
    addInto(x, linear(hidden, get(enc, `${p}.1.DenseReluDense.wo.weight`)));
  }
  x = rms(x, get(enc, 'encoder.final_layer_norm.weight').data, o.eps);
  // Decoder layer 0: causal self-attention with its own buckets, then the cross-attention's queries.
  const y = embed(dec, target);
  const decTable = get(dec, 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight').data;
  const decBias = (h: number, i: number, j: number) =>
    j > i ? Number.NEGATIVE_INFINITY : decTable[t5Bucket(j - i, false, o) * o.heads + h];
  const p = 'decoder.block.0.layer';
  const n = rms(y, get(dec, `${p}.0.layer_norm.weight`).data, o.eps);
  const s = `${p}.0.SelfAttention`;
  const { ctx } = attend(
    linear(n, get(dec, `${s}.q.weight`)),
    linear(n, get(dec, `${s}.k.weight`)),
    linear(n, get(dec, `${s}.v.weight`)),
    decBias,
    o,
  );
  addInto(y, linear(ctx, get(dec, `${s}.o.weight`)));
  const n2 = rms(y, get(dec, `${p}.1.layer_norm.weight`).data, o.eps);
  const e = `${p}.1.EncDecAttention`;
  return attend(
    linear(n2, get(dec, `${e}.q.weight`)),
    linear(x, get(dec, `${e}.k.weight`)),
    linear(x, get(dec, `${e}.v.weight`)),
    () => 0,
    o,
  ).probs;
}
