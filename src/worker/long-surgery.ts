// Long inputs (N in the thousands): a graph that never hands back an N × N map. Right after each attention Softmax
// the graph reduces the probabilities to what the panel draws first — the block maximum (an overview of ⌈N/B⌉²
// cells per head), the attention each key receives (summed over queries) and each row's largest keys — so
// onnxruntime frees every full map as soon as its layer is done, as the plain model does. For exact rows and tiles
// it also hands back the two operands of Q·Kᵀ and whatever else the scores read (the mask): a tiny "rows graph" per
// layer (the product, the ops between it and the Softmax, and the Softmax) recomputes any rows from them.
// Why recompute rather than re-run the model: a rows graph costs H·r·N·d multiply-adds (≈ 2 ms for one row at
// N = 4,096 on the SmolLM2 shape), a re-run costs the whole forward pass (15 s there).
import { onnx } from 'onnx-proto';
import { EngineError } from '../protocol/rpc';
import { type ExposedLayer, exposeFusedAttention } from './fused-attention';
import { bandNodes, banding, canBand } from './long-chunks';
import { type FusedRows, fusedRows } from './long-fused';
import { BEFORE_SOFTMAX, findAttentionSoftmax, inlineNoCacheBranch, PRODUCTS, pruneToOutputs } from './graph-surgery';
import { type ByteSource, fileSource, readWireModel, type WireModel, writeWireModel } from './onnx-wire';
import { type ChainRecipe, chainRecipe } from './row-recipe';
import { scalarReader } from './scalar-constants';

/** What the long graph hands back per layer, and how that layer's rows graph is built. */
export interface LongLayer {
  overview: string;
  received: string;
  /** The rows graph's inputs: Q (sliced to the asked rows), the K side (whole) and the other tensors the scores read. */
  q: string;
  k: string;
  sides: string[];
  /** The Softmax's output (the rows graphs' output). */
  probs: string;
  /** Q·Kᵀ's right operand: K after the repeat / transpose / scale the K side walks back through. */
  kEnd: string;
  /** Every head's rows: K side, product, the ops to the Softmax. */
  rows: SubGraph;
  /** The K side alone (K as kept → kEnd), run once per layer for tiles. */
  prep: SubGraph;
  /** The ops from the product to the Softmax as steps the panel can run (row-recipe.ts), or why not. */
  chain: ChainRecipe;
  /** Product to Softmax from kEnd, fed one head's Q and kEnd: a tile costs one head, not all of them. */
  head: SubGraph;
  /** A GroupQueryAttention layer: its rows are computed from its queries and present_key (long-fused.ts). */
  fused?: FusedRows;
  /** Computed in bands of query rows (long-chunks.ts). */
  banded?: boolean;
}

/** A piece of the model run on its own: its nodes (constants included), the initializers they read, its output. */
export interface SubGraph {
  nodes: onnx.INodeProto[];
  initializers: string[];
  output: string;
}

export interface LongSurgery {
  bytes: Uint8Array;
  block: number;
  layers: LongLayer[];
}

type Node = onnx.INodeProto;

const int = (name: string, i: number) =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
const ints = (name: string, values: number[]) =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });

/** Ops a K side may pass through on its way to Q·Kᵀ whose other inputs are constants (repeat, transpose, scale). */
const K_SIDE = new Set(['Mul', 'Div', 'Transpose', 'Reshape', 'Expand', 'Unsqueeze', 'Squeeze', 'Identity', 'Cast']);
/** The block side for N tokens: a power of two that keeps the overview at most 256 cells wide. */
export function blockFor(n: number): number {
  let b = 1;
  while (Math.ceil(n / b) > 256) b *= 2;
  return b;
}

/** The long graph of a model file for block side `block` (see the top of this file). */
export function exposeLongInFile(
  path: string,
  modelName: string,
  weightsFile: string,
  block: number,
  ranks: number[],
): LongSurgery {
  const source = fileSource(path);
  try {
    const { model, extra, layers } = buildLong(source, modelName, block, ranks);
    return { bytes: writeWireModel(model, extra, weightsFile), block, layers };
  } finally {
    source.close();
  }
}

/**
 * The long graph cut down to what layer `layer` hands back (its reductions, Q, K and what the scores read), or
 * undefined when control flow is on the way. A long analysis's first overview runs this: onnxruntime runs every
 * node of a graph whatever is fetched, so only a cut skips the layers after the one on screen. Its names are the
 * long graph's (both are built the same way), so what it returns stands in for that layer of a whole pass.
 */
export function longPrefixInFile(
  path: string,
  modelName: string,
  weightsFile: string,
  block: number,
  ranks: number[],
  layer: number,
): Uint8Array | undefined {
  const source = fileSource(path);
  try {
    const { model, extra, layers } = buildLong(source, modelName, block, ranks);
    const l = layers[layer];
    return l && pruneToOutputs(model, extra, [l.overview, l.received, l.q, l.k, ...l.sides], weightsFile);
  } finally {
    source.close();
  }
}

function buildLong(
  source: ByteSource,
  modelName: string,
  block: number,
  ranks: number[],
): { model: WireModel; extra: onnx.ITensorProto[]; layers: LongLayer[] } {
  const model = readWireModel(source);
  const graph = { node: model.nodes as Node[] };
  const { initializers } = inlineNoCacheBranch(graph);
  model.nodes = graph.node as onnx.NodeProto[];
  const opset = Number(model.opsets.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 17);
  // Fused attention: GroupQueryAttention hands its probabilities back (qk_output), which are reduced like a
  // Softmax's output; its rows come from its queries and present_key. Other fused ops are not supported here.
  // (Exposing edits the model; when it is refused the model is not used, so no copy is needed first.)
  const fused: ExposedLayer[] | undefined = exposeFusedAttention(model, modelName, opset);
  if (fused) {
    if (fused.some((e) => e.op !== 'GroupQueryAttention'))
      throw new EngineError(
        'bad-input',
        `${modelName} computes attention in fused ${[...new Set(fused.map((e) => e.op))].join(' / ')} ops; long inputs need plain MatMul → Softmax → MatMul attention or GroupQueryAttention. Select at most the token limit.`,
      );
    // The probabilities are reduced in the graph, never handed back.
    const probs = new Set(fused.map((e) => e.output));
    model.outputs = model.outputs.filter((o) => !probs.has(o.name ?? ''));
  }
  const softmaxOutputs = fused ? fused.map((e) => e.output) : findAttentionSoftmax(graph, opset);
  const producer = new Map<string, Node>();
  for (const node of model.nodes) for (const o of node.output ?? []) producer.set(o, node);
  const constants = new Set([
    ...model.initializerDims.keys(),
    ...initializers.map((t) => t.name ?? ''),
    ...model.nodes.filter((n) => n.opType === 'Constant').flatMap((n) => n.output ?? []),
  ]);
  const scalar = scalarReader(model, initializers);
  const extra: onnx.ITensorProto[] = [...initializers];
  const outputs = new Set(model.outputs.map((o) => o.name ?? ''));
  const addOutput = (name: string) => {
    if (outputs.has(name)) return;
    outputs.add(name);
    model.outputs.push(onnx.ValueInfoProto.create({ name }));
  };
  const tensor = (name: string, values: number[]) =>
    extra.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: 7, int64Data: values }));
  const P = 'attention_lens_long';
  tensor(`${P}_lead`, [1, -1]);
  tensor(`${P}_from`, [-2]);
  tensor(`${P}_to`, [2 ** 31 - 1]);
  tensor(`${P}_axis2`, [2]);
  // onnxruntime picks its own order: reductions that nothing downstream needs ran after the LAST layer, so all L maps
  // stayed alive until then (measured on the SmolLM2 shape at N = 1,024: 2.1 GB peak instead of 0.9 GB; at 2,048:
  // 5.6 GB and 27 s instead of 1.7 GB and 4.4 s). So the layer's probs·V reads its V through "+ (r − r)", r a scalar from the reductions: an exact zero
  // that makes the layer wait for them, and each map is freed when its layer ends.
  const after = new Map<Node, onnx.NodeProto[]>();
  // Nodes a banded layer replaces.
  const removed = new Set<Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of model.nodes) for (const i of n.input ?? []) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const layers = softmaxOutputs.map((probs, l): LongLayer => {
    const softmax = producer.get(probs)!;
    const added: onnx.NodeProto[] = [];
    after.set(softmax, added);
    const p = `${P}_${l}`;
    const node = (opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []) =>
      added.push(onnx.NodeProto.create({ opType, input, output, name: output[0], attribute }));
    const gqa = fused ? fusedRows(softmax, probs, model, `${p}_gqa`, node, tensor) : undefined;
    const none: SubGraph = { nodes: [], initializers: [], output: '' };
    const rows = gqa
      ? {
          q: gqa.query,
          k: gqa.key,
          kEnd: gqa.key,
          sides: [gqa.samples],
          rows: none,
          prep: none,
          head: none,
          chain: gqa.unavailable ? { unavailable: gqa.unavailable } : { steps: [] },
          scores: [] as Node[],
        }
      : rowsGraph(softmax, producer, constants, modelName, (product, path, sides) =>
          chainRecipe(product, path, softmax, sides, scalar, opset),
        );
    const product = (consumers.get(probs) ?? []).find((n) => n.opType === 'MatMul' && n.input?.[0] === probs);
    // The usual layout (plain ops, 4-D maps, the whole map read only by probs·V) is computed in bands of query
    // rows (long-chunks.ts), so a layer never holds its whole map.
    if (
      !gqa &&
      banding.enabled &&
      ranks[l] === 4 &&
      opset >= 13 &&
      block >= 4 &&
      rows.scores[0]?.input?.[0] === rows.q &&
      canBand(rows.scores, product, consumers)
    ) {
      after.delete(softmax);
      after.set(product as Node, added);
      for (const n of [...rows.scores, product as Node]) removed.add(n);
      bandNodes(
        {
          scores: rows.scores,
          product: product as Node,
          q: rows.q,
          sides: rows.sides,
          block,
          prefix: p,
          overview: `${p}_overview`,
          received: `${p}_received`,
        },
        node,
        tensor,
      );
      for (const name of [`${p}_overview`, `${p}_received`, rows.q, rows.k, ...rows.sides]) addOutput(name);
      const { scores: _, ...kept } = rows;
      return { overview: `${p}_overview`, received: `${p}_received`, probs, ...kept, banded: true };
    }
    // Reductions need [1, heads, N, N]. Most exports are 4-D already; a Reshape of a map that probs·V also reads is
    // a copy of N² floats, so it is added only for the others.
    let map = probs;
    if (ranks[l] !== 4) {
      map = `${p}_4d`;
      node('Shape', [probs], [`${p}_shape`]);
      node('Slice', [`${p}_shape`, `${P}_from`, `${P}_to`], [`${p}_nn`]);
      node('Concat', [`${P}_lead`, `${p}_nn`], [`${p}_dims`], [int('axis', 0)]);
      node('Reshape', [probs, `${p}_dims`], [map]);
    }
    // The block maximum in two passes, along keys then along queries: measured at N = 4,096 (9 heads), 52 ms
    // against 82 ms for one B × B MaxPool. An in-graph TopK of each row's keys cost 80 ms more per layer (+16 % of
    // the whole pass), so the top keys of a row come from its exact row instead.
    const pool = (input: string, output: string, kernel: number[]) =>
      node('MaxPool', [input], [output], [ints('kernel_shape', kernel), ints('strides', kernel), int('ceil_mode', 1)]);
    pool(map, `${p}_keys`, [1, block]);
    pool(`${p}_keys`, `${p}_overview`, [block, 1]);
    if (opset >= 13) node('ReduceSum', [map, `${P}_axis2`], [`${p}_received`], [int('keepdims', 0)]);
    else node('ReduceSum', [map], [`${p}_received`], [ints('axes', [2]), int('keepdims', 0)]);
    for (const name of [`${p}_overview`, `${p}_received`, rows.q, rows.k, ...rows.sides]) addOutput(name);
    // What must wait for the reductions: probs·V's V, or everything that reads a fused op's output.
    const gqaOut = gqa ? (softmax.output?.[0] ?? '') : '';
    const waiting = gqa ? (consumers.get(gqaOut) ?? []) : product?.input?.[1] ? [product] : [];
    if (waiting.length > 0) {
      for (const r of ['overview', 'received'])
        node('ReduceMax', [`${p}_${r}`], [`${p}_${r}_max`], [int('keepdims', 0)]);
      node('Add', [`${p}_overview_max`, `${p}_received_max`], [`${p}_sum`]);
      // Every reader of the map must be in that chain: the sample rows' Gather alone, left out, ran after the last
      // layer and kept all 30 maps alive (measured at N = 4,096 on the GroupQueryAttention layout: 21 GB).
      if (gqa) {
        node('ReduceMax', [gqa.samples], [`${p}_samples_max`], [int('keepdims', 0)]);
        node('Add', [`${p}_sum`, `${p}_samples_max`], [`${p}_sum_all`]);
      }
      const sum = gqa ? `${p}_sum_all` : `${p}_sum`;
      node('Sub', [sum, sum], [`${p}_zero`]);
      if (gqa) {
        node('Add', [gqaOut, `${p}_zero`], [`${p}_out`]);
        for (const c of waiting) c.input = (c.input ?? []).map((i) => (i === gqaOut ? `${p}_out` : i));
      } else if (product?.input?.[1]) {
        node('Add', [product.input[1], `${p}_zero`], [`${p}_v`]);
        product.input[1] = `${p}_v`;
      }
    }
    const { scores: _, ...kept } = rows;
    return {
      overview: `${p}_overview`,
      received: `${p}_received`,
      probs,
      ...kept,
      ...(gqa ? { fused: gqa } : {}),
    };
  });
  model.nodes = model.nodes.flatMap((n) => [...(removed.has(n) ? [] : [n]), ...(after.get(n) ?? [])]);
  return { model, extra, layers };
}

/** The nodes from Q·Kᵀ's operands to the Softmax, and what they read from the rest of the graph. */
function rowsGraph(
  softmax: Node,
  producer: Map<string, Node>,
  constants: Set<string>,
  modelName: string,
  recipe: (product: Node, path: Node[], sides: Set<string>) => ChainRecipe,
): Pick<LongLayer, 'q' | 'k' | 'sides' | 'kEnd' | 'rows' | 'prep' | 'head' | 'chain'> & { scores: Node[] } {
  const path: Node[] = [];
  const sides = new Set<string>();
  let product: Node | undefined;
  // Backward from the Softmax's input: nodes that lead to the product are on the path, other inputs are sides.
  const leadsToProduct = (name: string, depth: number): boolean => {
    const n = producer.get(name);
    if (!n || depth > 8) return false;
    if (PRODUCTS.has(n.opType ?? '')) return true;
    return BEFORE_SOFTMAX.has(n.opType ?? '') && (n.input ?? []).some((i) => leadsToProduct(i, depth + 1));
  };
  const walk = (name: string) => {
    const n = producer.get(name)!;
    if (PRODUCTS.has(n.opType ?? '')) {
      product ??= n;
      return;
    }
    if (path.includes(n)) return;
    path.push(n);
    for (const i of n.input ?? []) {
      if (!i) continue;
      if (leadsToProduct(i, 0)) walk(i);
      else sides.add(i);
    }
  };
  walk(softmax.input![0]);
  if (!product)
    throw new EngineError(
      'bad-model',
      `${modelName}: no Q·Kᵀ product was found before ${softmax.name ?? 'a Softmax'}.`,
    );
  const [q, kEnd, ...more] = product.input ?? [];
  for (const m of more) if (m) sides.add(m);
  // The K side walks back through repeat / transpose / scale, so the long graph keeps K as the cache holds it.
  const kNodes: Node[] = [];
  let k = kEnd;
  for (let guard = 0; guard < 12; guard++) {
    const n = producer.get(k);
    if (!n || !K_SIDE.has(n.opType ?? '')) break;
    const [data, ...rest] = n.input ?? [];
    if (!rest.every((r) => !r || constants.has(r))) break;
    kNodes.unshift(n);
    k = data;
  }
  const ordered = [...path].reverse();
  const scores = [product, ...ordered, softmax];
  const probs = softmax.output![0];
  const piece = (nodes: Node[], output: string): SubGraph => {
    const reads = new Set(nodes.flatMap((n) => n.input ?? []).filter(Boolean));
    const constantNodes = [...reads]
      .map((r) => producer.get(r))
      .filter((n): n is Node => n?.opType === 'Constant' && !nodes.includes(n));
    return {
      nodes: [...constantNodes, ...nodes],
      initializers: [...reads].filter((r) => constants.has(r) && !constantNodes.some((c) => c.output?.includes(r))),
      output,
    };
  };
  return {
    q,
    k,
    kEnd,
    sides: [...sides].filter((s) => !constants.has(s)),
    rows: piece([...kNodes, ...scores], probs),
    prep: piece(kNodes, kEnd),
    head: piece(scores, probs),
    chain: recipe(product, ordered, sides),
    scores,
  };
}

/** A piece of one layer as a model file's bytes (its inputs typed from the tensors the long graph returned). */
export function rowsModelBytes(
  path: string,
  weightsFile: string,
  piece: SubGraph,
  inputs: { name: string; type: string; rank: number }[],
): Uint8Array {
  const source = fileSource(path);
  try {
    const model = readWireModel(source);
    // A merged decoder's constants may live in the inlined branch.
    const { initializers: inlined } = inlineNoCacheBranch({ node: model.nodes as Node[] });
    const elem: Record<string, number> = {
      float32: 1,
      uint8: 2,
      int8: 3,
      int32: 6,
      int64: 7,
      bool: 9,
      float16: 10,
    };
    const declared = inputs.map((i) =>
      onnx.ValueInfoProto.create({
        name: i.name,
        type: {
          tensorType: {
            elemType: elem[i.type] ?? 1,
            shape: { dim: Array.from({ length: i.rank }, (_, d) => ({ dimParam: `${i.name}_d${d}` })) },
          },
        },
      }),
    );
    const sub: WireModel = {
      ...model,
      nodes: piece.nodes.map((n) => onnx.NodeProto.create(n)),
      outputs: [onnx.ValueInfoProto.create({ name: piece.output })],
      valueInfos: [],
    };
    const needed = new Set(piece.initializers);
    return writeWireModel(
      sub,
      inlined.filter((t) => needed.has(t.name ?? '')),
      weightsFile,
      { inputs: declared, initializers: needed },
    );
  } finally {
    source.close();
  }
}
