// Graph surgery: find the attention-probability Softmax outputs of an ONNX graph and append them to the
// graph's outputs, so onnxruntime returns them alongside the model's own outputs. No re-export needed.
import { onnx } from 'onnx-proto';
import { EngineError } from '../protocol/rpc';
import { type ExposedLayer, exposeFusedAttention } from './fused-attention';
import { addLogitLens, type LensOutputs } from './logit-lens';
import { attentionKinds } from './cross-attention';
import { basename } from 'node:path';
import { type ByteSource, fileSource, readWireModel, type WireModel, writeWireModel } from './onnx-wire';

type Graph = onnx.IGraphProto;
type Node = onnx.INodeProto;

/** Products that make Q·Kᵀ and probs·V, plain or quantised. */
export const PRODUCTS = new Set([
  'MatMul',
  'MatMulInteger',
  'Einsum',
  'FusedMatMul',
  'QLinearMatMul',
  'MatMulIntegerToFloat',
]);
/** Ops that may sit between Q·Kᵀ and the Softmax (scaling, masking, casts, quantisation). */
export const BEFORE_SOFTMAX = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Where',
  'Cast',
  'Reshape',
  'Identity',
  'DequantizeLinear',
  'Max',
  'Min',
  'Clip',
  'Tanh',
]);
/** Ops that may sit between the Softmax and probs·V. */
const AFTER_SOFTMAX = new Set([
  'Cast',
  'Dropout',
  'Identity',
  'DynamicQuantizeLinear',
  'QuantizeLinear',
  'DequantizeLinear',
  'Reshape',
]);

/** Most attention layers a graph may expose (real models have at most a few hundred). */
export const MAX_ATTENTION_LAYERS = 1000;

/** What surgery found and did. */
export interface SurgeryResult {
  bytes: Uint8Array;
  /** Names of the exposed attention tensors, ordered by layer. */
  attentionOutputs: string[];
  /** Per layer: the op that computes it (Softmax, GroupQueryAttention, …) and the heads it declares. */
  layers: { op: string; heads?: number; kvHeads?: number }[];
  /** True when a merged decoder's no-cache `If` branch was inlined. */
  inlinedIf: boolean;
  /** Outputs with the TOPK most likely next tokens per position ([…, TOPK] probabilities and ids), when the graph has logits. */
  topk?: { probs: string; ids: string };
  /** The logit lens: per layer, the top tokens of the final norm + LM head applied to that layer's residual stream. */
  lens: LensOutputs;
  /** In an encoder–decoder's decoder: per exposed map, self-attention or cross-attention (keys from the encoder). */
  kinds?: ('self' | 'cross')[];
  /** The graph with the lens outputs added (a session of its own, created on demand; see expose). */
  lensBytes?: Uint8Array;
  /** Counts of op types in the graph, for diagnostics. */
  ops: Record<string, number>;
  inputs: string[];
  outputs: string[];
}

/** A graph's inputs, outputs and op counts, for the output channel. */
function graphDetails(model: WireModel, ops: Record<string, number>): string {
  const names = (vs: onnx.IValueInfoProto[]) => vs.map((v) => v.name).join(', ');
  return `inputs: ${names(model.inputs)}; outputs: ${names(model.outputs)}; ops: ${Object.entries(ops)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}×${v}`)
    .join(', ')}`;
}

/**
 * Returns the model with every attention map exposed as a graph output: the Softmax between Q·Kᵀ and the product
 * with V in plain graphs, or the probabilities of fused attention ops. Weights are never decoded (see onnx-wire).
 */
export function exposeAttention(bytes: Uint8Array, modelName: string): SurgeryResult {
  return expose(bytes, modelName);
}

/**
 * The same for a model file, read with small positioned reads: the rewritten model refers to the weights in that
 * file (resolve them with the session option model_external_initializers_file_folder_path = the file's folder).
 */
export function exposeAttentionInFile(path: string, modelName: string): SurgeryResult {
  const source = fileSource(path);
  try {
    return expose(source, modelName, basename(path));
  } finally {
    source.close();
  }
}

/** Largest in-memory model whose lens graph (which then embeds the weights) is built. */
const LENS_BYTES_LIMIT = 64 * 2 ** 20;

/** The model read and rewritten with every attention map as an output (what expose and the prefix cut share). */
function exposedModel(input: Uint8Array | ByteSource, modelName: string) {
  let model: WireModel;
  try {
    model = readWireModel(input);
  } catch (error) {
    throw new EngineError(
      'bad-model',
      `${modelName}: the ONNX file could not be parsed (${(error as Error).message}); it may be truncated or corrupt.`,
    );
  }
  if (model.nodes.length === 0) {
    throw new EngineError('bad-model', `${modelName}: the ONNX file holds no graph.`);
  }
  const graph: Graph = { node: model.nodes };
  const ops = countOps(graph);
  const opset = Number(model.opsets.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 17);
  const { inlined: inlinedIf, initializers } = inlineNoCacheBranch(graph);
  model.nodes = graph.node as onnx.NodeProto[];
  let layers: ExposedLayer[] | undefined = exposeFusedAttention(model, modelName, opset);
  if (!layers) {
    const found = findAttentionSoftmax(graph, opset);
    if (found.length === 0) {
      const softmaxCount = ops.Softmax ?? 0;
      throw new EngineError(
        'no-attention-softmax',
        `${modelName} has no attention Softmax to tap (found ${softmaxCount} Softmax node(s), none between Q·Kᵀ and the product with V; ` +
          `ops: ${summariseOps(ops)}). Use an eager export whose attention is MatMul → Softmax → MatMul.`,
        graphDetails(model, ops),
      );
    }
    layers = found.map((output, order) => ({ output, op: 'Softmax', order, layer: null }));
    const existing = new Set(model.outputs.map((o) => o.name));
    // No declared type: onnxruntime infers it (a wrong declared type would be rejected).
    for (const name of found) if (!existing.has(name)) model.outputs.push(onnx.ValueInfoProto.create({ name }));
  }
  if (layers.length > MAX_ATTENTION_LAYERS) {
    throw new EngineError(
      'bad-model',
      `${modelName} has ${layers.length} attention layers, more than the ${MAX_ATTENTION_LAYERS} a real model has; ` +
        'it is not analysed (exposing them all would exhaust memory).',
      graphDetails(model, ops),
    );
  }
  return { model, initializers, layers, ops, inlinedIf };
}

/**
 * The exposed graph cut down to what layer `layer`'s map needs: the nodes it descends from, the inputs and
 * initializers they read, and that map as the only output. A first view of an early layer runs this instead of the
 * whole model (onnxruntime runs every node of a graph whatever is fetched). Undefined when a control-flow node
 * (If, Loop, Scan) is on the way: its branches read outer names that the cut cannot see.
 */
export function prefixGraphInFile(path: string, modelName: string, layer: number): Uint8Array | undefined {
  const source = fileSource(path);
  try {
    const { model, initializers, layers } = exposedModel(source, modelName);
    const output = layers[layer]?.output;
    return output ? pruneToOutputs(model, initializers, [output], basename(path)) : undefined;
  } finally {
    source.close();
  }
}

/**
 * The graph cut down to what `outputs` need: the nodes they descend from, the inputs and initializers those read,
 * and `outputs` as the only outputs, written with the weights referenced in `weightsFile`. Undefined when a
 * control-flow node (If, Loop, Scan) is on the way: its branches read outer names that the cut cannot see.
 */
export function pruneToOutputs(
  model: WireModel,
  initializers: onnx.ITensorProto[],
  outputs: string[],
  weightsFile: string,
): Uint8Array | undefined {
  const producer = new Map<string, onnx.INodeProto>();
  for (const node of model.nodes) for (const o of node.output ?? []) if (o) producer.set(o, node);
  const kept = new Set<onnx.INodeProto>();
  const read = new Set<string>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (read.has(name)) continue;
    read.add(name);
    const node = producer.get(name);
    if (!node || kept.has(node)) continue;
    if ((node.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0)) return undefined;
    kept.add(node);
    for (const i of node.input ?? []) if (i) stack.push(i);
  }
  const cut: WireModel = {
    ...model,
    nodes: model.nodes.filter((n) => kept.has(n)),
    outputs: outputs.map((name) => onnx.ValueInfoProto.create({ name })),
  };
  return writeWireModel(
    cut,
    initializers.filter((t) => read.has(t.name ?? '')),
    weightsFile,
    {
      inputs: model.inputs.filter((i) => read.has(i.name ?? '')),
      initializers: new Set([...model.initializerDims.keys()].filter((n) => read.has(n))),
    },
  );
}

function expose(input: Uint8Array | ByteSource, modelName: string, weightsFile?: string): SurgeryResult {
  const { model, initializers, layers, ops, inlinedIf } = exposedModel(input, modelName);
  // An encoder–decoder's decoder: which maps are its own (causal) self-attention and which look at the encoder.
  let kinds: ('self' | 'cross')[] | undefined;
  if (model.inputs.some((i) => i.name === 'encoder_hidden_states')) {
    const constants = new Set([
      ...model.initializerDims.keys(),
      ...initializers.map((t) => t.name ?? ''),
      ...model.nodes.filter((n) => n.opType === 'Constant').flatMap((n) => n.output ?? []),
    ]);
    kinds = attentionKinds(
      model.nodes,
      layers.map((l) => l.output),
      (name) => constants.has(name),
    );
  }
  const topk = addNextTokenTopK(model, initializers);
  const bytes = writeWireModel(model, initializers, weightsFile);
  const outputs = model.outputs.map((o) => o.name ?? '');
  // The logit lens lives in a second graph: onnxruntime runs every node of a graph whatever is fetched, so lens
  // clones in the main graph cost L rows of the LM head on every pass (measured: +70 ms per generation step on the
  // SmolLM2-shaped bench model). The engine creates that session only when a lens is asked for. A model given as
  // bytes would embed its weights in the copy: only small ones get a lens then.
  let lens: LensOutputs = { unavailable: 'the graph has no logits output' };
  let lensBytes: Uint8Array | undefined;
  if (topk && (weightsFile || (input instanceof Uint8Array && input.length <= LENS_BYTES_LIMIT))) {
    lens = addLogitLens(model, initializers, layers.length);
    if ('layers' in lens) lensBytes = writeWireModel(model, initializers, weightsFile);
  } else if (topk) lens = { unavailable: 'the model was loaded from memory, not from a file' };
  return {
    topk,
    lens,
    lensBytes,
    kinds,
    bytes,
    attentionOutputs: layers.map((l) => l.output),
    layers: layers.map(({ op, heads, kvHeads }) => ({ op, heads, kvHeads })),
    inlinedIf,
    ops,
    inputs: model.inputs.map((i) => i.name ?? ''),
    outputs,
  };
}

function countOps(graph: Graph, into: Record<string, number> = {}): Record<string, number> {
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '?';
    into[op] = (into[op] ?? 0) + 1;
    for (const attr of node.attribute ?? []) {
      if (attr.g) countOps(attr.g, into);
      for (const g of attr.graphs ?? []) countOps(g, into);
    }
  }
  return into;
}

function summariseOps(ops: Record<string, number>): string {
  return Object.entries(ops)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ');
}

/**
 * A merged decoder (`decoder_model_merged.onnx`) branches on `use_cache_branch`; its Softmax nodes live in
 * subgraphs, which cannot be graph outputs. Replace the If by its no-cache branch (the engine feeds an empty past).
 */
export function inlineNoCacheBranch(graph: Graph): { inlined: boolean; initializers: onnx.ITensorProto[] } {
  const nodes = graph.node!;
  const index = nodes.findIndex((n) => n.opType === 'If' && (n.attribute ?? []).some((a) => a.g && hasAttention(a.g)));
  if (index < 0) return { inlined: false, initializers: [] };
  const ifNode = nodes[index];
  const branches = Object.fromEntries((ifNode.attribute ?? []).filter((a) => a.g).map((a) => [a.name, a.g!]));
  const cond = ifNode.input?.[0] ?? '';
  let branch: Graph | undefined;
  if (/use_cache/i.test(cond)) branch = branches.else_branch;
  else branch = [branches.then_branch, branches.else_branch].find((b) => b && !referencesPast(b));
  if (!branch)
    throw new EngineError(
      'bad-model',
      `an If node (${ifNode.name}) holds attention, but no branch runs without a cache.`,
    );
  const bridge = (branch.output ?? []).map((o, i) =>
    onnx.NodeProto.create({
      opType: 'Identity',
      input: [o.name!],
      output: [ifNode.output![i]],
      name: `attention_lens_inline_${i}`,
    }),
  );
  nodes.splice(index, 1, ...(branch.node ?? []), ...bridge);
  return { inlined: true, initializers: branch.initializer ?? [] };
}

function hasAttention(graph: Graph): boolean {
  return (graph.node ?? []).some(
    (n) =>
      n.opType === 'Softmax' ||
      /Attention/.test(n.opType ?? '') ||
      (n.attribute ?? []).some((a) => a.g && hasAttention(a.g)),
  );
}

function referencesPast(graph: Graph): boolean {
  return (graph.node ?? []).some((n) =>
    (n.input ?? []).some((i) => i.startsWith('past_key_values') || i.startsWith('past_')),
  );
}

function softmaxOnLastAxis(node: Node, opset: number): boolean {
  const axis = (node.attribute ?? []).find((a) => a.name === 'axis');
  if (!axis) return opset >= 13;
  const value = Number(axis.i ?? 0);
  return value === -1 || value === 3;
}

/** Softmax outputs that sit between a Q·Kᵀ product and a product with V, ordered by layer. */
export function findAttentionSoftmax(graph: Graph, opset = 17): string[] {
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const node of graph.node ?? []) {
    for (const out of node.output ?? []) producer.set(out, node);
    for (const inp of node.input ?? []) {
      if (!consumers.has(inp)) consumers.set(inp, []);
      consumers.get(inp)!.push(node);
    }
  }
  const fromProduct = (name: string, depth: number): boolean => {
    const node = producer.get(name);
    if (!node || depth > 8) return false;
    if (PRODUCTS.has(node.opType ?? '')) return true;
    if (!BEFORE_SOFTMAX.has(node.opType ?? '')) return false;
    return (node.input ?? []).some((i) => fromProduct(i, depth + 1));
  };
  const intoProduct = (name: string, depth: number): boolean => {
    if (depth > 8) return false;
    for (const node of consumers.get(name) ?? []) {
      const op = node.opType ?? '';
      if (PRODUCTS.has(op) && node.input?.[0] === name) return true;
      if (AFTER_SOFTMAX.has(op) && node.input?.[0] === name) {
        // DynamicQuantizeLinear's quantised values are its first output.
        if (intoProduct(node.output![0], depth + 1)) return true;
      }
    }
    return false;
  };
  const found: { name: string; order: number; layer: number | null }[] = [];
  (graph.node ?? []).forEach((node, order) => {
    if (node.opType !== 'Softmax' || !softmaxOnLastAxis(node, opset)) return;
    const input = node.input?.[0];
    const output = node.output?.[0];
    if (!input || !output || !fromProduct(input, 0) || !intoProduct(output, 0)) return;
    const m = /(?:layers?|h|blocks?)[._/](\d+)/.exec(node.name ?? '');
    found.push({ name: output, order, layer: m ? Number(m[1]) : null });
  });
  const layers = found.map((f) => f.layer);
  const byName = layers.every((l) => l !== null) && new Set(layers).size === layers.length;
  found.sort((a, b) => (byName ? a.layer! - b.layer! : a.order - b.order));
  return found.map((f) => f.name);
}

/** How many of the most likely next tokens the graph returns per position (generation samples among them). */
export const TOPK = 50;

/**
 * For a graph with a `logits` output: softmax over the vocabulary and its TOPK largest probabilities with their ids,
 * as two more outputs. Fetched only when generating, so the engine never copies N × vocabulary logits out.
 */
function addNextTokenTopK(
  model: WireModel,
  initializers: onnx.ITensorProto[],
): { probs: string; ids: string } | undefined {
  if (!model.outputs.some((o) => o.name === 'logits')) return undefined;
  const probs = 'attention_lens_next_probs';
  const ids = 'attention_lens_next_ids';
  const k = 'attention_lens_topk_k';
  const softmax = 'attention_lens_next_softmax';
  initializers.push(onnx.TensorProto.create({ name: k, dims: [1], dataType: 7, int64Data: [TOPK] }));
  const axis = onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 });
  model.nodes.push(
    onnx.NodeProto.create({
      opType: 'Softmax',
      input: ['logits'],
      output: [softmax],
      name: softmax,
      attribute: [axis],
    }),
    onnx.NodeProto.create({
      opType: 'TopK',
      input: [softmax, k],
      output: [probs, ids],
      name: 'attention_lens_topk',
      attribute: [axis],
    }),
  );
  model.outputs.push(onnx.ValueInfoProto.create({ name: probs }), onnx.ValueInfoProto.create({ name: ids }));
  return { probs, ids };
}
