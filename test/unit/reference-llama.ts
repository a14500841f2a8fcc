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

/** Layer-0 attention [query head][N][N] of a decoder fixture for token ids at positions 0…N−1. */
export function referenceLlamaLayer0(w: Weights, ids: number[], o: LlamaRefOptions): number[][][] {
  const embed = w.get('model.embed_tokens.weight')!;
  const d = embed.dims[1];
  const n = ids.length;
  const ed = embed.data as Float32Array;
  const x = new Float64Array(n * d);
  const scale = o.gemmaNorm ? Math.sqrt(d) : 1;
  for (let t = 0; t < n; t++) for (let i = 0; i < d; i++) x[t * d + i] = ed[ids[t] * d + i] * scale;
  const g = w.get('model.layers.0.input_layernorm.weight')!.data as Float32Array;
  for (let t = 0; t < n; t++) {
    let ms = 0;
    for (let i = 0; i < d; i++) ms += x[t * d + i] ** 2;
    const inv = 1 / Math.sqrt(ms / d + (o.rmsEps ?? 1e-5));
    for (let i = 0; i < d; i++) x[t * d + i] *= inv * (o.gemmaNorm ? 1 + g[i] : g[i]);
  }
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
