// One attention layer of the long graph computed in bands of query rows. The plain model holds a layer's whole
// N × N scores and probabilities at once (heads × N² × 4 bytes each: 604 MB at N = 4,096 on the SmolLM2 shape); in
// bands of about N/4 rows only a band's are alive, since each band's scores, Softmax, reductions and probs·V finish
// before the next band's product starts (the next band's first row reads an exact zero made from them). The rows
// of a Softmax over keys do not depend on each other, so the bands' probabilities are the unbanded ones; the
// overview is the bands' block maxima stacked (bands are whole blocks of rows) and the received sums the bands' sums.
import { onnx } from 'onnx-proto';

type Node = onnx.INodeProto;

/**
 * Bands per layer (fixed in the graph: N is only known when it runs; with N > 128·B none is empty). Four, not more:
 * onnxruntime's session creation grows faster than the node count (the SmolLM2 shape's long graph: 3.2 s unbanded,
 * 4.7 / 5.8 / 9.7 / 16.2 s with 2 / 4 / 6 / 8 bands), and the long session is created again after large passes.
 */
export const BANDS = 4;

/** Off only to measure what banding changes (scripts/bench). */
export const banding = { enabled: true };

/** What banding one layer reads from the long graph's surgery. */
export interface BandedLayer {
  /** Q·Kᵀ, the ops between it and the Softmax, and the Softmax, in order (removed from the graph by the caller). */
  scores: Node[];
  /** probs·V (removed too; its output is produced again, by the bands). */
  product: Node;
  /** Q·Kᵀ's left operand (its rows are the queries) and the other tensors the scores read besides K. */
  q: string;
  sides: string[];
  block: number;
  /** Names made here start with this. */
  prefix: string;
  overview: string;
  received: string;
}

const int = (name: string, i: number) =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
const ints = (name: string, values: number[]) =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });

/**
 * Whether a layer can be banded: a 4-D map whose only reader is probs·V, and scores nodes that only the chain
 * reads (anything else would need the whole map).
 */
export function canBand(scores: Node[], product: Node | undefined, consumers: Map<string, Node[]>): boolean {
  if (!product) return false;
  const inChain = new Set<Node>([...scores, product]);
  return scores.every((n) => (n.output ?? []).every((o) => (consumers.get(o) ?? []).every((c) => inChain.has(c))));
}

/**
 * The nodes that compute the layer in bands: each band slices its query rows (and the rows of any side that has
 * one per query, like the mask — a side broadcast over queries is read whole), runs a copy of the scores nodes,
 * reduces its probabilities and multiplies them by V. `node` appends a node; `tensor` an int64 constant.
 */
export function bandNodes(
  layer: BandedLayer,
  node: (opType: string, input: string[], output: string[], attribute?: onnx.IAttributeProto[]) => void,
  tensor: (name: string, values: number[]) => void,
): void {
  const { scores, product, q, sides, block, prefix: p } = layer;
  const c = (name: string) => `${p}_${name}`;
  tensor(c('minus2'), [-2]);
  tensor(c('one'), [1]);
  tensor(c('zero'), [0]);
  tensor(c('axis2'), [2]);
  tensor(c('span'), [BANDS * block - 1]);
  tensor(c('bands_block'), [BANDS * block]);
  tensor(c('block'), [block]);
  // N from Q's shape; a band is ⌈N / (BANDS·B)⌉·B rows (whole blocks), the last one what is left.
  node('Shape', [q], [c('q_shape')]);
  node('Gather', [c('q_shape'), c('minus2')], [c('n')], [int('axis', 0)]);
  node('Add', [c('n'), c('span')], [c('n_up')]);
  node('Div', [c('n_up'), c('bands_block')], [c('blocks')]);
  node('Mul', [c('blocks'), c('block')], [c('step')]);
  const bound: string[] = [c('zero')];
  for (let b = 1; b < BANDS; b++) {
    tensor(c(`b${b}`), [b]);
    node('Mul', [c('step'), c(`b${b}`)], [c(`raw${b}`)]);
    node('Min', [c(`raw${b}`), c('n')], [c(`bound${b}`)]);
    bound.push(c(`bound${b}`));
  }
  bound.push(c('n'));
  // Per side: 1 when it has a row per query (its axis −2 is N), 0 when broadcast (1), so its slice is all of it.
  const rowsOf = new Map<string, string>();
  sides.forEach((s, i) => {
    node('Shape', [s], [c(`s${i}_shape`)]);
    node('Gather', [c(`s${i}_shape`), c('minus2')], [c(`s${i}_rows`)], [int('axis', 0)]);
    node('Sub', [c(`s${i}_rows`), c('one')], [c(`s${i}_less`)]);
    node('Min', [c(`s${i}_less`), c('one')], [c(`s${i}_per_query`)]);
    rowsOf.set(s, c(`s${i}_per_query`));
  });
  const softmax = scores[scores.length - 1];
  const overviews: string[] = [];
  const receiveds: string[] = [];
  const outs: string[] = [];
  let zero: string | undefined;
  for (let b = 0; b < BANDS; b++) {
    const x = (name: string) => c(`${name}_b${b}`);
    // The band starts where the previous one ended, plus an exact zero made from that band's results: onnxruntime
    // cannot start this band's product before the previous band is reduced and multiplied (and its maps freed).
    let start = bound[b];
    if (zero) {
      node('Cast', [zero], [x('wait')], [int('to', onnx.TensorProto.DataType.INT64)]);
      node('Add', [bound[b], x('wait')], [x('start')]);
      start = x('start');
    }
    const renamed = new Map<string, string>();
    node('Slice', [q, start, bound[b + 1], c('minus2')], [x('q')]);
    renamed.set(q, x('q'));
    sides.forEach((s, i) => {
      const per = rowsOf.get(s) as string;
      node('Mul', [start, per], [x(`s${i}_from`)]);
      node('Mul', [bound[b + 1], per], [x(`s${i}_to_raw`)]);
      node('Max', [x(`s${i}_to_raw`), c('one')], [x(`s${i}_to`)]);
      node('Slice', [s, x(`s${i}_from`), x(`s${i}_to`), c('minus2')], [x(`s${i}`)]);
      renamed.set(s, x(`s${i}`));
    });
    for (const n of scores) {
      const output = (n.output ?? []).map((o) => {
        renamed.set(o, `${o}_${p}_b${b}`);
        return `${o}_${p}_b${b}`;
      });
      node(
        n.opType ?? '',
        (n.input ?? []).map((i) => renamed.get(i) ?? i),
        output,
        (n.attribute ?? []) as onnx.IAttributeProto[],
      );
    }
    const probs = renamed.get(softmax.output?.[0] ?? '') as string;
    // The block maximum along keys then along queries (a band is whole blocks of rows), and the column sums.
    const pool = (input: string, output: string, kernel: number[]) =>
      node('MaxPool', [input], [output], [ints('kernel_shape', kernel), ints('strides', kernel), int('ceil_mode', 1)]);
    pool(probs, x('keys'), [1, block]);
    pool(x('keys'), x('overview'), [block, 1]);
    node('ReduceSum', [probs, c('axis2')], [x('received')], [int('keepdims', 0)]);
    const pv = product.input ?? [];
    node('MatMul', [probs, pv[1]], [x('out')]);
    for (const r of ['overview', 'received', 'out']) node('ReduceMax', [x(r)], [x(`${r}_max`)], [int('keepdims', 0)]);
    node('Add', [x('overview_max'), x('received_max')], [x('sum2')]);
    node('Add', [x('sum2'), x('out_max')], [x('sum')]);
    node('Sub', [x('sum'), x('sum')], [x('zero')]);
    zero = x('zero');
    overviews.push(x('overview'));
    receiveds.push(x('received'));
    outs.push(x('out'));
  }
  node('Concat', overviews, [layer.overview], [int('axis', 2)]);
  node('Sum', receiveds, [layer.received]);
  node('Concat', outs, [c('out')], [int('axis', -2)]);
  // The layer's output waits for the last band's reductions too.
  node('Add', [c('out'), zero as string], [product.output?.[0] ?? '']);
}
