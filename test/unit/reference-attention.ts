// An independent plain-TypeScript computation of layer-0 attention from a fixture model's own weights:
// embeddings (+ LayerNorm), Q and K projections (fp32, or emulating dynamic uint8 quantisation), softmax.
import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';

type Weights = Map<string, { dims: number[]; data: Float32Array | Uint8Array }>;

/** Reads every initializer of an ONNX file. */
export function readInitializers(file: string): Weights {
  const model = onnx.ModelProto.decode(readFileSync(file));
  const out: Weights = new Map();
  for (const t of model.graph?.initializer ?? []) {
    const raw = t.rawData!;
    const copy = Uint8Array.from(raw);
    const data =
      t.dataType === 1 ? new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4) : new Uint8Array(copy);
    out.set(t.name!, { dims: (t.dims ?? []).map(Number), data });
  }
  splitMergedQkv(out);
  return out;
}

/** com.microsoft Attention fixtures store Q, K and V side by side ([D, 3A]); split them back into the usual names. */
function splitMergedQkv(w: Weights): void {
  for (const [name, { dims, data }] of [...w]) {
    const m = /^(layer\.\d+\.attention)\.qkv\.weight$/.exec(name);
    if (!m) continue;
    const [d, cols] = dims;
    const a = cols / 3;
    const bias = w.get(`${m[1]}.qkv.bias`)!.data as Float32Array;
    ['query', 'key', 'value'].forEach((part, j) => {
      const part_ = new Float32Array(d * a);
      for (let r = 0; r < d; r++)
        part_.set((data as Float32Array).subarray(r * cols + j * a, r * cols + (j + 1) * a), r * a);
      w.set(`${m[1]}.${part}.weight`, { dims: [d, a], data: part_ });
      w.set(`${m[1]}.${part}.bias`, { dims: [a], data: bias.slice(j * a, (j + 1) * a) });
    });
  }
}

const f = Math.fround;

function layerNorm(x: Float64Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[r * d + i];
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + 1e-5);
    for (let i = 0; i < d; i++) y[r * d + i] = (x[r * d + i] - mean) * inv * gamma[i] + beta[i];
  }
  return y;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** ONNX DynamicQuantizeLinear, computed the way its spec defines it. */
export function dynamicQuantize(x: ArrayLike<number>): { q: Int32Array; scale: number; zero: number } {
  let min = 0;
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const v = f(x[i]);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = f((max - min) / 255);
  const zero = Math.min(255, Math.max(0, roundHalfEven(f(-min / scale))));
  const q = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) q[i] = Math.min(255, Math.max(0, roundHalfEven(f(f(x[i]) / scale)) + zero));
  return { q, scale, zero };
}

/** x [rows × d] times W [d × a] plus bias, fp32 or uint8-quantised like MatMulInteger. */
function linear(x: Float64Array, rows: number, d: number, w: Weights, name: string, quantized: boolean): Float64Array {
  const bias = w.get(`${name}.bias`)!.data as Float32Array;
  const a = bias.length;
  const y = new Float64Array(rows * a);
  if (!quantized) {
    const W = w.get(`${name}.weight`)!.data as Float32Array;
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < a; j++) {
        let s = 0;
        for (let i = 0; i < d; i++) s += x[r * d + i] * W[i * a + j];
        y[r * a + j] = s + bias[j];
      }
    return y;
  }
  const W = w.get(`${name}.weight_quantized`)!.data as Uint8Array;
  const ws = (w.get(`${name}.weight_scale`)!.data as Float32Array)[0];
  const wz = (w.get(`${name}.weight_zero_point`)!.data as Uint8Array)[0];
  const xq = dynamicQuantize(x);
  const scale = f(xq.scale * ws);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < a; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += (xq.q[r * d + i] - xq.zero) * (W[i * a + j] - wz);
      y[r * a + j] = f(s * scale) + bias[j];
    }
  return y;
}

/** The input of layer 0's attention (after embeddings and LayerNorm) for token ids. */
function layer0Input(w: Weights, ids: number[], kind: 'encoder' | 'causal'): { x: Float64Array; d: number } {
  const word = w.get('embeddings.word')!;
  const d = word.dims[1];
  const n = ids.length;
  const pos = w.get('embeddings.position')!.data as Float32Array;
  const wd = word.data as Float32Array;
  let x: Float64Array = new Float64Array(n * d);
  for (let t = 0; t < n; t++) for (let i = 0; i < d; i++) x[t * d + i] = wd[ids[t] * d + i] + pos[t * d + i];
  if (kind === 'encoder') {
    const type = w.get('embeddings.token_type')!.data as Float32Array;
    for (let t = 0; t < n; t++) for (let i = 0; i < d; i++) x[t * d + i] += type[i];
    x = layerNorm(
      x,
      n,
      d,
      w.get('embeddings.ln.weight')!.data as Float32Array,
      w.get('embeddings.ln.bias')!.data as Float32Array,
    );
  } else {
    x = layerNorm(
      x,
      n,
      d,
      w.get('layer.0.ln1.weight')!.data as Float32Array,
      w.get('layer.0.ln1.bias')!.data as Float32Array,
    );
  }
  return { x, d };
}

/** Layer-0 values V [N × A] (fp32 fixtures), for checking a fused op's output against probabilities · V. */
export function referenceValues(file: string, ids: number[], kind: 'encoder' | 'causal'): Float64Array {
  const w = readInitializers(file);
  const { x, d } = layer0Input(w, ids, kind);
  return linear(x, ids.length, d, w, 'layer.0.attention.value', false);
}

/** A numerically stable softmax of one row of scores (−Infinity for masked keys). */
export function softmax(scores: number[]): number[] {
  const max = Math.max(...scores);
  const e = scores.map((s) => Math.exp(s - max));
  const sum = e.reduce((p, c) => p + c, 0);
  return e.map((v) => v / sum);
}

/** Layer-0 attention [heads][N][N] for token ids, as the fixture graph defines it. */
export function referenceLayer0(
  file: string,
  ids: number[],
  opts: { kind: 'encoder' | 'causal'; heads: number; quantized?: boolean },
): number[][][] {
  const w = readInitializers(file);
  const n = ids.length;
  const { x, d } = layer0Input(w, ids, opts.kind);
  const q = linear(x, n, d, w, 'layer.0.attention.query', !!opts.quantized);
  const k = linear(x, n, d, w, 'layer.0.attention.key', !!opts.quantized);
  const a = q.length / n;
  const dh = a / opts.heads;
  // Quantised graphs quantise the whole Q and Kᵀ tensors before their integer product.
  const qq = opts.quantized ? dynamicQuantize(q) : undefined;
  const kq = opts.quantized ? dynamicQuantize(k) : undefined;
  const out: number[][][] = [];
  for (let h = 0; h < opts.heads; h++) {
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) {
      const scores: number[] = [];
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < dh; c++) {
          const qi = i * a + h * dh + c;
          const kj = j * a + h * dh + c;
          s += qq && kq ? (qq.q[qi] - qq.zero) * (kq.q[kj] - kq.zero) : q[qi] * k[kj];
        }
        if (qq && kq) s = f(s * f(qq.scale * kq.scale));
        scores.push(opts.kind === 'causal' && j > i ? -Infinity : s / Math.sqrt(dh));
      }
      rows.push(softmax(scores));
    }
    out.push(rows);
  }
  return out;
}
