// An independent plain-TypeScript member of the BART family (Marian, BART, mBART-50, M2M100 / NLLB) from a fixture's
// own weights: the whole encoder and the decoder's layer 0 up to its cross-attention, whose probabilities
// [head][target][source] it returns. What differs between members is the preset (how positions are offset, post- or
// pre-norm, embedding and final layer norms, the activation). Position tables are read from the files like any other
// weight. For q8 files every weight product is computed as onnxruntime's dynamic quantisation defines it: the
// activations quantised per tensor (DynamicQuantizeLinear), an exact integer product, then the two scales.
import type { Weights } from './onnx-weights';
import { dynamicQuantize } from './reference-attention';
import { addInto, attend, get, linear, type Rows } from './reference-t5';

export interface BartPreset {
  offset: number;
  scaleEmbedding: boolean;
  layernormEmbedding: boolean;
  preNorm: boolean;
  finalNorm: boolean;
  activation: 'swish' | 'gelu' | 'relu';
  quantized?: boolean;
}

const EPS = 1e-5;
const f = Math.fround;

/** erf to ≈1e-15 (series below 3, continued fraction above): gelu needs more than the usual 1e-7 approximation. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
      if (Math.abs(term) < 1e-17) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  let frac = 0;
  for (let n = 60; n >= 1; n--) frac = n / 2 / (a + frac);
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + frac));
}

const ACTIVATIONS = {
  swish: (v: number) => v / (1 + Math.exp(-v)),
  relu: (v: number) => Math.max(0, v),
  gelu: (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
};

function affine(w: Weights, x: Rows, p: string, quantized: boolean): Rows {
  const b = get(w, `${p}.bias`).data;
  if (!quantized) return linear(x, get(w, `${p}.weight`)).map((row) => row.map((v, j) => v + b[j]));
  const W = w.get(`${p}.weight_quantized`)!;
  const ws = get(w, `${p}.weight_scale`).data[0];
  const wz = (w.get(`${p}.weight_zero_point`)!.data as Uint8Array)[0];
  const [d, cols] = W.dims;
  const xq = dynamicQuantize(x.flat());
  const scale = f(xq.scale * ws);
  return x.map((_, r) =>
    Array.from({ length: cols }, (_, j) => {
      let s = 0;
      for (let i = 0; i < d; i++) s += (xq.q[r * d + i] - xq.zero) * (W.data[i * cols + j] - wz);
      return f(s * scale) + b[j];
    }),
  );
}

function layerNorm(w: Weights, x: Rows, p: string): Rows {
  const g = get(w, `${p}.weight`).data;
  const b = get(w, `${p}.bias`).data;
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + EPS)) * g[i] + b[i]);
  });
}

function embed(w: Weights, side: string, ids: number[], o: BartPreset): Rows {
  const e = get(w, 'model.shared.weight');
  const pos = get(w, `model.${side}.embed_positions.weight`).data;
  const d = e.dims[1];
  const scale = o.scaleEmbedding ? Math.sqrt(d) : 1;
  const x = ids.map((id, t) =>
    Array.from({ length: d }, (_, i) => e.data[id * d + i] * scale + pos[(t + o.offset) * d + i]),
  );
  return o.layernormEmbedding ? layerNorm(w, x, `model.${side}.layernorm_embedding`) : x;
}

/** Layer 0's cross-attention [head][target][source] for source and target (decoder input) ids. */
export function referenceBartCross0(
  enc: Weights,
  dec: Weights,
  source: number[],
  target: number[],
  o: BartPreset & { heads: number; headDim: number },
) {
  const opts = { heads: o.heads, headDim: o.headDim, buckets: 0, maxDistance: 0, eps: 0 };
  const q8 = !!o.quantized;
  const scaled = (x: Rows) => x.map((r) => r.map((v) => v * o.headDim ** -0.5));
  /** x + f(norm(x)) before, or norm(x + f(x)) after: the preset's residual block. */
  const block = (w: Weights, x: Rows, norm: string, fn: (y: Rows) => Rows): Rows => {
    if (o.preNorm) {
      const out = x.map((r) => r.slice());
      addInto(out, fn(layerNorm(w, x, norm)));
      return out;
    }
    const out = x.map((r) => r.slice());
    addInto(out, fn(x));
    return layerNorm(w, out, norm);
  };
  const ffn = (w: Weights, y: Rows, p: string) =>
    affine(
      w,
      affine(w, y, `${p}.fc1`, q8).map((r) => r.map(ACTIVATIONS[o.activation])),
      `${p}.fc2`,
      q8,
    );
  let x = embed(enc, 'encoder', source, o);
  for (let l = 0; enc.has(`model.encoder.layers.${l}.fc1.bias`); l++) {
    const p = `model.encoder.layers.${l}`;
    const a = `${p}.self_attn`;
    x = block(enc, x, `${a}_layer_norm`, (y) => {
      const q = scaled(affine(enc, y, `${a}.q_proj`, q8));
      const { ctx } = attend(q, affine(enc, y, `${a}.k_proj`, q8), affine(enc, y, `${a}.v_proj`, q8), () => 0, opts);
      return affine(enc, ctx, `${a}.out_proj`, q8);
    });
    x = block(enc, x, `${p}.final_layer_norm`, (y) => ffn(enc, y, p));
  }
  if (o.finalNorm) x = layerNorm(enc, x, 'model.encoder.layer_norm');
  let y = embed(dec, 'decoder', target, o);
  const s = 'model.decoder.layers.0.self_attn';
  y = block(dec, y, `${s}_layer_norm`, (z) => {
    const q = scaled(affine(dec, z, `${s}.q_proj`, q8));
    const causal = (_h: number, i: number, j: number) => (j > i ? Number.NEGATIVE_INFINITY : 0);
    const { ctx } = attend(q, affine(dec, z, `${s}.k_proj`, q8), affine(dec, z, `${s}.v_proj`, q8), causal, opts);
    return affine(dec, ctx, `${s}.out_proj`, q8);
  });
  const e = 'model.decoder.layers.0.encoder_attn';
  const query = o.preNorm ? layerNorm(dec, y, `${e}_layer_norm`) : y;
  return attend(
    scaled(affine(dec, query, `${e}.q_proj`, q8)),
    affine(dec, x, `${e}.k_proj`, q8),
    affine(dec, x, `${e}.v_proj`, q8),
    () => 0,
    opts,
  ).probs;
}
