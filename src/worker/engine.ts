// The attention engine: one loaded model, the stored analyses, and the methods the host calls.
// Pure logic over LoadedModel; the worker entry only wires it to a message port, so tests call it directly.
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type {
  AnalysisReply,
  AnalysisSummary,
  ComparePick,
  AnalyzeParams,
  Direction,
  DownloadProgress,
  EngineEvent,
  EngineApi,
  FlipScore,
  GenerateParams,
  GenerateReply,
  LayerOperandsReply,
  LogitLensReply,
  AttentionFamily,
  FamilySliceReply,
  Seq2SeqParams,
  Seq2SeqReply,
  HeadScore,
  HeadSelector,
  RankBy,
  RowsReply,
  SliceReply,
  ThumbnailsReply,
  OverviewReply,
  ReceivedReply,
  TileReply,
  LongInfo,
} from '../protocol/messages';
import { LONG_FROM_TOKENS } from '../protocol/messages';
import { type LongPass, LongRunner } from './long-run';
import { LongStore } from './long-store';
import { blockFor } from './long-surgery';
import { attentionJsonChunks } from '../protocol/attention-json';
import { formatBytes } from '../protocol/format';
import { EngineError } from '../protocol/rpc';
import { AttentionStore, ownBuffer } from './attention-store';
import { configureHub } from './hub';
import { generateWithAttention } from './generation';
import { liveRows } from './live-rows';
import { logitLensAt } from './lens-run';
import { Seq2SeqAnalyses } from './seq2seq-analyses';
import { LoadedModel, loadTextSide } from './model-runner';
import { configShape } from './model-config';
import { TokenCounter } from './token-counter';
import { writeChunks } from './write-chunks';
import { isAbsolute } from 'node:path';
import { alignmentRules, describeTokens, encode } from './tokenize';

/** How many analyses stay in memory; older ones are released. */
const KEEP_ANALYSES = 3;
/** UTF-16 units per token kept before tokenising a long text (a token is rarely longer; saves seconds on 1 MB). */
const UNITS_PER_TOKEN_BOUND = 32;

type Methods = { [K in keyof EngineApi]: (p: Parameters<EngineApi[K]>[0]) => Promise<ReturnType<EngineApi[K]>> };

/** Implements EngineApi; one instance per worker. */
export class Engine implements Methods {
  private model: LoadedModel | undefined;
  private modelKey = '';
  private loading: Promise<LoadedModel> | undefined;
  private readonly analyses = new Map<number, AttentionStore | LongStore>();
  /** The loaded model's long graph and rows graphs (long-run.ts), made on the first long analysis. */
  private longRunner: LongRunner | undefined;
  /** What each held analysis showed (tokens, model), for exports. */
  private readonly summaries = new Map<number, AnalysisSummary>();
  private nextAnalysis = 1;
  private readonly tokenizers = new Map<
    string,
    Promise<{ tokenizer: PreTrainedTokenizer; config: Record<string, unknown>; counter: TokenCounter }>
  >();

  /** Loads (or reuses) the model; switching models disposes the old session first. */
  async ensureModel(
    params: Pick<AnalyzeParams, 'model' | 'dtype' | 'remoteHost' | 'cacheDir' | 'allowRemote' | 'modelMemoryLimit'>,
    onProgress?: (p: DownloadProgress) => void,
  ): Promise<LoadedModel> {
    const key = JSON.stringify([
      params.model,
      params.dtype,
      params.remoteHost ?? '',
      params.cacheDir ?? '',
      params.allowRemote ?? true,
    ]);
    if (this.model && this.modelKey === key) return this.model;
    if (this.loading && this.modelKey === key) return this.loading;
    const old = this.model;
    this.model = undefined;
    this.analyses.clear();
    this.summaries.clear();
    await this.longRunner?.dispose();
    this.longRunner = undefined;
    if (old) await old.dispose();
    this.modelKey = key;
    this.loading = LoadedModel.load({ ...params, onProgress });
    try {
      this.model = await this.loading;
      return this.model;
    } catch (error) {
      this.modelKey = '';
      throw error;
    } finally {
      this.loading = undefined;
    }
  }

  async analyze(params: AnalyzeParams, onProgress?: (p: DownloadProgress) => void): Promise<AnalysisReply> {
    if (typeof params.text !== 'string' || params.text.trim().length === 0) {
      throw new EngineError('bad-input', 'There is no text to analyse: select some text (not only whitespace).');
    }
    // A long analysis's whole pass under way finishes first: two passes at once would hold the model and two N² maps.
    await this.longWhole;
    const before = this.model;
    const model = await this.ensureModel(params, onProgress);
    const limit = Math.max(2, Math.min(params.maxTokens ?? Infinity, model.info.maxPositions));
    const t0 = performance.now();
    const around =
      typeof params.around === 'number' && Number.isFinite(params.around)
        ? Math.max(0, Math.min(params.text.length, Math.floor(params.around)))
        : undefined;
    // A token is rarely longer than UNITS_PER_TOKEN_BOUND units, so only this much text around the target is tokenised.
    const textBudget = limit * UNITS_PER_TOKEN_BOUND;
    let from = 0;
    if (params.text.length > textBudget && around !== undefined)
      from = codePointStart(
        params.text,
        Math.max(0, Math.min(around - textBudget / 2, params.text.length - textBudget)),
      );
    const text =
      params.text.length - from > textBudget
        ? cutAtCodePoint(params.text.slice(from), textBudget)
        : params.text.slice(from);
    let ids = encode(model.tokenizer, text);
    let tokens = describeTokens(model.tokenizer, text, ids);
    let truncated = text.length < params.text.length;
    if (ids.length > limit) {
      truncated = true;
      // Keep the leading and closing special tokens ([CLS] … [SEP]) so the model sees a well-formed sequence.
      let lead = 0;
      while (lead < tokens.length && tokens[lead].special && tokens[lead].start === null) lead++;
      let trail = 0;
      while (
        trail < tokens.length - lead &&
        tokens[tokens.length - 1 - trail].special &&
        tokens[tokens.length - 1 - trail].start === null
      )
        trail++;
      const inner = tokens.length - lead - trail;
      const keep = Math.max(1, limit - lead - trail);
      let first = 0;
      if (around !== undefined) {
        let centre = tokens.findIndex((t, i) => i >= lead && t.end !== null && t.end > around - from);
        if (centre < 0) centre = tokens.length - trail - 1;
        first = Math.max(0, Math.min(inner - keep, centre - lead - Math.floor(keep / 2)));
      }
      const pick = <T>(a: T[]) => [
        ...a.slice(0, lead),
        ...a.slice(lead + first, lead + first + keep),
        ...a.slice(a.length - trail),
      ];
      ids = pick(ids);
      tokens = pick(tokens);
    }
    if (from > 0)
      tokens = tokens.map((t) =>
        t.start === null || t.end === null ? t : { ...t, start: t.start + from, end: t.end + from },
      );
    const n = ids.length;
    const mapBytes = model.info.heads.reduce((a, h) => a + h, 0) * n * n * 4;
    const budget = params.maxAttentionBytes;
    const mode = params.mode ?? 'auto';
    const long =
      mode === 'long' || (mode === 'auto' && (n > LONG_FROM_TOKENS || (budget !== undefined && mapBytes > budget)));
    if (!long && budget !== undefined && mapBytes > budget) {
      throw new EngineError(
        'over-budget',
        `Attention maps for ${n} tokens would take ${formatBytes(mapBytes)} ` +
          `(${model.info.layers} layers × ${model.info.heads[0]} heads × ${n}² × 4 bytes), over the ${formatBytes(budget)} budget ` +
          'for attention maps. Select less text, lower the token limit, or raise the budget.',
      );
    }
    if (long && budget !== undefined) {
      const kept = longKeptEstimate(model.info, n);
      if (kept > budget)
        throw new EngineError(
          'over-budget',
          `A long analysis of ${n} tokens keeps about ${formatBytes(kept)} (overviews, received sums, and each layer's queries, keys and mask ` +
            `for exact rows), over the ${formatBytes(budget)} budget. Select less text, lower the token limit, or raise the budget.`,
        );
    }
    const tokenizeMs = performance.now() - t0;
    const t1 = performance.now();
    let store: AttentionStore | LongStore;
    let longInfo: LongInfo | undefined;
    if (long) {
      this.longRunner ??= new LongRunner(model);
      const runner = this.longRunner;
      const block = blockFor(n);
      // The long graph carries the weights too: the model's own session goes while it runs (see suspend()).
      await model.suspend();
      // The first overview of an early layer comes from the long graph cut after it (a thirtieth of the pass for
      // layer 0 on the SmolLM2 shape); the whole pass runs when anything else is read — the panel asks for the grid
      // right after its first paint.
      const fv = params.firstView;
      const cut =
        fv &&
        fv.head !== 'rollout' &&
        Number.isInteger(fv.layer) &&
        fv.layer >= 0 &&
        2 * (fv.layer + 1) <= model.info.layers
          ? await runner.runFirst(ids, block, fv.layer)
          : undefined;
      const ls = cut
        ? new LongStore(cut, runner, () => this.wholeLong(model, runner, ids, block))
        : new LongStore(await this.wholeLong(model, runner, ids, block), runner);
      this.lastLongFirstCut = cut !== undefined;
      longInfo = {
        block: ls.block,
        size: ls.size,
        keptBytes: cut ? longKeptEstimate(model.info, n) : ls.bytes,
        fullBytes: mapBytes,
      };
      store = ls;
    } else store = await this.shortStore(model, ids, params.firstView);
    const forwardMs = performance.now() - t1;
    const analysisId = this.nextAnalysis++;
    this.analyses.set(analysisId, store);
    for (const id of this.analyses.keys()) if (this.analyses.size > KEEP_ANALYSES) this.forget(id);
    const analysedChars = tokens.reduce((m, t) => (t.end !== null && t.end > m ? t.end : m), 0);
    const analysedFrom = tokens.reduce((m, t) => (t.start !== null && t.start < m ? t.start : m), params.text.length);
    const summary: AnalysisSummary = {
      analysisId,
      model: model.info,
      tokens,
      n,
      truncated,
      analysedFrom: truncated ? Math.min(analysedFrom, analysedChars) : 0,
      analysedChars: truncated ? analysedChars : params.text.length,
      totalChars: params.text.length,
      timings: { loadMs: model === before ? 0 : model.loadMs, tokenizeMs, forwardMs },
      ...(longInfo ? { long: longInfo } : {}),
    };
    this.summaries.set(analysisId, summary);
    const fv = params.firstView;
    if (!fv) return summary;
    if (store instanceof LongStore) {
      const head = fv.head === 'rollout' ? 'mean' : fv.head;
      const layer = fv.layer >= 0 && fv.layer < store.heads.length ? fv.layer : 0;
      return {
        ...summary,
        first: {
          overview: await this.overview({ analysisId, layer, head }),
          received: await this.received({ analysisId, layer, head }),
          ...(fv.thumbnailSize ? { thumbnails: await this.thumbnails({ analysisId, size: fv.thumbnailSize }) } : {}),
        },
      };
    }
    // The first paint's data travels with the analysis: one round trip instead of three.
    try {
      const slice = await this.slice({ analysisId, layer: fv.layer, head: fv.head });
      return {
        ...summary,
        first: fv.thumbnailSize
          ? { slice, thumbnails: await this.thumbnails({ analysisId, size: fv.thumbnailSize }) }
          : { slice },
      };
    } catch {
      return summary;
    }
  }

  /** Whether the last long analysis's first overview came from a cut graph (for tests). */
  lastLongFirstCut = false;

  /** The whole long pass under way, if any: a new analysis waits for it (two passes would hold two N² maps). */
  private longWhole: Promise<unknown> = Promise.resolve();

  /** A long analysis's whole pass, then its rows graphs' warm-up and the model's own session back. */
  private wholeLong(model: LoadedModel, runner: LongRunner, ids: number[], block: number): Promise<LongPass> {
    const whole = (async () => {
      await this.longWhole;
      // A short analysis since the first overview may have brought the model's own session back.
      await model.suspend();
      const pass = await runner.run(ids, block);
      // The rows graphs are built while the panel paints. Then, when the long session was released (large N), the
      // model's own session comes back in the background: the next short analysis does not wait for it (2.7 s on
      // the SmolLM2 shape), and nothing holds the weights twice. Not when a newer long pass began meanwhile (it
      // stopped this warm-up and holds the weights now).
      const passNo = runner.passCount;
      void runner
        .warm(pass)
        .then(() =>
          runner.holdsSession || this.model !== model || runner.passCount !== passNo ? undefined : model.resume(),
        )
        .catch(() => undefined);
      return pass;
    })();
    this.longWhole = whole.catch(() => undefined);
    return whole;
  }

  /**
   * A short analysis's maps. With a first view of one layer (a head, or the mean / max over its heads), only that
   * layer is computed (LoadedModel.runFirstView): an early layer by a graph cut after it (0.04–0.14 × the plain
   * forward for layer 0 at N = 512 on bert-base), another fetched alone from the whole graph (1.01–1.06 × instead
   * of 1.19–1.34 × with all 144 maps; bench: firstView). The rest comes from a whole pass the first time it is
   * needed — the panel asks for the thumbnails right after its first paint.
   */
  private async shortStore(
    model: LoadedModel,
    ids: number[],
    firstView: AnalyzeParams['firstView'],
  ): Promise<AttentionStore> {
    const layers = model.info.layers;
    const layer = firstView?.layer;
    const oneLayer =
      firstView !== undefined &&
      firstView.head !== 'rollout' &&
      Number.isInteger(layer) &&
      (layer as number) >= 0 &&
      (layer as number) < layers &&
      layers > 1;
    if (!oneLayer) return new AttentionStore(ids.length, await model.run(ids), model.info.heads);
    const first = await model.runFirstView(ids, layer as number);
    const held: (Float32Array | undefined)[] = new Array(layers).fill(undefined);
    held[layer as number] = first;
    return new AttentionStore(ids.length, held, model.info.heads, async () => {
      if (this.model !== model)
        throw new EngineError('unknown-analysis', 'the model of this analysis is no longer loaded; run it again.');
      return model.run(ids);
    });
  }

  /** Set by stopGenerating: the running generate ends after its current step and replies with what it has. */
  private stopRequested = false;
  private generating = false;

  async stopGenerating(_params: Record<string, never> = {}): Promise<{ stopping: boolean }> {
    this.stopRequested = this.generating;
    return { stopping: this.generating };
  }

  /** Continues the text with a causal model; the analysis covers prompt + continuation (see generation.ts). */
  async generate(params: GenerateParams, onProgress?: (p: EngineEvent) => void): Promise<GenerateReply> {
    if (typeof params.text !== 'string' || params.text.length === 0)
      throw new EngineError('bad-input', 'There is no prompt: select the text the model should continue.');
    await this.longWhole;
    const maxNew = Math.floor(params.maxNewTokens);
    if (!(maxNew >= 1 && maxNew <= 1024))
      throw new EngineError('bad-input', `the number of new tokens must be 1 … 1024 (got ${params.maxNewTokens}).`);
    const before = this.model;
    const model = await this.ensureModel(params, onProgress);
    const t0 = performance.now();
    const promptIds = encode(model.tokenizer, params.text);
    const text = (id: number) => model.tokenizer.decode([id], { skip_special_tokens: false });
    const limit = Math.min(params.maxTokens ?? Infinity, model.info.maxPositions);
    if (promptIds.length + maxNew > limit)
      throw new EngineError(
        'bad-input',
        `The prompt is ${promptIds.length} tokens; with ${maxNew} new ones it exceeds the ${limit} this model reads. Select less text.`,
      );
    const total = model.info.heads.reduce((a, h) => a + h, 0) * (promptIds.length + maxNew) ** 2 * 4;
    if (params.maxAttentionBytes !== undefined && total > params.maxAttentionBytes)
      throw new EngineError(
        'over-budget',
        `Attention maps for ${promptIds.length + maxNew} tokens would take ${formatBytes(total)}, over the ${formatBytes(params.maxAttentionBytes)} budget.`,
      );
    const tokenizeMs = performance.now() - t0;
    const t1 = performance.now();
    const eos = [model.config.eos_token_id, (model.tokenizer as unknown as { eos_token_id?: number }).eos_token_id]
      .flat()
      .filter((x): x is number => typeof x === 'number');
    await model.resume();
    this.stopRequested = false;
    this.generating = true;
    const stops = (params.stopSequences ?? []).filter((x) => typeof x === 'string' && x.length > 0);
    let stopSequence: string | undefined;
    const watch = params.watch;
    const watchLayer = watch && watch.layer >= 0 && watch.layer < model.info.layers ? watch.layer : undefined;
    const promptTokens = describeTokens(model.tokenizer, params.text, promptIds);
    const result = await generateWithAttention(model, promptIds, {
      maxNewTokens: maxNew,
      temperature: params.temperature,
      topK: params.topK,
      seed: params.seed,
      stopIds: eos,
      // Each token goes out as soon as it is chosen (the host streams them into the panel).
      onToken: (id, index) => {
        if (this.stopRequested) return false;
        onProgress?.({ token: { id, text: text(id) }, index });
        return undefined;
      },
      // The watched head's new rows follow (the prompt's first), so the panel's matrix grows as the model writes.
      onRows:
        watch && watchLayer !== undefined && onProgress
          ? (from, to, rows) => {
              const heads = model.info.heads[watchLayer];
              const head = typeof watch.head === 'number' && !(watch.head < heads) ? 0 : watch.head;
              const data = liveRows(rows[watchLayer], heads, head, from, to);
              onProgress({
                live: {
                  layer: watchLayer,
                  head,
                  from,
                  to,
                  buffer: ownBuffer(data),
                  ...(from === 0 ? { tokens: promptTokens } : {}),
                },
              });
            }
          : undefined,
      isStop: stops.length
        ? (generated) => {
            const written = model.tokenizer.decode(generated, { skip_special_tokens: true });
            stopSequence = stops.find((x) => written.includes(x));
            return stopSequence !== undefined;
          }
        : undefined,
    }).finally(() => {
      this.generating = false;
    });
    const forwardMs = performance.now() - t1;
    const top5 = (list: { id: number; p: number }[]) =>
      list.slice(0, 5).map((t) => ({ id: t.id, text: text(t.id), p: t.p }));
    const P = result.promptLength;
    const generatedIds = result.ids.slice(P);
    const tokens = [
      ...promptTokens,
      ...generatedIds.map((id) => ({ text: text(id), id, start: null, end: null, special: false, generated: true })),
    ];
    const n = result.ids.length;
    const analysisId = this.nextAnalysis++;
    this.analyses.set(analysisId, new AttentionStore(n, result.layers, model.info.heads));
    for (const id of this.analyses.keys()) if (this.analyses.size > KEEP_ANALYSES) this.forget(id);
    const summary: GenerateReply = {
      analysisId,
      model: model.info,
      tokens,
      n,
      truncated: false,
      analysedFrom: 0,
      analysedChars: params.text.length,
      totalChars: params.text.length,
      timings: { loadMs: model === before ? 0 : model.loadMs, tokenizeMs, forwardMs },
      promptTokens: P,
      generated: generatedIds.map((id, j) => ({ id, text: text(id), topk: top5(result.next[P + j - 1]) })),
      expected: result.next.map(top5),
      cached: result.cached,
      stoppedBy: result.stoppedBy,
      ...(stopSequence !== undefined ? { stopSequence } : {}),
    };
    this.summaries.set(analysisId, summary);
    return summary;
  }

  private readonly seq2seqs = new Seq2SeqAnalyses();

  /** Encoder–decoder models (see seq2seq-analyses.ts); analysis ids are shared with the decoder-only ones. */
  async seq2seq(params: Seq2SeqParams, onProgress?: (p: EngineEvent) => void): Promise<Seq2SeqReply> {
    // stopGenerating ends a translation after its current step too: the reply holds what was written.
    this.stopRequested = false;
    this.generating = true;
    try {
      return await this.seq2seqs.run(params, this.nextAnalysis++, onProgress, () => this.stopRequested);
    } finally {
      this.generating = false;
    }
  }

  /** Whether a model is an encoder–decoder (from its config.json; the graph is not loaded). */
  async isEncoderDecoder(
    params: Pick<AnalyzeParams, 'model' | 'remoteHost' | 'cacheDir' | 'allowRemote'>,
  ): Promise<boolean> {
    const { config } = await this.tokenizerFor(params);
    return !!config.is_encoder_decoder;
  }

  async familySlice(params: {
    analysisId: number;
    family: AttentionFamily;
    layer: number;
    head: HeadSelector;
  }): Promise<FamilySliceReply> {
    return this.seq2seqs.slice(params);
  }

  async logitLens(params: { analysisId: number; index: number }): Promise<LogitLensReply> {
    const summary = this.summaries.get(params.analysisId);
    this.store(params.analysisId);
    const model = this.model;
    if (!summary || !model || model.id !== summary.model.id || model.dtype !== summary.model.dtype)
      throw new EngineError('unknown-analysis', 'the model of this analysis is no longer loaded; run it again.');
    if (!(Number.isInteger(params.index) && params.index >= 0 && params.index < summary.n))
      throw new EngineError('bad-input', `token index ${params.index} is outside 0 … ${summary.n - 1}.`);
    const base = { analysisId: params.analysisId, index: params.index };
    const lens = await logitLensAt(
      model,
      summary.tokens.map((t) => t.id),
      params.index,
    );
    if ('unavailable' in lens)
      return { ...base, unavailable: `This graph does not allow a logit lens: ${lens.unavailable}.` };
    const text = (id: number) => model.tokenizer.decode([id], { skip_special_tokens: false });
    return { ...base, layers: lens.layers.map((list) => list.map((t) => ({ ...t, text: text(t.id) }))) };
  }

  async slice(params: { analysisId: number; layer: number; head: HeadSelector }): Promise<SliceReply> {
    const store = this.full(params.analysisId);
    await this.ready(store, params.head === 'rollout' ? undefined : params.layer);
    return headReply(params, store.n, store.slice(params.layer, params.head));
  }

  async thumbnails(params: { analysisId: number; size: number }): Promise<ThumbnailsReply> {
    const store = this.store(params.analysisId);
    await this.ready(store);
    const { size, data } = store.thumbnails(params.size);
    return { analysisId: params.analysisId, size, heads: store.heads, buffer: ownBuffer(data) };
  }

  async rows(params: { analysisId: number; layer: number; index: number; direction: Direction }): Promise<RowsReply> {
    const store = this.store(params.analysisId);
    const direction: Direction = params.direction === 'column' ? 'column' : 'row';
    await this.ready(store, params.layer);
    const data = await store.rows(params.layer, params.index, direction);
    return {
      analysisId: params.analysisId,
      layer: params.layer,
      index: params.index,
      direction,
      heads: store.heads[params.layer],
      n: store.n,
      buffer: ownBuffer(data),
    };
  }

  async countTokens(
    params: Parameters<EngineApi['countTokens']>[0],
    onProgress?: (p: DownloadProgress) => void,
  ): Promise<ReturnType<EngineApi['countTokens']>> {
    const { counter, config, tokenizer } = await this.tokenizerFor(params, onProgress);
    const shape = configShape(config, tokenizer);
    const loaded = this.model?.id === params.model ? this.model.info : undefined;
    return {
      count: counter.count(params.text),
      maxPositions: loaded?.maxPositions ?? shape.maxPositions,
      layers: loaded?.layers ?? shape.layers,
      // Config numbers were range-checked when the config loaded (model-files.ts), so this array is small.
      heads: loaded?.heads ?? new Array(shape.layers).fill(shape.heads),
      hiddenSize: loaded?.hiddenSize ?? shape.hiddenSize,
      ...(config.is_encoder_decoder ? { encoderDecoder: true } : {}),
    };
  }

  async rankHeads(params: { analysisId: number; by: RankBy }): Promise<{ heads: HeadScore[] }> {
    const store = this.store(params.analysisId);
    await this.ready(store);
    return { heads: await store.rank(params.by) };
  }

  async compareHeads(params: { a: ComparePick; b: ComparePick }): Promise<{ heads: FlipScore[] }> {
    const a = this.store(params.a.analysisId);
    const b = this.store(params.b.analysisId);
    await this.ready(a);
    await this.ready(b);
    if (a.heads.join() !== b.heads.join()) {
      throw new EngineError(
        'bad-input',
        'the two texts were analysed with different models; analyse both with the same one.',
      );
    }
    // a(query→key1) − a(query→key2) for every head, through the store's own validated pair ranking.
    const difference = async (store: AttentionStore | LongStore, p: ComparePick) => {
      const pick = async (key: number) =>
        new Map(
          (await store.rank({ kind: 'pair', query: p.query, key })).map((h) => [`${h.layer}:${h.head}`, h.weight]),
        );
      const [k1, k2] = [await pick(p.key1), await pick(p.key2)];
      return (layer: number, head: number) => (k1.get(`${layer}:${head}`) ?? 0) - (k2.get(`${layer}:${head}`) ?? 0);
    };
    const [da, db] = [await difference(a, params.a), await difference(b, params.b)];
    const heads: FlipScore[] = a.heads.flatMap((count, layer) =>
      Array.from({ length: count }, (_, head) => {
        const [x, y] = [da(layer, head), db(layer, head)];
        return { layer, head, score: x - y, a: x, b: y };
      }),
    );
    return { heads: heads.sort((p, q) => Math.abs(q.score) - Math.abs(p.score)) };
  }

  async release(params: { analysisId: number }): Promise<{ released: boolean }> {
    return { released: this.forget(params.analysisId) };
  }

  async exportJson(params: Parameters<EngineApi['exportJson']>[0]): Promise<ReturnType<EngineApi['exportJson']>> {
    const summary = this.summaries.get(params.analysisId);
    this.full(params.analysisId);
    if (!summary) throw new EngineError('unknown-analysis', `analysis ${params.analysisId} is no longer held.`);
    if (typeof params.path !== 'string' || !isAbsolute(params.path))
      throw new EngineError('bad-input', 'the export needs an absolute file path.');
    const chunks = attentionJsonChunks(
      summary,
      {
        scope: params.scope === 'all' ? 'all' : 'view',
        layer: params.layer,
        head: params.head,
        source: String(params.source ?? ''),
      },
      async (layer, head) => (await this.slice({ analysisId: params.analysisId, layer, head })).buffer,
    );
    return { bytes: await writeChunks(params.path, chunks) };
  }

  private forget(analysisId: number): boolean {
    this.summaries.delete(analysisId);
    return this.analyses.delete(analysisId);
  }

  /** Frees everything (worker shutdown). */
  async dispose(): Promise<void> {
    await this.seq2seqs.dispose();
    await this.longRunner?.dispose();
    this.longRunner = undefined;
    this.analyses.clear();
    this.summaries.clear();
    const m = this.model;
    this.model = undefined;
    if (m) await m.dispose();
  }

  /** Bytes of attention data held, for memory checks. */
  get heldBytes(): number {
    let total = 0;
    for (const s of this.analyses.values()) total += s.bytes;
    return total;
  }

  /** Waits for a first-view analysis's other layers when they are read (short and long ones alike). */
  private async ready(store: AttentionStore | LongStore, layer?: number): Promise<void> {
    // A layer out of range gets the store's own clear refusal at once, not after the whole pass.
    if (layer !== undefined && !(Number.isInteger(layer) && layer >= 0 && layer < store.heads.length)) return;
    await store.ready(layer);
  }

  private store(analysisId: number): AttentionStore | LongStore {
    const store = this.analyses.get(analysisId);
    if (!store) throw new EngineError('unknown-analysis', `analysis ${analysisId} is no longer held.`);
    return store;
  }

  /** A full analysis (every map kept); long ones are refused with what they offer instead. */
  private full(analysisId: number): AttentionStore {
    const store = this.store(analysisId);
    if (store instanceof LongStore)
      throw new EngineError(
        'bad-input',
        `analysis ${analysisId} is a long one (${store.n} tokens): it keeps no full maps. Ask for its overview, exact rows or tiles ` +
          '(on the command line: --overview B, --row Q).',
      );
    return store;
  }

  private long(analysisId: number): LongStore {
    const store = this.store(analysisId);
    if (!(store instanceof LongStore))
      throw new EngineError(
        'bad-input',
        `analysis ${analysisId} keeps full maps; ask for slices (overviews and tiles are for long inputs).`,
      );
    return store;
  }

  async overview(params: {
    analysisId: number;
    layer: number;
    head: HeadSelector;
    block?: number;
  }): Promise<OverviewReply> {
    const store = this.long(params.analysisId);
    await this.ready(store, params.layer);
    const base = { analysisId: params.analysisId, layer: params.layer, head: params.head, n: store.n };
    if (params.block === undefined || params.block === store.block)
      return {
        ...base,
        block: store.block,
        size: store.size,
        buffer: ownBuffer(store.overview(params.layer, params.head)),
      };
    if (typeof params.head !== 'number')
      throw new EngineError('bad-input', 'an overview at another block size is for one head.');
    const { size, data } = await store.overviewAt(params.layer, params.head, params.block);
    return { ...base, block: params.block, size, buffer: ownBuffer(data) };
  }

  async received(params: { analysisId: number; layer: number; head: HeadSelector }): Promise<ReceivedReply> {
    const store = this.long(params.analysisId);
    await this.ready(store, params.layer);
    return headReply(params, store.n, store.received(params.layer, params.head));
  }

  async tile(params: {
    analysisId: number;
    layer: number;
    head: number;
    row: number;
    col: number;
    size: number;
  }): Promise<TileReply> {
    const store = this.long(params.analysisId);
    const { rows, cols, data } = await store.tile(params.layer, params.head, params.row, params.col, params.size);
    return {
      analysisId: params.analysisId,
      layer: params.layer,
      head: params.head,
      row: params.row,
      col: params.col,
      rows,
      cols,
      buffer: ownBuffer(data),
    };
  }

  async layerOperands(params: { analysisId: number; layer: number }): Promise<LayerOperandsReply> {
    const store = this.long(params.analysisId);
    const { analysisId, layer } = params;
    const kvHeads = this.summaries.get(analysisId)?.model.kvHeads[layer] ?? 0;
    const r = await store.operands(layer, kvHeads);
    const base = { analysisId, layer, heads: store.heads[layer], n: store.n };
    if ('unavailable' in r)
      return { ...base, dim: 0, keyHeads: 0, unavailable: r.unavailable, q: new ArrayBuffer(0), k: new ArrayBuffer(0) };
    return {
      ...base,
      dim: r.dim,
      keyHeads: r.keyHeads,
      recipe: r.recipe,
      checked: r.checked,
      q: ownBuffer(r.q),
      k: ownBuffer(r.k),
    };
  }

  private tokenizerFor(
    params: { model: string; allowRemote?: boolean; cacheDir?: string; remoteHost?: string },
    onProgress?: (p: DownloadProgress) => void,
  ) {
    const key = JSON.stringify([
      params.model,
      params.allowRemote ?? true,
      params.cacheDir ?? '',
      params.remoteHost ?? '',
    ]);
    let entry = this.tokenizers.get(key);
    if (!entry) {
      configureHub(params);
      entry = loadTextSide(params.model, onProgress).then((side) => ({
        ...side,
        counter: new TokenCounter(side.tokenizer, alignmentRules(side.tokenizer).metaspace === undefined),
      }));
      entry.catch(() => this.tokenizers.delete(key));
      this.tokenizers.set(key, entry);
    }
    return entry;
  }
}

/** A reply carrying one head's (or aggregate's) data for an analysis, as its own ArrayBuffer. */
function headReply(
  p: { analysisId: number; layer: number; head: HeadSelector },
  n: number,
  data: Float32Array,
): { analysisId: number; layer: number; head: HeadSelector; n: number; buffer: ArrayBuffer } {
  return { analysisId: p.analysisId, layer: p.layer, head: p.head, n, buffer: ownBuffer(data) };
}

/**
 * Bytes a long analysis keeps, before running it: per head the overview and received sums; per layer Q (N × head
 * size per head) and K (per key head: grouped-query models keep fewer) for exact rows; and one N × N mask (shared by
 * the layers in the exports measured).
 */
function longKeptEstimate(info: { heads: number[]; kvHeads: number[]; hiddenSize: number }, n: number): number {
  const size = Math.ceil(n / blockFor(n));
  let total = n * n * 4;
  info.heads.forEach((h, l) => {
    const headSize = info.hiddenSize / h;
    const kv = info.kvHeads[l] > 0 ? info.kvHeads[l] : h;
    total += h * (size * size + n) * 4 + (h + kv) * n * headSize * 4;
  });
  return total;
}

/** `at`, moved back to the start of a word when one is near (so a window does not begin mid-word) and never inside a surrogate pair. */
export function codePointStart(text: string, at: number): number {
  let i = Math.max(0, Math.floor(at));
  for (let k = 0; k < 64 && i > 0 && !/\s/.test(text[i - 1]); k++) i--;
  if (i > 0 && !/\s/.test(text[i - 1])) i = Math.max(0, Math.floor(at));
  const code = text.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff ? i + 1 : i;
}

/** A prefix of at most `units` UTF-16 units that does not split a surrogate pair. */
export function cutAtCodePoint(text: string, units: number): string {
  const code = text.charCodeAt(units - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? units - 1 : units);
}
