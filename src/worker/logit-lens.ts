// The logit lens: the model's final norm and LM head applied to each layer's residual stream, so the panel can show
// how the next-token expectation forms layer by layer. Surgery finds the residual stream (the chain of Adds that
// starts at the token embedding, two per layer: after attention and after the MLP), clones the tail that turns the
// last residual into logits (final norm, LM head, softcap …) once per layer, and ends each clone in Softmax + TopK.
// The clones read only the LAST position (a Gather), so a lens for position i runs the graph on tokens 0…i (a causal
// model's position i sees nothing later) and costs L LM-head rows, never L × N × vocabulary. onnxruntime computes
// only what is fetched, so analyses that do not ask for the lens pay nothing.
import { onnx } from 'onnx-proto';
import type { WireModel } from './onnx-wire';

/** The lens outputs per layer, or why this graph has none. */
export type LensOutputs = { layers: { probs: string; ids: string }[] } | { unavailable: string };

const PREFIX = 'attention_lens_lens';

/** How many tokens the lens keeps per layer. */
export const LENS_TOPK = 5;

/** Adds the per-layer lens outputs to a graph with `logits` (see the top of this file). */
export function addLogitLens(model: WireModel, initializers: onnx.ITensorProto[], layerCount: number): LensOutputs {
  if (!model.outputs.some((o) => o.name === 'logits')) return { unavailable: 'the graph has no logits output' };
  const producer = new Map<string, onnx.NodeProto>();
  const consumers = new Map<string, onnx.NodeProto[]>();
  for (const node of model.nodes) {
    for (const o of node.output ?? []) producer.set(o, node);
    for (const i of node.input ?? []) {
      if (!i) continue;
      const list = consumers.get(i) ?? [];
      list.push(node);
      consumers.set(i, list);
    }
  }
  const reaches = (from: string, to: string): boolean => {
    // Backward from `to`: is `from` among its ancestors?
    const seen = new Set<string>();
    const stack = [to];
    while (stack.length) {
      const v = stack.pop()!;
      if (v === from) return true;
      if (seen.has(v)) continue;
      seen.add(v);
      for (const i of producer.get(v)?.input ?? []) if (i && !seen.has(i)) stack.push(i);
    }
    return false;
  };

  // The token embedding: a Gather (or a quantized gather) of a weight by input_ids.
  const embed = model.nodes.find(
    (n) =>
      /^Gather(BlockQuantized)?$/.test(n.opType ?? '') &&
      model.initializerDims.has(n.input?.[0] ?? '') &&
      reaches('input_ids', n.input?.[1] ?? ''),
  );
  if (!embed?.output?.[0]) return { unavailable: 'no token-embedding lookup was found' };
  let r = embed.output[0];
  // Scaling (Gemma's √D), casts and position embeddings (GPT-2) lie between the lookup and the residual stream.
  for (let guard = 0; guard < 8; guard++) {
    const next = consumers.get(r) ?? [];
    if (next.length !== 1 || !/^(Add|Mul|Cast|Identity)$/.test(next[0].opType ?? '')) break;
    r = next[0].output![0];
  }
  const chain: string[] = [];
  for (;;) {
    const add = (consumers.get(r) ?? []).find((n) => {
      if (n.opType !== 'Add' || n.input?.length !== 2) return false;
      const other = n.input[0] === r ? n.input[1] : n.input[1] === r ? n.input[0] : undefined;
      return other !== undefined && other !== r && reaches(r, other);
    });
    if (!add?.output?.[0]) break;
    r = add.output[0];
    chain.push(r);
  }
  if (chain.length !== 2 * layerCount)
    return {
      unavailable: `its residual stream could not be followed (${chain.length} residual additions for ${layerCount} layers; fused norms such as SkipLayerNormalization hide it)`,
    };
  const last = chain[chain.length - 1];

  // The tail: nodes downstream of the last residual that lead to the logits.
  const downstream = new Set<onnx.NodeProto>();
  const stack = [last];
  const seenValues = new Set<string>();
  while (stack.length) {
    const v = stack.pop()!;
    if (seenValues.has(v)) continue;
    seenValues.add(v);
    for (const n of consumers.get(v) ?? []) {
      downstream.add(n);
      for (const o of n.output ?? []) stack.push(o);
    }
  }
  const towardLogits = new Set<string>();
  const back = ['logits'];
  while (back.length) {
    const v = back.pop()!;
    if (towardLogits.has(v)) continue;
    towardLogits.add(v);
    for (const i of producer.get(v)?.input ?? []) if (i) back.push(i);
  }
  const tail = model.nodes.filter((n) => downstream.has(n) && (n.output ?? []).some((o) => towardLogits.has(o)));
  if (!tail.length) return { unavailable: 'no path from the last layer to the logits' };

  const index = `${PREFIX}_last_index`;
  const k = `${PREFIX}_k`;
  initializers.push(onnx.TensorProto.create({ name: k, dims: [1], dataType: 7, int64Data: [LENS_TOPK] }));
  const outputs: { probs: string; ids: string }[] = [];
  const nodes: onnx.NodeProto[] = [
    onnx.NodeProto.create({
      opType: 'Constant',
      output: [index],
      name: index,
      attribute: [
        onnx.AttributeProto.create({
          name: 'value',
          type: onnx.AttributeProto.AttributeType.TENSOR,
          t: onnx.TensorProto.create({ dims: [1], dataType: 7, int64Data: [-1] }),
        }),
      ],
    }),
  ];
  const axis = (v: number) =>
    onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: v });
  for (let l = 0; l < layerCount; l++) {
    const p = `${PREFIX}_${l}`;
    const rename = new Map<string, string>([[last, `${p}_residual`]]);
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Gather',
        input: [chain[2 * l + 1], index],
        output: [`${p}_residual`],
        name: `${p}_gather`,
        attribute: [axis(1)],
      }),
    );
    for (const n of tail) {
      for (const o of n.output ?? []) if (o) rename.set(o, `${p}/${o}`);
      nodes.push(
        onnx.NodeProto.create({
          ...n,
          input: (n.input ?? []).map((i) => rename.get(i) ?? i),
          output: (n.output ?? []).map((o) => (o ? rename.get(o)! : o)),
          name: `${p}/${n.name ?? n.opType}`,
        }),
      );
    }
    const probs = `${p}_probs`;
    const ids = `${p}_ids`;
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Softmax',
        input: [rename.get('logits')!],
        output: [`${p}_softmax`],
        name: `${p}_softmax`,
        attribute: [axis(-1)],
      }),
      onnx.NodeProto.create({
        opType: 'TopK',
        input: [`${p}_softmax`, k],
        output: [probs, ids],
        name: `${p}_topk`,
        attribute: [axis(-1)],
      }),
    );
    model.outputs.push(onnx.ValueInfoProto.create({ name: probs }), onnx.ValueInfoProto.create({ name: ids }));
    outputs.push({ probs, ids });
  }
  model.nodes.push(...nodes);
  return { layers: outputs };
}
