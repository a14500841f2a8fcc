// An independent plain-TypeScript computation of a Llama-family decoder's layer-0 attention from the fixture's own
// weights: embeddings (× √D for Gemma), RMSNorm (w or 1 + w), Q and K projections (fp32, fp16 or q4-dequantised),
// rotary position embeddings, grouped-query heads, 1/√d scaling, softcapping, causal / sliding-window / padding masks.
import type { Weights } from './onnx-weights';
import { softmax } from './reference-attention';

export interface LlamaRefOptions {
  heads: number;
  kvHeads: number;
  headDim: number;
  ropeTheta?: number;
  rope?: boolean;
  rmsEps?: number;
  slidingWindow?: number;
  softcap?: number;
  gemmaNorm?: boolean;
  /** 1 for keys that may be attended (defaults to all). */
  mask?: number[];
}

/** A linear layer's weight as a dense [in × out] matrix: fp32/fp16 as stored, q4 (MatMulNBits blobs) dequantised. */
function dense(w: Weights, name: string, rows: number): { data: Float32Array; cols: number } {
  const plain = w.get(`${name}.weight`);
  if (plain) return { data: plain.data as Float32Array, cols: plain.dims[1] };
  const blob = w.get(`${name}.weight_Q4`);
  const scales = w.get(`${name}.weight_scales`);
  if (!blob || !scales) throw new Error(`no weight ${name}`);
  const [n, blocks, blobSize] = blob.dims;
  const q = blob.data as Uint8Array;
  const s = scales.data as Float32Array;
  const data = new Float32Array(rows * n);
  for (let col = 0; col < n; col++)
    for (let k = 0; k < rows; k++) {
      const b = Math.floor(k / (blobSize * 2));
      const e = k % (blobSize * 2);
      const byte = q[(col * blocks + b) * blobSize + (e >> 1)];
      const nibble = e % 2 === 0 ? byte & 0x0f : byte >> 4;
      data[k * n + col] = (nibble - 8) * s[col * blocks + b];
    }
  return { data, cols: n };
}

function matmul(x: Float64Array, rows: number, d: number, w: { data: Float32Array; cols: number }): Float64Array {
  const y = new Float64Array(rows * w.cols);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < d; i++) {
      const v = x[r * d + i];
      if (v === 0) continue;
      for (let j = 0; j < w.cols; j++) y[r * w.cols + j] += v * w.data[i * w.cols + j];
    }
  return y;
}

function rope(x: Float64Array, n: number, heads: number, dh: number, theta: number): void {
  const width = heads * dh;
  for (let t = 0; t < n; t++)
    for (let h = 0; h < heads; h++) {
      const at = t * width + h * dh;
      for (let i = 0; i < dh / 2; i++) {
        const angle = t / theta ** ((2 * i) / dh);
        const a = x[at + i];
        const b = x[at + i + dh / 2];
        x[at + i] = a * Math.cos(angle) - b * Math.sin(angle);
        x[at + i + dh / 2] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
}

/** RMSNorm of each row in place: x · w / √(mean(x²) + ε), with (1 + w) for Gemma. */
function rmsNorm(x: Float64Array, n: number, d: number, g: Float32Array, o: LlamaRefOptions): void {
  for (let t = 0; t < n; t++) {
    let ms = 0;
    for (let i = 0; i < d; i++) ms += x[t * d + i] ** 2;
    const inv = 1 / Math.sqrt(ms / d + (o.rmsEps ?? 1e-5));
    for (let i = 0; i < d; i++) x[t * d + i] *= inv * (o.gemmaNorm ? 1 + g[i] : g[i]);
  }
}

/** The token embeddings of `ids` (× √D for Gemma), one row per position. */
function embed(w: Weights, ids: number[], o: LlamaRefOptions): { x: Float64Array; d: number } {
  const table = w.get('model.embed_tokens.weight')!;
  const d = table.dims[1];
  const data = table.data as Float32Array;
  const x = new Float64Array(ids.length * d);
  const scale = o.gemmaNorm ? Math.sqrt(d) : 1;
  for (const [t, id] of ids.entries()) for (let i = 0; i < d; i++) x[t * d + i] = data[id * d + i] * scale;
  return { x, d };
}

/**
 * The logit lens after layer 0 at the last position: layer 0 run in full (attention from referenceLlamaLayer0, V,
 * output projection, residual, post-attention norm, SwiGLU MLP, residual), then the final norm and the LM head, softmax.
 * Plain Llama layout only (separate q/k/v projections, no Gemma post-norms).
 */
export function referenceLlamaLens0(w: Weights, ids: number[], o: LlamaRefOptions): Float64Array {
  const probs = referenceLlamaLayer0(w, ids, o);
  const n = ids.length;
  const { x: residual, d } = embed(w, ids, o);
  const normed = Float64Array.from(residual);
  rmsNorm(normed, n, d, w.get('model.layers.0.input_layernorm.weight')!.data as Float32Array, o);
  const dh = o.headDim;
  const v = matmul(normed, n, d, dense(w, 'model.layers.0.self_attn.v_proj', d));
  const group = o.heads / o.kvHeads;
  const ctx = new Float64Array(n * o.heads * dh);
  for (let h = 0; h < o.heads; h++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const p = probs[h][i][j];
        if (p === 0) continue;
        for (let c = 0; c < dh; c++)
          ctx[i * o.heads * dh + h * dh + c] += p * v[j * o.kvHeads * dh + Math.floor(h / group) * dh + c];
      }
  const attn = matmul(ctx, n, o.heads * dh, dense(w, 'model.layers.0.self_attn.o_proj', o.heads * dh));
  for (let i = 0; i < n * d; i++) residual[i] += attn[i];
  const m = Float64Array.from(residual);
  rmsNorm(m, n, d, w.get('model.layers.0.post_attention_layernorm.weight')!.data as Float32Array, o);
  const gate = matmul(m, n, d, dense(w, 'model.layers.0.mlp.gate_proj', d));
  const up = matmul(m, n, d, dense(w, 'model.layers.0.mlp.up_proj', d));
  const inner = gate.length / n;
  for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
  const down = matmul(gate, n, inner, dense(w, 'model.layers.0.mlp.down_proj', inner));
  for (let i = 0; i < n * d; i++) residual[i] += down[i];
  const last = residual.slice((n - 1) * d, n * d);
  rmsNorm(last, 1, d, w.get('model.norm.weight')!.data as Float32Array, o);
  const logits = matmul(last, 1, d, dense(w, 'lm_head', d));
  return Float64Array.from(softmax(Array.from(logits)));
}

/** Layer-0 attention [query head][N][N] of a decoder fixture for token ids at positions 0…N−1. */
export function referenceLlamaLayer0(w: Weights, ids: number[], o: LlamaRefOptions): number[][][] {
  const n = ids.length;
  const { x, d } = embed(w, ids, o);
  rmsNorm(x, n, d, w.get('model.layers.0.input_layernorm.weight')!.data as Float32Array, o);
  const dh = o.headDim;
  let q: Float64Array;
  let k: Float64Array;
  const packed = w.has('model.layers.0.self_attn.qkv_proj.weight');
  if (packed) {
    const qkv = matmul(x, n, d, dense(w, 'model.layers.0.self_attn.qkv_proj', d));
    const cols = (o.heads + 2 * o.kvHeads) * dh;
    q = new Float64Array(n * o.heads * dh);
    k = new Float64Array(n * o.kvHeads * dh);
    for (let t = 0; t < n; t++) {
      q.set(qkv.subarray(t * cols, t * cols + o.heads * dh), t * o.heads * dh);
      k.set(qkv.subarray(t * cols + o.heads * dh, t * cols + (o.heads + o.kvHeads) * dh), t * o.kvHeads * dh);
    }
  } else {
    q = matmul(x, n, d, dense(w, 'model.layers.0.self_attn.q_proj', d));
    k = matmul(x, n, d, dense(w, 'model.layers.0.self_attn.k_proj', d));
  }
  if (o.rope !== false) {
    rope(q, n, o.heads, dh, o.ropeTheta ?? 10000);
    rope(k, n, o.kvHeads, dh, o.ropeTheta ?? 10000);
  }
  const group = o.heads / o.kvHeads;
  const out: number[][][] = [];
  for (let h = 0; h < o.heads; h++) {
    const kv = Math.floor(h / group);
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) {
      const scores: number[] = [];
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < dh; c++) s += q[i * o.heads * dh + h * dh + c] * k[j * o.kvHeads * dh + kv * dh + c];
        s /= Math.sqrt(dh);
        if (o.softcap) s = o.softcap * Math.tanh(s / o.softcap);
        const visible = j <= i && (!o.slidingWindow || j > i - o.slidingWindow) && (o.mask?.[j] ?? 1) === 1;
        scores.push(visible ? s : Number.NEGATIVE_INFINITY);
      }
      rows.push(softmax(scores));
    }
    out.push(rows);
  }
  return out;
}
