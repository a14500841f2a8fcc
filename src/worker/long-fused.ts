// Long inputs on graphs whose attention is one com.microsoft GroupQueryAttention per layer (onnxruntime-genai's
// layout). The op hands its probabilities back with qk_output=2, so the long graph reduces them like a Softmax's
// output (long-surgery.ts). Exact rows cannot come from a small rows graph here — Q·Kᵀ, the scale, the softcap, the
// window and the rotary all happen inside the op — so they are computed from what the op reads and writes: the
// queries it is fed (rotated here exactly as the op rotates them, from its own cos / sin caches) and the keys it
// returns in present_key (already rotated). The long graph also returns three of the op's own rows (the first,
// middle and last query) against which those computed rows are checked before any is used.
import { onnx } from 'onnx-proto';
import type { LayerOperands } from '../protocol/local-rows';
import type { RowStep } from '../protocol/messages';
import { halfToFloat } from './float16';
import type { WireModel } from './onnx-wire';

/** The op's rotary: cos / sin per position and pair (positions × half), and how it pairs the dimensions. */
export interface Rotary {
  cos: Float32Array;
  sin: Float32Array;
  half: number;
  interleaved: boolean;
}

/** How a GroupQueryAttention layer's exact rows are computed, or why they cannot be. */
export interface FusedRows {
  heads: number;
  kvHeads: number;
  /** The op's scale (default 1/√headDim) and softcap (absent: none). */
  scale?: number;
  softcap?: number;
  /** The op's queries (Q only, sliced out of packed QKV), [1, N, heads × dim], before the rotary. */
  query: string;
  /** present_key: [1, kvHeads, N, headDim], rotated. */
  key: string;
  /** The op's own rows 0, ⌊N/2⌋ and N − 1: [1, heads, 3, N]. */
  samples: string;
  steps: RowStep[];
  /** The op's local_window_size (−1: none). */
  window: number;
  rotary?: Rotary;
  unavailable?: string;
}

const int = (name: string, i: number) =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });

function attr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

/** A float / float16 initializer's values (not external data), or undefined. */
function floatInitializer(model: WireModel, name: string): Float32Array | undefined {
  const init = [...model.initializers.values()].find((i) => i.name === name);
  if (!init) return undefined;
  const t = onnx.TensorProto.decode(model.source.read(init.field.payloadStart, init.field.end));
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataType === onnx.TensorProto.DataType.FLOAT) {
    if (!raw) return Float32Array.from(t.floatData ?? []);
    const copy = Uint8Array.from(raw);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  if (t.dataType === onnx.TensorProto.DataType.FLOAT16) {
    if (!raw) return halfToFloat(Uint16Array.from(t.int32Data ?? []));
    const copy = Uint8Array.from(raw);
    return halfToFloat(new Uint16Array(copy.buffer, 0, copy.length / 2));
  }
  return undefined;
}

/**
 * Reads a GroupQueryAttention node (qk_output already set) and adds the nodes its rows need: Q sliced out of packed
 * QKV, and the three sample rows gathered from its probabilities `probs`. `node` appends a node, `constant` an int64
 * tensor; names start with `prefix`.
 */
export function fusedRows(
  gqa: onnx.INodeProto,
  probs: string,
  model: WireModel,
  prefix: string,
  node: (opType: string, input: string[], output: string[], attribute?: onnx.IAttributeProto[]) => void,
  constant: (name: string, values: number[]) => void,
): FusedRows {
  const heads = Number(attr(gqa, 'num_heads')?.i ?? 0);
  const kvHeads = Number(attr(gqa, 'kv_num_heads')?.i ?? 0);
  const [query, key, , , , , , cosName, sinName, positionIds, bias, sink] = gqa.input ?? [];
  const scale = attr(gqa, 'scale')?.f;
  const softcap = attr(gqa, 'softcap')?.f;
  const out: FusedRows = {
    heads,
    kvHeads,
    ...(scale ? { scale } : {}),
    ...(softcap ? { softcap } : {}),
    query,
    key: gqa.output?.[1] ?? '',
    samples: `${prefix}_samples`,
    steps: [],
    window: 0,
  };
  // The sample rows: Gather along the queries at [0, ⌊N/2⌋, N − 1], N read from the map's shape at run time.
  constant(`${prefix}_two`, [2]);
  constant(`${prefix}_one`, [1]);
  constant(`${prefix}_zero`, [0]);
  constant(`${prefix}_at2`, [2]);
  constant(`${prefix}_at3`, [3]);
  node('Shape', [probs], [`${prefix}_shape`]);
  node('Slice', [`${prefix}_shape`, `${prefix}_at2`, `${prefix}_at3`], [`${prefix}_n`]);
  node('Div', [`${prefix}_n`, `${prefix}_two`], [`${prefix}_mid`]);
  node('Sub', [`${prefix}_n`, `${prefix}_one`], [`${prefix}_last`]);
  node('Concat', [`${prefix}_zero`, `${prefix}_mid`, `${prefix}_last`], [`${prefix}_rows`], [int('axis', 0)]);
  node('Gather', [probs, `${prefix}_rows`], [out.samples], [int('axis', 2)]);
  if (!(heads > 0 && kvHeads > 0 && heads % kvHeads === 0))
    return { ...out, unavailable: `the op's heads (${heads}) and KV heads (${kvHeads}) do not group` };
  if (Number(attr(gqa, 'smooth_softmax')?.i ?? 0))
    return { ...out, unavailable: 'the op uses a smooth softmax (a sink takes part of each row)' };
  if (bias || sink) return { ...out, unavailable: 'the op adds an attention bias or a head sink' };
  if (positionIds) return { ...out, unavailable: 'the op reads position ids from the graph' };
  if (!out.key) return { ...out, unavailable: 'the op returns no present_key' };
  // Packed QKV (no separate key input): the queries are the first heads / (heads + 2 kvHeads) of the features.
  if (!key) {
    constant(`${prefix}_q_heads`, [heads]);
    constant(`${prefix}_all_heads`, [heads + 2 * kvHeads]);
    node('Shape', [query], [`${prefix}_qkv_shape`]);
    node('Slice', [`${prefix}_qkv_shape`, `${prefix}_at2`, `${prefix}_at3`], [`${prefix}_qkv_width`]);
    node('Mul', [`${prefix}_qkv_width`, `${prefix}_q_heads`], [`${prefix}_q_scaled`]);
    node('Div', [`${prefix}_q_scaled`, `${prefix}_all_heads`], [`${prefix}_q_width`]);
    node('Slice', [query, `${prefix}_zero`, `${prefix}_q_width`, `${prefix}_at2`], [`${prefix}_q`]);
    out.query = `${prefix}_q`;
  }
  const rotary = Number(attr(gqa, 'do_rotary')?.i ?? 0) === 1;
  let cos: Float32Array | undefined;
  let sin: Float32Array | undefined;
  if (rotary) {
    cos = cosName ? floatInitializer(model, cosName) : undefined;
    sin = sinName ? floatInitializer(model, sinName) : undefined;
    if (!cos || !sin || cos.length !== sin.length)
      return { ...out, unavailable: 'its cos / sin caches are not initializers this engine can read' };
  }
  const cosDims = rotary ? model.initializerDims.get(cosName) : undefined;
  return {
    ...out,
    window: Number(attr(gqa, 'local_window_size')?.i ?? -1),
    ...(rotary && cos && sin
      ? {
          rotary: {
            cos,
            sin,
            half: cosDims?.[1] ?? 0,
            interleaved: Number(attr(gqa, 'rotary_interleaved')?.i ?? 0) === 1,
          },
        }
      : {}),
  };
}

/**
 * The layer's operands from what the long pass returned: the queries rotated as the op rotates them (positions
 * 0 … N − 1, float32 arithmetic like the op's), per head, and present_key's keys (each a row already). The steps
 * are the op's: the scale, then the softcap; every row reads the keys up to itself, the last `local_window_size` of
 * them with a window.
 */
export function fusedOperands(
  spec: FusedRows,
  query: { data: Float32Array; dims: readonly number[] },
  key: { data: Float32Array; dims: readonly number[] },
  n: number,
): LayerOperands | { unavailable: string } {
  const { heads, kvHeads } = spec;
  const [, kvH, kn, dim] = key.dims;
  if (key.dims.length !== 4 || kvH !== kvHeads || kn !== n) return { unavailable: `present_key is [${key.dims}]` };
  const width = query.dims[2];
  if (query.dims.length !== 3 || query.dims[1] !== n || width < heads * dim)
    return { unavailable: `the queries are [${query.dims}]` };
  const q = new Float32Array(heads * n * dim);
  const r = spec.rotary;
  const half = r ? r.half || dim / 2 : 0;
  if (r && (2 * half > dim || r.cos.length < n * half))
    return { unavailable: `the cos / sin caches hold ${r.cos.length / Math.max(1, half)} positions for N = ${n}` };
  const f = Math.fround;
  for (let i = 0; i < n; i++)
    for (let h = 0; h < heads; h++) {
      const src = i * width + h * dim;
      const dst = (h * n + i) * dim;
      for (let t = 0; t < dim; t++) q[dst + t] = query.data[src + t];
      if (!r) continue;
      for (let t = 0; t < half; t++) {
        const c = r.cos[i * half + t];
        const s = r.sin[i * half + t];
        const [a, b] = r.interleaved ? [dst + 2 * t, dst + 2 * t + 1] : [dst + t, dst + t + half];
        const x1 = q[a];
        const x2 = q[b];
        q[a] = f(f(x1 * c) - f(x2 * s));
        q[b] = f(f(x2 * c) + f(x1 * s));
      }
    }
  const steps: RowStep[] = [{ op: 'mul', value: spec.scale ?? 1 / Math.sqrt(dim) }];
  if (spec.softcap && spec.softcap > 0)
    steps.push({ op: 'div', value: spec.softcap }, { op: 'tanh' }, { op: 'mul', value: spec.softcap });
  return {
    heads,
    keyHeads: kvHeads,
    n,
    dim,
    // local_window_size keys up to and including the row's own (measured against the op's rows).
    recipe: { steps, causal: true, window: Math.max(0, spec.window) },
    q,
    k: key.data,
  };
}
