// The engine's side of encoder–decoder models: the loaded model (one at a time, beside the decoder-only one), its
// analyses (three families of maps each), and slices of them. Engine delegates its seq2seq methods here.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { AUTO_ORDER, DTYPE_SUFFIX } from '../protocol/dtypes';
import type {
  AttentionFamily,
  Dtype,
  EngineEvent,
  FamilySliceReply,
  Seq2SeqParams,
  Seq2SeqReply,
  HeadSelector,
} from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import { ownBuffer } from './attention-store';
import { Rollout } from './head-analysis';
import { configureHub } from './hub';
import { loadTextSide } from './model-runner';
import { type Seq2SeqMaps, Seq2SeqModel } from './seq2seq';
import { describeTokens, encode } from './tokenize';
import { applyLanguages } from './translation-languages';

/** Analyses kept per model (older ones are forgotten). */
const KEEP = 4;

export class Seq2SeqAnalyses {
  private model: Seq2SeqModel | undefined;
  private key = '';
  private loadMs = 0;
  private readonly analyses = new Map<
    number,
    { maps: Seq2SeqMaps; rows: number; cols: number; rollouts: Partial<Record<'encoder' | 'decoder', Rollout>> }
  >();

  /** Translates the source (or reads params.target) and keeps the maps under `analysisId`. */
  async run(
    params: Seq2SeqParams,
    analysisId: number,
    onProgress?: (e: EngineEvent) => void,
    stopRequested: () => boolean = () => false,
  ): Promise<Seq2SeqReply> {
    if (typeof params.text !== 'string' || params.text.trim().length === 0)
      throw new EngineError('bad-input', 'There is no source text: select the text to translate.');
    const before = this.model;
    const model = await this.ensure(params, onProgress);
    const t0 = performance.now();
    const prefix = params.usePrefix !== false ? model.info.prefix : undefined;
    // Before the source is encoded: a many-to-many translator's source language goes into its template.
    const languages = applyLanguages(model.tokenizer, params);
    const forcedBos = languages?.forcedBos ?? model.info.forcedBos;
    const sourceText = `${prefix ?? ''}${params.text}`;
    const source = encode(model.tokenizer, sourceText);
    if (source.length > model.info.maxPositions)
      throw new EngineError(
        'bad-input',
        `The source is ${source.length} tokens, more than the ${model.info.maxPositions} this model reads. Select less text.`,
      );
    const text = (id: number) => model.tokenizer.decode([id], { skip_special_tokens: false });
    const top5 = (list: { id: number; p: number }[]) => list.slice(0, 5).map((t) => ({ ...t, text: text(t.id) }));
    let target: number[];
    let steps: { id: number; p: number }[][] = [];
    if (typeof params.target === 'string') {
      // Teacher forcing: the decoder reads what generation would have written — its start token, the forced first
      // token (BART's <s>, a translator's target language) — then the given translation and the end token.
      const ids = encode(model.tokenizer, params.target, false);
      const eos = model.info.eos[0];
      target = [model.info.decoderStart, ...(forcedBos === undefined ? [] : [forcedBos]), ...ids];
      if (eos !== undefined) target.push(eos);
    } else {
      const max = Math.floor(params.maxNewTokens ?? 32);
      if (!(max >= 1 && max <= 1024))
        throw new EngineError('bad-input', `the number of new tokens must be 1 … 1024 (got ${params.maxNewTokens}).`);
      ({ target, steps } = await model.generate(
        source,
        max,
        (id, index) => {
          if (stopRequested()) return false;
          onProgress?.({ token: { id, text: text(id) }, index });
          return undefined;
        },
        forcedBos,
      ));
    }
    const maps = await model.maps(source, target);
    const special = new Set(model.tokenizer.all_special_ids);
    const reply: Seq2SeqReply = {
      analysisId,
      model: {
        id: model.info.id,
        kind: 'encoder-decoder',
        modelType: model.info.modelType,
        layers: model.info.layers,
        heads: model.info.heads,
        maxPositions: model.info.maxPositions,
        dtype: model.info.dtype,
      },
      tokens: describeTokens(model.tokenizer, sourceText, source),
      targetTokens: target.map((id, i) => ({
        text: text(id),
        id,
        special: special.has(id),
        ...(i > 0 && steps[i - 1] ? { topk: top5(steps[i - 1]) } : {}),
      })),
      translation: model.tokenizer.decode(target, { skip_special_tokens: true }),
      generated: typeof params.target !== 'string',
      ...(prefix ? { prefix } : {}),
      ...(languages
        ? { languages: { source: languages.source, target: languages.target, available: languages.available } }
        : {}),
      timings: { loadMs: model === before ? 0 : this.loadMs, forwardMs: performance.now() - t0 },
    };
    this.analyses.set(analysisId, { maps, rows: target.length, cols: source.length, rollouts: {} });
    for (const id of this.analyses.keys()) if (this.analyses.size > KEEP) this.analyses.delete(id);
    return reply;
  }

  /** One head's map (or the mean / max of a layer's heads) of a family. */
  slice(p: { analysisId: number; family: AttentionFamily; layer: number; head: HeadSelector }): FamilySliceReply {
    const a = this.analyses.get(p.analysisId);
    if (!a) throw new EngineError('unknown-analysis', `analysis ${p.analysisId} is not held (run it again).`);
    const layers = a.maps[p.family];
    if (!layers) throw new EngineError('bad-input', `unknown family ${String(p.family)} (encoder, decoder or cross).`);
    if (!(Number.isInteger(p.layer) && p.layer >= 0 && p.layer < layers.length))
      throw new EngineError('bad-input', `layer ${p.layer} is outside 0 … ${layers.length - 1}.`);
    const rows = p.family === 'encoder' ? a.cols : a.rows;
    const cols = p.family === 'decoder' ? a.rows : a.cols;
    const size = rows * cols;
    const all = layers[p.layer];
    const heads = all.length / size;
    let out: Float32Array;
    if (typeof p.head === 'number') {
      if (!(Number.isInteger(p.head) && p.head >= 0 && p.head < heads))
        throw new EngineError('bad-input', `head ${p.head} is outside 0 … ${heads - 1}.`);
      out = all.slice(p.head * size, (p.head + 1) * size);
    } else if (p.head === 'rollout') {
      // Rollout through this layer for a self-attention family (its maps are square); cross-attention has none.
      if (p.family === 'cross')
        throw new EngineError('bad-input', 'rollout is for the self-attention families (encoder, decoder), not cross.');
      a.rollouts[p.family] ??= new Rollout(
        layers,
        layers.map((l) => l.length / size),
        rows,
      );
      out = a.rollouts[p.family]!.upTo(p.layer).slice();
    } else if (p.head === 'mean' || p.head === 'max') {
      out = new Float32Array(size);
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < size; i++) {
          const v = all[h * size + i];
          out[i] = p.head === 'max' ? Math.max(out[i], v) : out[i] + v / heads;
        }
    } else throw new EngineError('bad-input', `head must be a number, mean, max or rollout (got ${String(p.head)}).`);
    return { ...p, rows, cols, buffer: ownBuffer(out) };
  }

  private async ensure(params: Seq2SeqParams, onProgress?: (e: EngineEvent) => void): Promise<Seq2SeqModel> {
    const key = JSON.stringify([params.model, params.dtype, params.remoteHost ?? '', params.cacheDir ?? '']);
    if (this.model && this.key === key) return this.model;
    await this.dispose();
    const started = performance.now();
    configureHub(params);
    const { config, tokenizer } = await loadTextSide(params.model, onProgress);
    if (!config.is_encoder_decoder)
      throw new EngineError(
        'bad-input',
        `${params.model} is not an encoder–decoder model (config.json has no is_encoder_decoder): use Show Attention or --generate.`,
      );
    const dtype = seq2seqDtype(params.model, params.dtype);
    if (isAbsolute(params.model)) checkMergedDecoder(params.model, dtype);
    this.model = await Seq2SeqModel.load({ ...params, dtype, onProgress }, config, tokenizer);
    this.key = key;
    this.loadMs = performance.now() - started;
    return this.model;
  }

  async dispose(): Promise<void> {
    const m = this.model;
    this.model = undefined;
    this.key = '';
    this.analyses.clear();
    if (m) await m.dispose();
  }
}

/** `auto` for an encoder–decoder: the first dtype whose encoder file a local folder has; fp32 for hub ids. */
function seq2seqDtype(id: string, choice: Seq2SeqParams['dtype']): Dtype {
  if (choice !== 'auto') return choice;
  if (!isAbsolute(id)) return 'fp32';
  return AUTO_ORDER.find((d) => existsSync(join(id, 'onnx', `encoder_model${DTYPE_SUFFIX[d]}.onnx`))) ?? 'fp32';
}

/**
 * transformers.js 4 loads an encoder–decoder's decoder only as onnx/decoder_model_merged*.onnx. Folders exported
 * before Optimum merged the two decoders (decoder_model + decoder_with_past_model) get a message saying so, rather
 * than a missing-file error.
 */
function checkMergedDecoder(folder: string, dtype: Dtype): void {
  const file = (name: string) => join(folder, 'onnx', `${name}${DTYPE_SUFFIX[dtype]}.onnx`);
  if (existsSync(file('decoder_model_merged')) || !existsSync(file('decoder_model'))) return;
  throw new EngineError(
    'bad-model',
    `${folder} has the older seq2seq layout (onnx/decoder_model and decoder_with_past_model, no decoder_model_merged), ` +
      'which transformers.js 4 no longer loads. Export it again with a current Optimum (it merges the decoders), ' +
      'or use the onnx-community / Xenova copy of the model.',
  );
}
