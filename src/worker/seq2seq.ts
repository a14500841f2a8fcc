// Encoder–decoder models (T5, Marian, BART, M2M100 / NLLB in transformers.js's seq2seq layout): two sessions, both
// with their attention exposed by graph surgery. The encoder's maps are its self-attention over the source; the
// decoder's are told apart by where their keys come from (cross-attention.ts): its causal self-attention over the
// target, and cross-attention from each target position to the source. transformers.js resolves, downloads and
// caches the files; the sessions it creates are intercepted, as for decoder-only models (model-runner.ts).
import { basename, dirname } from 'node:path';
import { AutoModelForSeq2SeqLM, type PreTrainedTokenizer } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import type { Dtype } from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import { halfToFloat } from './float16';
import { exposeAttentionInFile, type SurgeryResult, TOPK } from './graph-surgery';
import { checkLoadFits, explainLoadError, progressCallback } from './hub';
import { createFromBytes, feedsFor, type LoadOptions } from './model-runner';

type Config = Record<string, unknown>;

/** One session with its surgery. */
interface Part {
  session: ort.InferenceSession;
  surgery: SurgeryResult;
}

/** What the engine knows about a loaded encoder–decoder. */
export interface Seq2SeqInfo {
  id: string;
  modelType: string;
  dtype: Dtype;
  layers: { encoder: number; decoder: number };
  heads: { encoder: number[]; decoder: number[] };
  maxPositions: number;
  decoderStart: number;
  eos: number[];
  /** Token the model must end with when it reaches its length limit (config.forced_eos_token_id, e.g. Marian's). */
  forcedEos?: number;
  /** Token the model must write first (config.forced_bos_token_id, BART's <s>); translators force a language. */
  forcedBos?: number;
  /** The model's own task prefix for translation (T5's "translate English to German: "), when it has one. */
  prefix?: string;
}

/** The three families of maps for one source and one target (decoder input ids). */
export interface Seq2SeqMaps {
  /** Per encoder layer: heads × S × S. */
  encoder: Float32Array[];
  /** Per decoder layer: heads × T × T (causal). */
  decoder: Float32Array[];
  /** Per decoder layer: heads × T × S. */
  cross: Float32Array[];
}

export class Seq2SeqModel {
  private constructor(
    readonly info: Seq2SeqInfo,
    readonly tokenizer: PreTrainedTokenizer,
    private readonly encoder: Part,
    private readonly decoder: Part,
    private readonly owner: { dispose(): Promise<unknown> },
  ) {}

  static async load(
    opts: LoadOptions & { dtype: Dtype },
    config: Config,
    tokenizer: PreTrainedTokenizer,
  ): Promise<Seq2SeqModel> {
    const id = opts.model;
    const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (
      ...a: unknown[]
    ) => Promise<ort.InferenceSession>;
    const parts = new Map<'encoder' | 'decoder', Part>();
    const intercept = async (pathOrBytes: unknown, options: unknown) => {
      if (typeof pathOrBytes !== 'string')
        throw new EngineError('bad-model', `${id}: an encoder–decoder model must load from files.`);
      checkLoadFits(id, (await import('node:fs')).statSync(pathOrBytes).size, opts.modelMemoryLimit);
      const surgery = exposeAttentionInFile(pathOrBytes, id);
      const session = await createFromBytes(create, id, surgery.bytes, options, dirname(pathOrBytes));
      parts.set(/decoder/.test(basename(pathOrBytes)) ? 'decoder' : 'encoder', { session, surgery });
      return session;
    };
    (ort.InferenceSession as unknown as { create: unknown }).create = intercept;
    let owner: { dispose(): Promise<unknown> };
    try {
      owner = (await AutoModelForSeq2SeqLM.from_pretrained(id, {
        dtype: opts.dtype,
        device: 'cpu',
        config,
        progress_callback: progressCallback(opts.onProgress),
      } as never)) as unknown as { dispose(): Promise<unknown> };
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw explainLoadError(id, error);
    } finally {
      (ort.InferenceSession as unknown as { create: unknown }).create = create;
    }
    const encoder = parts.get('encoder');
    const decoder = parts.get('decoder');
    if (!encoder || !decoder?.surgery.kinds || !decoder.surgery.topk)
      throw new EngineError(
        'bad-model',
        `${id}: expected onnx/encoder_model and a decoder with encoder_hidden_states and logits (found ${[...parts.keys()].join(', ') || 'no sessions'}).`,
      );
    const kinds = decoder.surgery.kinds;
    const selfCount = kinds.filter((k) => k === 'self').length;
    if (selfCount === 0 || selfCount !== kinds.length - selfCount)
      throw new EngineError(
        'bad-model',
        `${id}: the decoder has ${selfCount} self-attention and ${kinds.length - selfCount} cross-attention maps; expected one of each per layer.`,
      );
    const model = new Seq2SeqModel(
      {
        id,
        modelType: String(config.model_type ?? 'unknown'),
        dtype: opts.dtype,
        layers: { encoder: encoder.surgery.attentionOutputs.length, decoder: selfCount },
        heads: { encoder: [], decoder: [] },
        maxPositions: Number(config.n_positions ?? config.max_position_embeddings ?? 512),
        decoderStart: Number(config.decoder_start_token_id ?? config.pad_token_id ?? 0),
        eos: [config.eos_token_id].flat().filter((x): x is number => typeof x === 'number'),
        prefix: translationPrefix(config),
        ...(typeof config.forced_eos_token_id === 'number' ? { forcedEos: config.forced_eos_token_id } : {}),
        ...(typeof config.forced_bos_token_id === 'number' ? { forcedBos: config.forced_bos_token_id } : {}),
      },
      tokenizer,
      encoder,
      decoder,
      owner,
    );
    // Heads per layer from one tiny run (the graphs say it only through shapes).
    const probe = await model.maps([model.info.decoderStart], [model.info.decoderStart]);
    model.info.heads.encoder = probe.encoder.map((m) => m.length);
    model.info.heads.decoder = probe.decoder.map((m) => m.length);
    if (probe.cross.some((m, l) => m.length !== model.info.heads.decoder[l]))
      throw new EngineError('bad-model', `${id}: cross-attention and decoder self-attention differ in heads.`);
    return model;
  }

  /** Runs the encoder: its output and its maps (per layer heads × S × S). */
  private async encode(source: number[]): Promise<{ hidden: ort.Tensor; maps: Float32Array[] }> {
    const { session, surgery } = this.encoder;
    const out = await run(session, feedsFor(session, source), ['last_hidden_state', ...surgery.attentionOutputs]);
    return { hidden: out.last_hidden_state, maps: surgery.attentionOutputs.map((n) => floats(out[n])) };
  }

  /** Runs the decoder on the target ids (no cache: the whole target each time); `withMaps` fetches its maps. */
  private async decode(hidden: ort.Tensor, sourceLength: number, target: number[], withMaps: boolean) {
    const { session, surgery } = this.decoder;
    const feeds = feedsFor(session, target, undefined, {
      encoder_hidden_states: hidden,
      encoder_attention_mask: new ort.Tensor('int64', new BigInt64Array(sourceLength).fill(1n), [1, sourceLength]),
    });
    const topk = surgery.topk!;
    const fetch = [topk.probs, topk.ids, ...(withMaps ? surgery.attentionOutputs : [])];
    const out = await run(session, feeds, fetch);
    const T = target.length;
    const p = floats(out[topk.probs]);
    const ids = out[topk.ids].data as BigInt64Array;
    // Every target position's next-token list (the decoder has no num_logits_to_keep).
    const next = Array.from({ length: T }, (_, r) =>
      Array.from({ length: TOPK }, (_, k) => ({ id: Number(ids[r * TOPK + k]), p: p[r * TOPK + k] })),
    );
    return { next, maps: withMaps ? surgery.attentionOutputs.map((n) => floats(out[n])) : [] };
  }

  /** Every map for a source and a target (the decoder's input ids, starting with its start token). */
  async maps(source: number[], target: number[]): Promise<Seq2SeqMaps & { next: { id: number; p: number }[][] }> {
    const enc = await this.encode(source);
    const dec = await this.decode(enc.hidden, source.length, target, true);
    const kinds = this.decoder.surgery.kinds!;
    return {
      encoder: enc.maps,
      decoder: dec.maps.filter((_, i) => kinds[i] === 'self'),
      cross: dec.maps.filter((_, i) => kinds[i] === 'cross'),
      next: dec.next,
    };
  }

  /**
   * Greedy generation: the decoder is run on the whole target at each step (what the maps need in the end anyway);
   * `onToken` hears each token as it is chosen and may stop the run by returning false. `forcedBos` (default the
   * config's) is written first, as transformers.js's ForcedBOS processor does.
   */
  async generate(
    source: number[],
    maxNewTokens: number,
    onToken?: (id: number, index: number) => boolean | undefined,
    forcedBos = this.info.forcedBos,
  ): Promise<{ target: number[]; steps: { id: number; p: number }[][] }> {
    const enc = await this.encode(source);
    const target = [this.info.decoderStart];
    const steps: { id: number; p: number }[][] = [];
    for (let i = 0; i < maxNewTokens; i++) {
      const { next } = await this.decode(enc.hidden, source.length, target, false);
      const list = next[target.length - 1];
      // As transformers.js's generate does: the last step allowed is forced to the end token when the model says so.
      const forced = i === maxNewTokens - 1 ? this.info.forcedEos : i === 0 ? forcedBos : undefined;
      const id = forced ?? list[0].id;
      if (onToken?.(id, i) === false) break;
      target.push(id);
      steps.push(list);
      if (this.info.eos.includes(id)) break;
    }
    return { target, steps };
  }

  async dispose(): Promise<void> {
    await this.owner.dispose();
  }
}

function floats(t: ort.Tensor): Float32Array {
  return t.type === 'float16' ? halfToFloat(t.data as Uint16Array) : (t.data as Float32Array);
}

async function run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetch: string[]) {
  try {
    return await session.run(feeds, fetch);
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
    throw new EngineError('bad-model', `the model failed while running (${message}).`);
  }
}

/** The first translation prefix in config.task_specific_params (T5 names its tasks there). */
function translationPrefix(config: Config): string | undefined {
  const tasks = config.task_specific_params as Record<string, { prefix?: unknown }> | undefined;
  if (!tasks) return undefined;
  const t = Object.entries(tasks).find(([name, v]) => name.startsWith('translation') && typeof v?.prefix === 'string');
  return t ? String(t[1].prefix) : undefined;
}
