// The JSON shape of exported attention: one builder, used by the CLI and by the panel's Export JSON (which the engine
// writes straight to the file, one matrix at a time, so a big export never becomes one string anywhere).
import type {
  AnalysisSummary,
  AttentionFamily,
  GenerateReply,
  HeadScore,
  HeadSelector,
  ModelInfo,
  Seq2SeqReply,
} from './messages';

/** Rounds to float32's meaningful digits so the JSON stays readable. */
export function round(v: number): number {
  return Number(v.toPrecision(7));
}

/** A row-major float32 buffer as N rows of N numbers. */
export function matrixRows(buffer: ArrayBuffer, n: number): number[][] {
  const a = new Float32Array(buffer);
  return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n), round));
}

/** The model part of the JSON. */
export function modelJson(m: ModelInfo) {
  return {
    id: m.id,
    kind: m.kind,
    layers: m.layers,
    heads: m.heads,
    kvHeads: m.kvHeads ?? m.heads,
    maxPositions: m.maxPositions,
    dtype: m.dtype,
  };
}

/** What an attention JSON holds: one view (a head, mean/max of heads, or rollout), or every layer × head. */
export interface AttentionJsonRequest {
  scope: 'view' | 'all';
  layer: number;
  head: HeadSelector;
  /** Where the text came from (a file and line, or "--text"). */
  source: string;
  /** Heads ranked by the CLI's --rank-heads, written as "heads". */
  ranking?: HeadScore[];
}

/**
 * The JSON document as a sequence of chunks, fetching one matrix at a time:
 * `{"model":{…,"dtype"},"source","n","tokens":[…],["heads":[…],]"attention":{"layer","head"|"rollout":true,"matrix"}}`,
 * or `"attentions"` indexed [layer][head][query][key] for every layer × head.
 */
export async function* attentionJsonChunks(
  s: AnalysisSummary,
  req: AttentionJsonRequest,
  slice: (layer: number, head: HeadSelector) => Promise<ArrayBuffer>,
): AsyncGenerator<string> {
  const head: Record<string, unknown> = { model: modelJson(s.model), source: req.source, n: s.n, tokens: s.tokens };
  // After generation: how many tokens were the prompt, and each generated token with the top 5 it was drawn from.
  if ('generated' in s) {
    const g = s as GenerateReply;
    head.promptTokens = g.promptTokens;
    head.stoppedBy = g.stoppedBy;
    if (g.stopSequence !== undefined) head.stopSequence = g.stopSequence;
    head.generated = g.generated.map((t) => ({ ...t, topk: t.topk.map((k) => ({ ...k, p: round(k.p) })) }));
  }
  if (req.ranking) head.heads = req.ranking.map((h) => ({ layer: h.layer, head: h.head, weight: round(h.weight) }));
  yield JSON.stringify(head).slice(0, -1);
  if (req.scope === 'all') {
    yield ',"attentions":[';
    for (let l = 0; l < s.model.layers; l++) {
      yield l === 0 ? '[' : ',[';
      for (let h = 0; h < s.model.heads[l]; h++)
        yield (h === 0 ? '' : ',') + JSON.stringify(matrixRows(await slice(l, h), s.n));
      yield ']';
    }
    yield ']}';
    return;
  }
  const which = req.head === 'rollout' ? { layer: req.layer, rollout: true } : { layer: req.layer, head: req.head };
  yield `,"attention":${JSON.stringify({ ...which, matrix: matrixRows(await slice(req.layer, req.head), s.n) })}}`;
}

/** Approximate size of the JSON for `matrices` N×N matrices (≈ 11 characters per number), for "size before writing". */
export function estimateJsonBytes(s: AnalysisSummary, matrices: number): number {
  return matrices * s.n * s.n * 11 + s.tokens.length * 80 + 500;
}

/** A row-major float32 buffer as `rows` rows of `cols` numbers (cross-attention is target × source). */
export function rectRows(buffer: ArrayBuffer, rows: number, cols: number): number[][] {
  const a = new Float32Array(buffer);
  return Array.from({ length: rows }, (_, i) => Array.from(a.subarray(i * cols, (i + 1) * cols), round));
}

/** What an encoder–decoder JSON holds: one map of a family, or every map of every family. */
export interface Seq2SeqJsonRequest {
  scope: 'view' | 'all';
  family: AttentionFamily;
  layer: number;
  head: HeadSelector;
  source: string;
}

/**
 * An encoder–decoder analysis as JSON: `{"model":{"id","kind":"encoder-decoder","layers":{"encoder","decoder"},
 * "heads":{…},…},"source","n","tokens":[…],"targetTokens":[…],"attention":{"family","layer","head","matrix"}}`, or
 * `"attentions":{"encoder":[l][h][q][k],"decoder":[…],"cross":[l][h][targetQuery][sourceKey]}`.
 */
export async function seq2seqJson(
  r: Seq2SeqReply,
  req: Seq2SeqJsonRequest,
  slice: (
    family: AttentionFamily,
    layer: number,
    head: HeadSelector,
  ) => Promise<{ rows: number; cols: number; buffer: ArrayBuffer }>,
): Promise<Record<string, unknown>> {
  const { modelType: _type, ...model } = r.model;
  const out: Record<string, unknown> = {
    model,
    source: req.source,
    n: r.tokens.length,
    tokens: r.tokens,
    targetTokens: r.targetTokens.map((t) =>
      t.topk ? { ...t, topk: t.topk.map((k) => ({ ...k, p: round(k.p) })) } : t,
    ),
    ...(r.languages ? { languages: { source: r.languages.source, target: r.languages.target } } : {}),
  };
  const rows = async (family: AttentionFamily, layer: number, head: HeadSelector) => {
    const s = await slice(family, layer, head);
    return rectRows(s.buffer, s.rows, s.cols);
  };
  if (req.scope === 'all') {
    const all: Record<string, number[][][][]> = {};
    for (const family of ['encoder', 'decoder', 'cross'] as const) {
      const side = family === 'encoder' ? 'encoder' : 'decoder';
      all[family] = [];
      for (let l = 0; l < r.model.layers[side]; l++) {
        const heads: number[][][] = [];
        for (let h = 0; h < r.model.heads[side][l]; h++) heads.push(await rows(family, l, h));
        all[family].push(heads);
      }
    }
    out.attentions = all;
  } else
    out.attention = {
      family: req.family,
      layer: req.layer,
      head: req.head,
      matrix: await rows(req.family, req.layer, req.head),
    };
  return out;
}
