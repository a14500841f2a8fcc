// Reads how a layer's scores become weights — the ops between Q·Kᵀ and its Softmax — as a RowRecipe the panel can
// run (local-rows.ts). Only plain chains are described: scalar Mul / Div / Add / Sub, Tanh (softcaps), float Casts,
// and one Add of the mask as the last step. Anything else leaves the panel asking the engine for rows.
import type { onnx } from 'onnx-proto';
import type { RowStep } from '../protocol/messages';

type Node = onnx.INodeProto;

/** The steps and the mask the scores read, or why the chain cannot be described. */
export type ChainRecipe = { steps: RowStep[]; mask?: string } | { unavailable: string };

const FLOAT = 1;

/**
 * Describes the chain `product → …path → softmax` (path in order). `scalar` gives a one-element constant's value,
 * `sides` are the tensors from the rest of the graph the scores read (the mask).
 */
export function chainRecipe(
  product: Node,
  path: Node[],
  softmax: Node,
  sides: Set<string>,
  scalar: (name: string) => number | undefined,
  opset: number,
): ChainRecipe {
  if (product.opType !== 'MatMul') return { unavailable: `the scores come from ${product.opType}` };
  const axis = softmax.attribute?.find((a) => a.name === 'axis');
  if (axis ? ![-1, 3].includes(Number(axis.i)) : opset < 13)
    return { unavailable: 'the Softmax does not run along the keys' };
  const steps: RowStep[] = [];
  let mask: string | undefined;
  let value = product.output?.[0] ?? '';
  for (const node of path) {
    const inputs = (node.input ?? []).filter(Boolean);
    const at = inputs.indexOf(value);
    if (at < 0) return { unavailable: `the scores branch at ${node.opType}` };
    if (mask) return { unavailable: `${node.opType} comes after the mask` };
    const op = node.opType ?? '';
    if (op === 'Tanh') steps.push({ op: 'tanh' });
    else if (op === 'Identity') {
      // nothing to do
    } else if (op === 'Cast') {
      const to = node.attribute?.find((a) => a.name === 'to');
      if (Number(to?.i) !== FLOAT) return { unavailable: 'the scores are cast to another type' };
    } else if (['Mul', 'Div', 'Add', 'Sub'].includes(op) && inputs.length === 2) {
      const other = inputs[1 - at];
      const c = scalar(other);
      if (c !== undefined) {
        const right = at === 0;
        if (op === 'Mul') steps.push({ op: 'mul', value: c });
        else if (op === 'Add') steps.push({ op: 'add', value: c });
        else if (op === 'Div') steps.push({ op: right ? 'div' : 'rdiv', value: c });
        else steps.push({ op: right ? 'sub' : 'rsub', value: c });
      } else if (op === 'Add' && sides.has(other)) mask = other;
      else return { unavailable: `the scores read ${other} in ${op}` };
    } else return { unavailable: `the scores pass through ${op}` };
    value = node.output?.[0] ?? '';
  }
  if (!softmax.input?.includes(value)) return { unavailable: 'the Softmax reads something else' };
  return { steps, ...(mask ? { mask } : {}) };
}
