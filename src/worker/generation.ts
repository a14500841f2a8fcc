// Generation with attention: the model continues a prompt token by token and every step's attention rows are kept,
// so the analysis covers prompt + continuation. With a KV cache (graphs with past_key_values inputs and present
// outputs) each step feeds one token and returns that token's row of every layer and head; graphs without one are
// run on the whole sequence each step (the last row is the new one). The next-token distribution comes from the
// in-graph TopK that surgery adds after the logits (never N × vocabulary numbers).
import * as ort from 'onnxruntime-node';
import type { StopReason } from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import { halfToFloat } from './float16';
import { TOPK } from './graph-surgery';
import { feedsFor, type LoadedModel } from './model-runner';
import { seededRandom } from './seeded-random';

/** How to pick each next token. */
export interface SamplingOptions {
  maxNewTokens: number;
  /** 0 (default) is greedy; above 0 samples from the TOPK most likely tokens at this temperature. */
  temperature?: number;
  /** Sample only among the k most likely tokens (at most TOPK). */
  topK?: number;
  /** Seed of the sampler (same seed, same continuation). */
  seed?: number;
  /** Token ids that end the continuation (default: the model's end-of-sequence ids). */
  stopIds?: number[];
  /**
   * Also the next-token lists of every prompt position (default true): the LM head then runs over the whole prompt
   * once, as a plain generate never does (it needs the last position only).
   */
  promptExpectations?: boolean;
  /** Called with each new token as soon as it is chosen; returning false stops (cancel keeps what is there). */
  onToken?: (id: number, index: number) => boolean | undefined;
  /**
   * Called when the rows of positions [from, to) are known (the prompt's at once, then one per step), with every
   * layer's rows so far: rows[layer][position] is heads × (position + 1). The panel's matrix grows from these.
   */
  onRows?: (from: number, to: number, rows: Float32Array[][]) => void;
  /** Called after each new token with the generated ids so far; true ends the continuation (a stop sequence). */
  isStop?: (generated: number[]) => boolean;
}

/** The most likely next tokens after one position. */
export type NextTokens = { id: number; p: number }[];

export interface GenerationResult {
  /** Prompt + generated ids. */
  ids: number[];
  promptLength: number;
  /** Per layer: heads × N × N, causal (upper triangle 0), N = ids.length. */
  layers: Float32Array[];
  /** Per position i: the model's most likely next tokens after ids[0..i] (TOPK of them, best first). */
  next: NextTokens[];
  /** True when the KV cache was used (one token per step). */
  cached: boolean;
  stoppedBy: StopReason;
}

function floats(t: ort.Tensor): Float32Array {
  return t.type === 'float16' ? halfToFloat(t.data as Uint16Array) : (t.data as Float32Array);
}

function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
}

/** Rows [from, to) of the next-token outputs ([1, T, TOPK]) as lists. */
function readNext(probs: ort.Tensor, ids: ort.Tensor, from: number, to: number): NextTokens[] {
  const p = floats(probs);
  const id = ids.data as BigInt64Array;
  const out: NextTokens[] = [];
  for (let r = from; r < to; r++) {
    const row: NextTokens = [];
    for (let k = 0; k < TOPK; k++) row.push({ id: Number(id[r * TOPK + k]), p: p[r * TOPK + k] });
    out.push(row);
  }
  return out;
}

function choose(next: NextTokens, opts: SamplingOptions, random: () => number): number {
  const t = opts.temperature ?? 0;
  if (!(t > 0)) return next[0].id;
  const k = Math.max(1, Math.min(TOPK, opts.topK ?? TOPK));
  // p^(1/T), renormalised over the k most likely: softmax(logits / T) restricted to them.
  const weights = next.slice(0, k).map((n) => n.p ** (1 / t));
  const total = weights.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r <= 0) return next[i].id;
  }
  return next[k - 1].id;
}

/** Continues `promptIds` with the model; see GenerationResult. */
export async function generateWithAttention(
  model: LoadedModel,
  promptIds: number[],
  opts: SamplingOptions,
): Promise<GenerationResult> {
  const { session, surgery } = model;
  if (model.info.kind !== 'causal' || !surgery.topk)
    throw new EngineError(
      'bad-input',
      `${model.id} is not a causal language model (no logits, or it reads the whole text both ways): only decoders continue a text.`,
    );
  const topk = surgery.topk;
  const outputs = surgery.attentionOutputs;
  const heads = model.info.heads;
  const pasts = session.inputNames.filter((n) => /^past_key_values\./.test(n));
  const cached =
    !surgery.inlinedIf &&
    pasts.length > 0 &&
    pasts.every((n) => session.outputNames.includes(n.replace('past_key_values', 'present')));
  const stop = new Set(opts.stopIds ?? []);
  const random = seededRandom(opts.seed ?? 0);
  const P = promptIds.length;
  const maxN = P + Math.max(0, opts.maxNewTokens);
  const ids = [...promptIds];
  const rows: Float32Array[][] = heads.map(() => []); // per layer, per position: heads × (position + 1)
  const next: NextTokens[] = [];

  const run = async (feeds: Record<string, ort.Tensor>, fetch: string[]) => {
    try {
      return await session.run(feeds, fetch);
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
      throw new EngineError('bad-model', `the model failed while generating (${message}).`);
    }
  };
  const keepRows = (result: ort.InferenceSession.OnnxValueMapType, from: number, to: number, t: number) => {
    // Attention outputs are [1, H, rows, t]: store each row as heads × (position + 1).
    for (const [l, name] of outputs.entries()) {
      const data = floats(result[name]);
      const h = heads[l];
      const count = to - from;
      for (let r = 0; r < count; r++) {
        const q = from + r;
        const row = new Float32Array(h * (q + 1));
        for (let k = 0; k < h; k++)
          row.set(data.subarray((k * count + r) * t, (k * count + r) * t + q + 1), k * (q + 1));
        rows[l][q] = row;
      }
    }
  };

  // The prompt: every position's rows, and the next-token list of the last position (graphs without
  // num_logits_to_keep give every position's at no extra cost). The first token goes out after this one pass, as in
  // a plain generate; the other prompt positions' lists come from a pass at the end (see below).
  const presentNames = pasts.map((n) => n.replace('past_key_values', 'present'));
  const everyPosition = opts.promptExpectations !== false;
  const lastOnly = session.inputNames.includes('num_logits_to_keep');
  let result = await run(feedsFor(session, ids), [...outputs, topk.probs, topk.ids, ...(cached ? presentNames : [])]);
  keepRows(result, 0, P, P);
  opts.onRows?.(0, P, rows);
  if (lastOnly) next.push(...new Array(P - 1).fill([]), ...readNext(result[topk.probs], result[topk.ids], 0, 1));
  else next.push(...readNext(result[topk.probs], result[topk.ids], 0, P));

  let stoppedBy: StopReason = 'length';
  while (ids.length < maxN) {
    const chosen = choose(next[ids.length - 1], opts, random);
    ids.push(chosen);
    const q = ids.length - 1;
    if (opts.onToken?.(chosen, q - P) === false) {
      ids.pop();
      stoppedBy = 'cancelled';
      break;
    }
    // Feed the new token: its own attention row, and what the model expects after it.
    if (cached) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) {
        if (name === 'input_ids') feeds[name] = int64([chosen], [1, 1]);
        else if (name === 'attention_mask') feeds[name] = int64(new Array(q + 1).fill(1), [1, q + 1]);
        else if (name === 'position_ids') feeds[name] = int64([q], [1, 1]);
        else if (name === 'num_logits_to_keep' || name === 'logits_to_keep')
          feeds[name] = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
        else if (name.startsWith('past_key_values.')) feeds[name] = result[name.replace('past_key_values', 'present')];
        else if (name === 'use_cache_branch') feeds[name] = new ort.Tensor('bool', [true], [1]);
        else if (name === 'token_type_ids') feeds[name] = int64([0], [1, 1]);
      }
      result = await run(feeds, [...outputs, topk.probs, topk.ids, ...presentNames]);
      keepRows(result, q, q + 1, q + 1);
      next.push(...readNext(result[topk.probs], result[topk.ids], 0, 1));
    } else {
      result = await run(feedsFor(session, ids), [...outputs, topk.probs, topk.ids]);
      const t = ids.length;
      // The whole sequence again: keep only the last row (the earlier ones are the same numbers).
      for (const [l, name] of outputs.entries()) {
        const data = floats(result[name]);
        const h = heads[l];
        const row = new Float32Array(h * t);
        for (let k = 0; k < h; k++) row.set(data.subarray((k * t + t - 1) * t, (k * t + t) * t), k * t);
        rows[l][q] = row;
      }
      // Graphs with num_logits_to_keep return the last position only (feedsFor keeps 1).
      const last = session.inputNames.includes('num_logits_to_keep') ? 0 : t - 1;
      next.push(readNext(result[topk.probs], result[topk.ids], last, last + 1)[0]);
    }
    opts.onRows?.(q, q + 1, rows);
    if (stop.has(chosen)) {
      stoppedBy = 'eos';
      break;
    }
    if (opts.isStop?.(ids.slice(P))) {
      stoppedBy = 'stop-sequence';
      break;
    }
  }

  if (lastOnly && everyPosition && P > 1) {
    // What the model expected after each prompt token: all prompt positions' logits through the TopK, no maps
    // fetched (onnxruntime computes only what is asked for). After the continuation, so it never delays a token.
    const feeds = feedsFor(session, promptIds);
    feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([0n]), []);
    const all = await run(feeds, [topk.probs, topk.ids]);
    next.splice(0, P - 1, ...readNext(all[topk.probs], all[topk.ids], 0, P - 1));
  }

  const n = ids.length;
  const layers = heads.map((h, l) => {
    const m = new Float32Array(h * n * n);
    for (let q = 0; q < n; q++) {
      const row = rows[l][q];
      for (let k = 0; k < h; k++) m.set(row.subarray(k * (q + 1), (k + 1) * (q + 1)), k * n * n + q * n);
    }
    return m;
  });
  return { ids, promptLength: P, layers, next, cached, stoppedBy };
}
