// An independent plain-TypeScript Marian (opus-mt) from the fixture's own weights: the whole encoder (embeddings × √d
// plus sinusoidal positions, post-norm layers with biased projections, queries × head_dim^-0.5, swish feed-forward)
// and the decoder's layer 0 up to its cross-attention, whose probabilities [head][target][source] it returns.
import type { Weights } from './onnx-weights';
import { addInto, attend, get, linear, type Rows } from './reference-t5';

const EPS = 1e-5;

function affine(w: Weights, x: Rows, p: string): Rows {
  const b = get(w, `${p}.bias`).data;
  return linear(x, get(w, `${p}.weight`)).map((row) => row.map((v, j) => v + b[j]));
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

function embed(w: Weights, side: string, ids: number[]): Rows {
  const e = get(w, 'model.shared.weight');
  const pos = get(w, `model.${side}.embed_positions.weight`).data;
  const d = e.dims[1];
  return ids.map((id, t) => Array.from({ length: d }, (_, i) => e.data[id * d + i] * Math.sqrt(d) + pos[t * d + i]));
}

/** Layer 0's cross-attention [head][target][source] of a Marian fixture for source and target (decoder input) ids. */
export function referenceMarianCross0(
  enc: Weights,
  dec: Weights,
  source: number[],
  target: number[],
  o: { heads: number; headDim: number },
) {
  const opts = { ...o, buckets: 0, maxDistance: 0, eps: 0 };
  const scaled = (x: Rows) => x.map((r) => r.map((v) => v * o.headDim ** -0.5));
  let x = embed(enc, 'encoder', source);
  for (let l = 0; enc.has(`model.encoder.layers.${l}.fc1.weight`); l++) {
    const p = `model.encoder.layers.${l}`;
    const a = `${p}.self_attn`;
    const { ctx } = attend(
      scaled(affine(enc, x, `${a}.q_proj`)),
      affine(enc, x, `${a}.k_proj`),
      affine(enc, x, `${a}.v_proj`),
      () => 0,
      opts,
    );
    addInto(x, affine(enc, ctx, `${a}.out_proj`));
    x = layerNorm(enc, x, `${a}_layer_norm`);
    const h = affine(enc, x, `${p}.fc1`).map((r) => r.map((v) => v / (1 + Math.exp(-v))));
    addInto(x, affine(enc, h, `${p}.fc2`));
    x = layerNorm(enc, x, `${p}.final_layer_norm`);
  }
  let y = embed(dec, 'decoder', target);
  const s = 'model.decoder.layers.0.self_attn';
  const { ctx } = attend(
    scaled(affine(dec, y, `${s}.q_proj`)),
    affine(dec, y, `${s}.k_proj`),
    affine(dec, y, `${s}.v_proj`),
    (_h, i, j) => (j > i ? Number.NEGATIVE_INFINITY : 0),
    opts,
  );
  addInto(y, affine(dec, ctx, `${s}.out_proj`));
  y = layerNorm(dec, y, `${s}_layer_norm`);
  const e = 'model.decoder.layers.0.encoder_attn';
  return attend(
    scaled(affine(dec, y, `${e}.q_proj`)),
    affine(dec, x, `${e}.k_proj`),
    affine(dec, x, `${e}.v_proj`),
    () => 0,
    opts,
  ).probs;
}
