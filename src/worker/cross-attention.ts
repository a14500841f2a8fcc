// Encoder–decoder graphs: which exposed decoder maps are self-attention and which are cross-attention, told apart by
// where the keys come from. A cross-attention map's keys are the encoder's output (`encoder_hidden_states`) through
// nothing but projections and reshapes; a self-attention map's keys come from the decoder's own residual stream
// (which, past layer 0, also depends on the encoder — so "is an ancestor" would not tell them apart).
import type { onnx } from 'onnx-proto';

/** Ops a key tensor passes through on its way from a projection to Q·Kᵀ: every data input must be the encoder's. */
const LINEAR = new Set(['MatMul', 'Gemm', 'Add', 'Mul', 'Div', 'Cast', 'Identity', 'Transpose']);
/**
 * Ops whose first input is the data (the others are shapes, axes, indices — or, in quantised files, weights, scales
 * and zero points: q8 projections are DynamicQuantizeLinear → MatMulInteger → Cast → Mul by the scales, q4 ones
 * MatMulNBits).
 */
const RESHAPING = new Set([
  'Reshape',
  'Unsqueeze',
  'Squeeze',
  'Expand',
  'Slice',
  'Flatten',
  'DynamicQuantizeLinear',
  'MatMulInteger',
  'MatMulNBits',
  'DequantizeLinear',
]);

/** For each exposed map (a Softmax output, ordered by layer): 'cross' when its keys come from `encoderInput`. */
export function attentionKinds(
  nodes: onnx.INodeProto[],
  outputs: string[],
  isConstant: (name: string) => boolean,
  encoderInput = 'encoder_hidden_states',
): ('self' | 'cross')[] {
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const keysOf = (softmaxOut: string): string | undefined => {
    // Back from the Softmax through masking and scaling to the Q·Kᵀ product; its second input is Kᵀ.
    let node = producer.get(softmaxOut);
    for (let depth = 0; node && depth < 10; depth++) {
      if (node.opType === 'MatMul' || node.opType === 'FusedMatMul') return node.input?.[1];
      const dynamic = (node.input ?? []).filter((i) => i && !isConstant(i));
      // The scores are the input that itself comes from a product (masks come from the attention mask).
      const next = dynamic.find((i) => reachesProduct(i, 6)) ?? dynamic[0];
      node = next ? producer.get(next) : undefined;
    }
    return undefined;
  };
  const reachesProduct = (name: string, depth: number): boolean => {
    const n = producer.get(name);
    if (!n || depth < 0) return false;
    if (n.opType === 'MatMul' || n.opType === 'FusedMatMul') return true;
    return (n.input ?? []).some((i) => i && !isConstant(i) && reachesProduct(i, depth - 1));
  };
  // Every data path back from the keys must end at the encoder's output (the q8 scale product reads it too).
  const fromEncoder = (name: string | undefined, depth = 0): boolean => {
    if (!name || depth > 24) return false;
    if (name === encoderInput) return true;
    const n = producer.get(name);
    if (!n) return false;
    const op = n.opType ?? '';
    if (RESHAPING.has(op)) return fromEncoder(n.input?.[0], depth + 1);
    if (!LINEAR.has(op)) return false;
    const dynamic = (n.input ?? []).filter((i) => i && !isConstant(i));
    return dynamic.length > 0 && dynamic.every((i) => fromEncoder(i, depth + 1));
  };
  return outputs.map((out) => {
    const softmax = producer.get(out);
    return fromEncoder(keysOf(softmax?.input?.[0] ?? '')) ? 'cross' : 'self';
  });
}
