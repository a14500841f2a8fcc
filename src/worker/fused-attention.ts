// Fused attention ops (one node per layer) made to show their probabilities. Measured on onnxruntime-node 1.30
// (CPU): GroupQueryAttention returns them with qk_output=2 as a 4th output; ONNX's own Attention (opset 23+) with
// qk_matmul_output_mode=3; com.microsoft MultiHeadAttention's 4th output holds the scores BEFORE softmax (scale,
// bias, padding and causal masks applied), so a Softmax is added on it; com.microsoft Attention has no such
// output, so its scores are recomputed in the graph from the same input, weights, bias and mask.
import { onnx } from 'onnx-proto';
import { EngineError } from '../protocol/rpc';
import type { WireModel } from './onnx-wire';

/** One exposed attention tensor and what the op says about its heads. */
export interface ExposedLayer {
  output: string;
  op: string;
  heads?: number;
  kvHeads?: number;
  /** Position of the op in the graph and the layer number in its name, for ordering. */
  order: number;
  layer: number | null;
}

const MS = 'com.microsoft';
/** Fused ops that cannot be exposed on onnxruntime-node's CPU provider (named in the error). */
const CANNOT_EXPOSE = new Set([
  'PackedAttention',
  'PackedMultiHeadAttention',
  'DecoderMaskedMultiHeadAttention',
  'DecoderMaskedSelfAttention',
  'SparseAttention',
  'LongformerAttention',
  'QAttention',
  'QOrderedAttention',
  'RelativePositionBias',
]);

type Attr = onnx.IAttributeProto;

function attrInt(node: onnx.INodeProto, name: string): number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? Number(a.i ?? 0) : undefined;
}

function attrFloat(node: onnx.INodeProto, name: string): number | undefined {
  return node.attribute?.find((x) => x.name === name)?.f ?? undefined;
}

function setInt(node: onnx.INodeProto, name: string, value: number): void {
  const attrs = (node.attribute ?? []).filter((a) => a.name !== name);
  attrs.push(onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value }));
  node.attribute = attrs;
}

function describe(node: onnx.INodeProto): string {
  const attrs = (node.attribute ?? [])
    .map((a: Attr) => `${a.name}=${a.i ?? a.f ?? (a.ints?.length ? `[${a.ints.join(',')}]` : '…')}`)
    .join(', ');
  return `${node.domain ? `${node.domain}.` : ''}${node.opType}(${attrs})`;
}

function isAttentionOp(node: onnx.INodeProto): boolean {
  return (node.domain === MS && /Attention/.test(node.opType ?? '')) || CANNOT_EXPOSE.has(node.opType ?? '');
}

function isOnnxAttention(node: onnx.INodeProto, opset: number): boolean {
  return node.opType === 'Attention' && (!node.domain || node.domain === 'ai.onnx') && opset >= 23;
}

/** The float type the graph computes in: float16 when an input or output is float16 (an fp16 export), else float. */
function floatType(model: WireModel): number {
  const types = [...model.inputs, ...model.outputs].map((v) => v.type?.tensorType?.elemType);
  return types.includes(10) ? 10 : 1;
}

/** Gives output slot `index` of a node a name (filling skipped optional slots with '') and returns it. */
function nameOutput(node: onnx.INodeProto, index: number, fallback: string): string {
  const outs = [...(node.output ?? [])];
  while (outs.length <= index) outs.push('');
  if (!outs[index]) outs[index] = fallback;
  node.output = outs;
  return outs[index];
}

/**
 * Finds fused attention nodes and rewrites the graph so each one's probabilities are a graph output. Returns
 * undefined when the graph has no fused attention (plain MatMul → Softmax → MatMul is handled elsewhere).
 */
export function exposeFusedAttention(model: WireModel, modelName: string, opset: number): ExposedLayer[] | undefined {
  const candidates = model.nodes.filter((n) => isAttentionOp(n) || isOnnxAttention(n, opset));
  if (candidates.length === 0) return undefined;
  const exposed: ExposedLayer[] = [];
  const added: onnx.INodeProto[] = [];
  model.nodes.forEach((node, order) => {
    if (!candidates.includes(node)) return;
    const op = node.opType ?? '';
    const base = node.name || `${op}_${order}`;
    const layerMatch = /(?:layers?|h|blocks?)[._/](\d+)/.exec(node.name ?? '');
    const layer = layerMatch ? Number(layerMatch[1]) : null;
    const heads = attrInt(node, 'num_heads') ?? attrInt(node, 'q_num_heads');
    let output: string;
    if (node.domain === MS && op === 'GroupQueryAttention') {
      setInt(node, 'qk_output', 2);
      output = nameOutput(node, 3, `${base}/attention_lens_probs`);
      exposed.push({ output, op, heads, kvHeads: attrInt(node, 'kv_num_heads'), order, layer });
    } else if (isOnnxAttention(node, opset)) {
      setInt(node, 'qk_matmul_output_mode', 3);
      output = nameOutput(node, 3, `${base}/attention_lens_probs`);
      exposed.push({ output, op, heads, kvHeads: attrInt(node, 'kv_num_heads') ?? heads, order, layer });
    } else if (node.domain === MS && op === 'MultiHeadAttention') {
      const scores = nameOutput(node, 3, `${base}/attention_lens_scores`);
      // onnxruntime cannot infer this optional output's type: declare the graph's float type.
      model.valueInfos.push(
        onnx.ValueInfoProto.create({ name: scores, type: { tensorType: { elemType: floatType(model) } } }),
      );
      output = `${base}/attention_lens_probs`;
      added.push(
        onnx.NodeProto.create({
          opType: 'Softmax',
          input: [scores],
          output: [output],
          name: `${base}/attention_lens_softmax`,
          attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 })],
        }),
      );
      exposed.push({ output, op, heads, kvHeads: heads, order, layer });
    } else if (node.domain === MS && op === 'Attention') {
      const recomputed = recomputeAttention(model, node, base, opset, modelName);
      added.push(...recomputed.nodes);
      exposed.push({ output: recomputed.output, op, heads, kvHeads: heads, order, layer });
    } else {
      throw new EngineError(
        'fused-attention',
        `${modelName} uses the fused attention op ${describe(node)}, whose attention probabilities onnxruntime does not ` +
          'return and Attention Lens cannot recompute. Export the model without attention fusion (an Optimum / torch.onnx ' +
          'export with MatMul → Softmax → MatMul), or with GroupQueryAttention / MultiHeadAttention, which work.',
      );
    }
  });
  model.nodes.push(...(added as onnx.NodeProto[]));
  const existing = new Set(model.outputs.map((o) => o.name));
  for (const e of exposed)
    if (!existing.has(e.output)) model.outputs.push(onnx.ValueInfoProto.create({ name: e.output }));
  const byName = exposed.every((e) => e.layer !== null) && new Set(exposed.map((e) => e.layer)).size === exposed.length;
  return exposed.sort((a, b) => (byName ? a.layer! - b.layer! : a.order - b.order));
}

/**
 * com.microsoft Attention (BERT-style fusion: hidden input, merged QKV weights and bias, 2-D 0/1 mask) recomputed:
 * softmax(scale · Q·Kᵀ + mask + attention_bias) from the op's own inputs, in the same graph.
 */
function recomputeAttention(
  model: WireModel,
  node: onnx.INodeProto,
  base: string,
  opset: number,
  modelName: string,
): { nodes: onnx.INodeProto[]; output: string } {
  const [input, weights, bias, mask, past, attentionBias] = node.input ?? [];
  const heads = attrInt(node, 'num_heads');
  const refuse = (why: string) =>
    new EngineError(
      'fused-attention',
      `${modelName} uses ${describe(node)}, which Attention Lens cannot recompute (${why}). Export the model without ` +
        'attention fusion (MatMul → Softmax → MatMul).',
    );
  if (!heads) throw refuse('no num_heads');
  if (past) throw refuse('a past input');
  if (attrInt(node, 'unidirectional')) throw refuse('unidirectional=1');
  if (attrInt(node, 'do_rotary')) throw refuse('do_rotary=1');
  const nodes: onnx.INodeProto[] = [];
  let n = 0;
  const name = (hint: string) => `${base}/attention_lens_${hint}_${n++}`;
  const op = (opType: string, inputs: string[], attrs: onnx.IAttributeProto[] = []) => {
    const out = name(opType);
    nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [out], name: out, attribute: attrs }));
    return out;
  };
  const constant = (t: onnx.ITensorProto) => {
    const out = name('const');
    const value = onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t });
    nodes.push(onnx.NodeProto.create({ opType: 'Constant', output: [out], name: out, attribute: [value] }));
    return out;
  };
  const ints = (values: number[]) => constant({ dims: [values.length], dataType: 7, int64Data: values });
  const floatConst = (value: number) => constant({ dims: [], dataType: 1, floatData: [value] });
  const intAttr = (key: string, i: number) =>
    onnx.AttributeProto.create({ name: key, type: onnx.AttributeProto.AttributeType.INT, i });
  const intsAttr = (key: string, values: number[]) =>
    onnx.AttributeProto.create({ name: key, type: onnx.AttributeProto.AttributeType.INTS, ints: values });

  let qkv = op('MatMul', [input, weights]);
  if (bias) qkv = op('Add', [qkv, bias]);
  const sizes = node.attribute?.find((a) => a.name === 'qkv_hidden_sizes')?.ints?.map(Number);
  const wdims = model.initializerDims.get(weights);
  const qSize = sizes?.[0] ?? (wdims ? wdims[1] / 3 : undefined);
  if (!qSize) throw refuse('its weights are not an initializer of known shape');
  const kSize = sizes?.[1] ?? qSize;
  const slice = (from: number, to: number) => op('Slice', [qkv, ints([from]), ints([to]), ints([-1])]);
  const q = slice(0, qSize);
  const k = slice(qSize, qSize + kSize);
  const dh = qSize / heads;
  const q4 = op('Transpose', [op('Reshape', [q, ints([0, 0, heads, dh])])], [intsAttr('perm', [0, 2, 1, 3])]);
  const kT = op('Transpose', [op('Reshape', [k, ints([0, 0, heads, dh])])], [intsAttr('perm', [0, 2, 3, 1])]);
  let scores = op('Mul', [op('MatMul', [q4, kT]), floatConst(attrFloat(node, 'scale') ?? 1 / Math.sqrt(dh))]);
  if (mask) {
    // 2-D 0/1 mask [B, T]: masked keys get mask_filter_value (onnxruntime's default −10000), as the op does.
    const keep = op('Cast', [mask], [intAttr('to', 1)]);
    const additive = op('Mul', [
      op('Sub', [floatConst(1), keep]),
      floatConst(attrFloat(node, 'mask_filter_value') ?? -10000),
    ]);
    scores = op('Add', [scores, op('Reshape', [additive, ints([0, 1, 1, -1])])]);
  }
  if (attentionBias) scores = op('Add', [scores, attentionBias]);
  const output = op('Softmax', [scores], [intAttr('axis', opset >= 13 ? -1 : 3)]);
  return { nodes, output };
}
